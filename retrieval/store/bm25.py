"""BM25 over jieba tokens: rank-bm25 as the reference, a sparse-matrix fast path for search.

rank-bm25's BM25Okapi floors the idf of any term found in half or more of the documents
(idf = log((N-n+0.5)/(n+0.5)) turns negative, then becomes eps * mean idf; its issues #39/#43).
On a small corpus that silences useful terms such as 工业 or 增长. We keep its scoring and
use Lucene's idf, log(1 + (N-n+0.5)/(n+0.5)), which is positive for every term.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi
from scipy import sparse

FORMAT_VERSION = 1


class LuceneIdfBM25(BM25Okapi):
    """rank-bm25's BM25Okapi with Lucene's non-negative idf (the reference implementation)."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {w: math.log(1.0 + (self.corpus_size - n + 0.5) / (n + 0.5)) for w, n in nd.items()}


def lucene_idf(n_docs: int, df: np.ndarray) -> np.ndarray:
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


class BM25Index:
    """Term-by-document weight matrix: a query's scores are the sum of its terms' rows."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float64)
        for j, doc in enumerate(docs):
            lengths[j] = len(doc)
            for term, tf in Counter(doc).items():
                rows.append(self.vocab.setdefault(term, len(self.vocab)))
                cols.append(j)
                vals.append(tf)
        self.n_docs = len(docs)
        self.lengths = lengths
        self.tf = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float64), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
            shape=(len(self.vocab), self.n_docs),
        )
        self._weights = self._compute_weights()

    def _compute_weights(self) -> sparse.csr_matrix:
        if self.n_docs == 0:
            return self.tf
        avgdl = self.lengths.mean() if self.lengths.sum() else 1.0
        tf = self.tf.tocoo()
        df = np.diff(self.tf.indptr)
        idf = lucene_idf(self.n_docs, df.astype(np.float64))
        denom = tf.data + self.k1 * (1 - self.b + self.b * self.lengths[tf.col] / avgdl)
        w = idf[tf.row] * tf.data * (self.k1 + 1) / denom
        return sparse.csr_matrix((w, (tf.row, tf.col)), shape=self.tf.shape)

    def df(self, term: str) -> int:
        """Number of documents containing a term."""
        i = self.vocab.get(term)
        return 0 if i is None else int(self.tf.indptr[i + 1] - self.tf.indptr[i])

    def max_score(self, query_tokens: list[str]) -> float:
        """Upper bound of any document's score: every known query term at saturating frequency."""
        df = np.array([self.df(t) for t in query_tokens if t in self.vocab], dtype=np.float64)
        return float(lucene_idf(self.n_docs, df).sum() * (self.k1 + 1)) if self.n_docs else 0.0

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """Scores of every document; a repeated query term counts again, as in rank-bm25."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        for t in query_tokens:
            i = self.vocab.get(t)
            if i is not None:
                a, b = self._weights.indptr[i], self._weights.indptr[i + 1]
                out[self._weights.indices[a:b]] += self._weights.data[a:b]
        return out

    def top(self, query_tokens: list[str], depth: int) -> list[tuple[int, float]]:
        """(document row, score) pairs with a positive score, best first."""
        s = self.scores(query_tokens)
        nz = np.flatnonzero(s > 0)
        if nz.size == 0:
            return []
        order = nz[np.lexsort((nz, -s[nz]))][:depth]
        return [(int(i), float(s[i])) for i in order]

    # -- persistence: plain .npy + JSON, no pickle
    def save(self, folder: Path) -> None:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        meta = {"format": FORMAT_VERSION, "k1": self.k1, "b": self.b, "n_docs": self.n_docs, "terms": terms}
        (folder / "bm25.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.save(folder / "bm25_tf_indptr.npy", self.tf.indptr, allow_pickle=False)
        np.save(folder / "bm25_tf_indices.npy", self.tf.indices, allow_pickle=False)
        np.save(folder / "bm25_tf_data.npy", self.tf.data, allow_pickle=False)
        np.save(folder / "bm25_lengths.npy", self.lengths, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        meta = json.loads((folder / "bm25.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"BM25 format {meta.get('format')} != {FORMAT_VERSION}")
        self = cls.__new__(cls)
        self.k1, self.b, self.n_docs = meta["k1"], meta["b"], meta["n_docs"]
        self.vocab = {t: i for i, t in enumerate(meta["terms"])}
        self.lengths = np.load(folder / "bm25_lengths.npy", allow_pickle=False)
        self.tf = sparse.csr_matrix(
            (
                np.load(folder / "bm25_tf_data.npy", allow_pickle=False),
                np.load(folder / "bm25_tf_indices.npy", allow_pickle=False),
                np.load(folder / "bm25_tf_indptr.npy", allow_pickle=False),
            ),
            shape=(len(self.vocab), self.n_docs),
        )
        self._weights = self._compute_weights()
        return self
