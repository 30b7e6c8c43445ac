"""BM25 over jieba tokens as stored postings (term-major CSR), with Lucene's idf.

rank-bm25's BM25Okapi floors the idf of any term found in half or more of the documents
(idf = log((N-n+0.5)/(n+0.5)) turns negative, then becomes eps * mean idf; its issues #39/#43).
On a small corpus that silences useful terms such as 工业 or 增长. We keep its scoring and
use Lucene's idf, log(1 + (N-n+0.5)/(n+0.5)), which is positive for every term. The reference
these postings are checked against (rank-bm25 with that idf) lives in tests/bm25_reference.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1


def lucene_idf(n_docs: int, df: np.ndarray) -> np.ndarray:
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def new_term_ids(terms: Iterable[str], ids: dict[str, int], next_tid: int) -> list[tuple[int, str]]:
    """Give each term ``ids`` lacks the next free term id, in order, adding it to ``ids``; the new
    (tid, term) pairs, for the store to write (ids are never reused: the next free one is then
    ``next_tid + len(new)``)."""
    new: list[tuple[int, str]] = []
    for t in terms:
        if t not in ids:
            ids[t] = next_tid + len(new)
            new.append((ids[t], t))
    return new


POSTINGS_FILES = ("bm25_indptr.npy", "bm25_cids.npy", "bm25_tf.npy", "bm25_w.npy", "bm25_len.npy")


class Postings:
    """BM25 postings of one index generation: term-major CSR over stable term and chunk ids.

    Term ids (``tid``) and chunk ids (``cid``) never change once given, so a generation is the
    previous one minus deleted chunks plus new ones, with the weights recomputed from the
    exact statistics of the live chunks (N, average length, df): scores equal a full build's.
    Weights are stored, so opening memory-maps five arrays and computes nothing.
    """

    def __init__(self, indptr: np.ndarray, cids: np.ndarray, tf: np.ndarray, w: np.ndarray,
                 lengths: np.ndarray, k1: float, b: float) -> None:
        self.indptr, self.cids, self.tf, self.w, self.lengths = indptr, cids, tf, w, lengths
        self.k1, self.b = k1, b
        self.n_docs = int(np.count_nonzero(lengths >= 0)) if len(lengths) else 0  # dead slots hold -1

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def empty(cls, k1: float, b: float) -> Postings:
        z = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(1, dtype=np.int64), z.astype(np.int32), z.astype(np.float32), z.astype(np.float32),
                   z.astype(np.float32), k1, b)

    def updated(self, dead_cids: np.ndarray, new_cids: np.ndarray, new_tids: np.ndarray, new_tf: np.ndarray,
                new_lengths: dict[int, int] | tuple[np.ndarray, np.ndarray], n_terms: int) -> Postings:
        """A new generation: drop ``dead_cids``, add (tid, cid, tf) triples; new cids exceed every old one."""
        rows = np.repeat(np.arange(self.n_terms, dtype=np.int64), np.diff(self.indptr))
        cids, tf = np.asarray(self.cids), np.asarray(self.tf)
        lengths = np.array(self.lengths, dtype=np.float32)
        if len(dead_cids):
            dead = np.zeros(max(len(lengths), int(dead_cids.max()) + 1), dtype=bool)
            dead[dead_cids] = True
            keep = ~dead[cids]
            rows, cids, tf = rows[keep], cids[keep], tf[keep]
            lengths[dead_cids[dead_cids < len(lengths)]] = -1.0
        lc, ll = new_lengths if isinstance(new_lengths, tuple) else (
            np.fromiter(new_lengths.keys(), np.int64), np.fromiter(new_lengths.values(), np.float32))
        top = max([len(lengths) - 1, int(lc.max()) if len(lc) else -1, int(new_cids.max()) if len(new_cids) else -1])
        if top + 1 > len(lengths):
            lengths = np.concatenate([lengths, np.full(top + 1 - len(lengths), -1.0, dtype=np.float32)])
        lengths[lc] = ll
        rows = np.concatenate([rows, new_tids.astype(np.int64)])
        cids = np.concatenate([cids, new_cids.astype(np.int32)])
        tf = np.concatenate([tf, new_tf.astype(np.float32)])
        order = np.argsort(rows, kind="stable")  # new cids are larger, so each term stays sorted by cid
        rows, cids, tf = rows[order], cids[order], tf[order]
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_terms), out=indptr[1:])
        out = Postings(indptr, cids, tf, np.zeros(0), lengths, self.k1, self.b)
        out.w = out._weights(rows)
        return out

    def _weights(self, rows: np.ndarray) -> np.ndarray:
        if not len(self.cids):
            return np.zeros(0, dtype=np.float32)
        live = self.lengths[self.lengths >= 0]
        avgdl = float(live.mean()) if len(live) else 1.0
        df = np.diff(self.indptr).astype(np.float64)
        idf = lucene_idf(self.n_docs, df)
        # computed in float64, stored as float32: a query reads (cid, weight) pairs of every posting of its
        # terms, and at a million paragraphs float64 weights were 460 MB of the searching process's memory;
        # in slices, so the float64 temporaries stay small whatever the corpus size
        out = np.empty(len(self.cids), dtype=np.float32)
        for a in range(0, len(out), 4_000_000):
            b = a + 4_000_000
            tf = self.tf[a:b].astype(np.float64)
            dl = self.lengths[self.cids[a:b]].astype(np.float64)
            out[a:b] = idf[rows[a:b]] * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * dl / avgdl))
        return out

    def df(self, tid: int) -> int:
        return int(self.indptr[tid + 1] - self.indptr[tid]) if 0 <= tid < self.n_terms else 0

    def max_score(self, tids: list[int]) -> float:
        """Upper bound of any chunk's score: every known query term at saturating frequency."""
        df = np.array([d for d in (self.df(t) for t in tids) if d > 0], dtype=np.float64)  # known in this generation
        return float(lucene_idf(self.n_docs, df).sum() * (self.k1 + 1)) if self.n_docs else 0.0

    def scores(self, tids: list[int]) -> np.ndarray:
        """Dense score array indexed by cid (a repeated term counts again, as in rank-bm25)."""
        out = np.zeros(len(self.lengths), dtype=np.float64)
        for t in tids:
            if 0 <= t < self.n_terms:
                a, b = int(self.indptr[t]), int(self.indptr[t + 1])
                out[self.cids[a:b]] += self.w[a:b]  # a term lists each chunk once
        return out

    def top(self, tids: list[int], depth: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(cid, score > 0) best first; ``allowed`` is a boolean mask over cids (a pushed-down filter)."""
        s = self.scores(tids)
        if allowed is not None:
            s[: len(allowed)] *= allowed[: len(s)]
            s[len(allowed):] = 0.0
        nz = np.flatnonzero(s > 0)
        if nz.size == 0:
            return []
        if nz.size > depth:
            part = np.argpartition(-s[nz], depth - 1)[:depth]
            nz = nz[part]
        order = nz[np.lexsort((nz, -s[nz]))][:depth]
        return [(int(i), float(s[i])) for i in order]

    def save(self, folder: Path) -> None:
        for name, arr in zip(POSTINGS_FILES, (self.indptr, self.cids, self.tf, self.w, self.lengths), strict=True):
            np.save(folder / name, arr, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, k1: float, b: float, mmap: bool = True) -> Postings:
        mode = "r" if mmap else None
        arrs = [np.load(folder / name, mmap_mode=mode, allow_pickle=False) for name in POSTINGS_FILES]
        return cls(*arrs, k1=k1, b=b)


def saturation(tf: np.ndarray, dl: np.ndarray | float, avgdl: float, k1: float, b: float) -> np.ndarray:
    """BM25's per-(term, chunk) factor without idf: ``tf (k1+1) / (tf + k1 (1 - b + b dl/avgdl))``.

    A score is ``sum over query terms of idf(t) * saturation(t, chunk)``: a backend can store this
    factor per chunk (it depends on the chunk and on avgdl only) and put the idf, which changes
    with every add or delete, into the query vector; the inner product is then exact BM25.
    """
    tf = np.asarray(tf, dtype=np.float64)
    return tf * (k1 + 1) / (tf + k1 * (1 - b + b * np.asarray(dl, dtype=np.float64) / avgdl))
