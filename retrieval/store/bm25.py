"""BM25 over jieba tokens as stored postings (term-major CSR per segment), with Lucene's idf.

rank-bm25's BM25Okapi floors the idf of any term found in half or more of the documents
(idf = log((N-n+0.5)/(n+0.5)) turns negative, then becomes eps * mean idf; its issues #39/#43).
On a small corpus that silences useful terms such as 工业 or 增长. We keep its scoring and
use Lucene's idf, log(1 + (N-n+0.5)/(n+0.5)), which is positive for every term. The reference
these postings are checked against (rank-bm25 with that idf) lives in tests/bm25_reference.py.

A segment's postings (``Postings``) hold only what does not change when other segments come
and go: term frequencies and chunk lengths. ``BM25`` scores over every live segment of a
generation with corpus-wide statistics (live chunks N, their average length, each term's
document frequency without deleted chunks), computing each posting's weight when a query reads
it, so scores equal those of one segment built from the live chunks alone.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

FORMAT_VERSION = 2  # 2: segments of raw term frequencies, weights computed when queried


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


POSTINGS_FILES = ("bm25_terms.npy", "bm25_indptr.npy", "bm25_cids.npy", "bm25_tf.npy", "bm25_chunks.npy",
                  "bm25_len.npy")
DF_FILE = "bm25_df.npy"  # a generation's document frequency per term id, deleted chunks left out
SLICE = 4_000_000  # postings handled at once where a whole segment is scanned


def _cat(xs: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(xs).astype(dtype, copy=False) if xs else np.zeros(0, dtype=dtype)


class Postings:
    """One segment's BM25 postings: for each term it holds (ascending ids in ``terms``), its chunks
    (ascending cid) with their term frequencies; and the segment's chunks (ascending) with their lengths.

    Term ids (``tid``) and chunk ids (``cid``) never change once given. Nothing here depends on
    the other segments: the weights are computed by ``BM25`` from corpus-wide statistics.
    ``scores``/``top`` score this segment alone (as the whole corpus).
    """

    def __init__(self, terms: np.ndarray, indptr: np.ndarray, cids: np.ndarray, tf: np.ndarray,
                 chunks: np.ndarray, lengths: np.ndarray, k1: float = 1.2, b: float = 0.75) -> None:
        self.terms, self.indptr, self.cids, self.tf = terms, indptr, cids, tf
        self.chunks, self.lengths = chunks, lengths
        self.k1, self.b = k1, b
        self._alone: BM25 | None = None

    @property
    def n_docs(self) -> int:
        return len(self.chunks)

    @property
    def n_terms(self) -> int:
        """One more than the largest term id with postings here."""
        return int(self.terms[-1]) + 1 if len(self.terms) else 0

    @property
    def max_cid(self) -> int:
        return int(self.chunks[-1]) if len(self.chunks) else -1

    @classmethod
    def empty(cls, k1: float, b: float) -> Postings:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, np.zeros(1, dtype=np.int64), z.astype(np.int32), z.astype(np.float32), z,
                   z.astype(np.float32), k1, b)

    @classmethod
    def build(cls, cids: np.ndarray, tids: np.ndarray, tf: np.ndarray, chunks: np.ndarray, lengths: np.ndarray,
              k1: float, b: float) -> Postings:
        """Postings of (cid, tid, tf) triples, each (cid, tid) once, and of the chunks' lengths."""
        cids, tids = np.asarray(cids, dtype=np.int64), np.asarray(tids, dtype=np.int64)
        if len(cids) and (cids.max() >= 2**31 or tids.max() >= 2**31 or min(cids.min(), tids.min()) < 0):
            raise ValueError("chunk and term ids must lie in [0, 2**31)")
        order = np.argsort((tids << 32) | cids)  # by term, then chunk (the keys are unique)
        tids, cids, tf = tids[order], cids[order].astype(np.int32), np.asarray(tf, dtype=np.float32)[order]
        del order
        starts = np.flatnonzero(np.diff(tids)) + 1 if len(tids) else np.zeros(0, np.int64)
        terms = tids[np.concatenate([[0], starts]).astype(np.int64)] if len(tids) else np.zeros(0, np.int64)
        indptr = np.concatenate([[0], starts, [len(tids)]]).astype(np.int64) if len(tids) else np.zeros(1, np.int64)
        by_cid = np.argsort(np.asarray(chunks, dtype=np.int64), kind="stable")
        chunks = np.asarray(chunks, dtype=np.int64)[by_cid]
        if len(chunks) and (np.diff(chunks) <= 0).any():
            raise ValueError("a chunk is listed twice")
        return cls(terms, indptr, cids, tf, chunks, np.asarray(lengths, dtype=np.float32)[by_cid], k1, b)

    @classmethod
    def merged(cls, parts: Sequence[Postings], dead: np.ndarray,
               new: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
               k1: float = 1.2, b: float = 0.75) -> Postings:
        """One segment of the parts' live postings (``dead`` chunks left out) and of ``new``
        (cids, tids, tf, chunks, lengths)."""
        top = max([p.max_cid for p in parts] + [-1])
        mask = np.zeros(top + 1, dtype=bool)
        d = np.asarray(dead, dtype=np.int64)
        mask[d[d <= top]] = True
        cids, tids, tf, chunks, lengths = [], [], [], [], []
        for p in parts:
            c, t = np.asarray(p.cids), np.repeat(np.asarray(p.terms, dtype=np.int64), np.diff(p.indptr))
            keep = ~mask[c]
            cids.append(c[keep])
            tids.append(t[keep])
            tf.append(np.asarray(p.tf)[keep])
            ch = np.asarray(p.chunks)
            live = ~mask[ch]
            chunks.append(ch[live])
            lengths.append(np.asarray(p.lengths)[live])
        if new is not None:
            for xs, x in zip((cids, tids, tf, chunks, lengths), new, strict=True):
                xs.append(np.asarray(x))
        return cls.build(_cat(cids, np.int64), _cat(tids, np.int64), _cat(tf, np.float32), _cat(chunks, np.int64),
                         _cat(lengths, np.float32), k1, b)

    def updated(self, dead_cids: np.ndarray, new_cids: np.ndarray, new_tids: np.ndarray, new_tf: np.ndarray,
                new_lengths: dict[int, int] | tuple[np.ndarray, np.ndarray], n_terms: int) -> Postings:
        """This segment without ``dead_cids``, with the (tid, cid, tf) triples added (term ids below ``n_terms``)."""
        lc, ll = new_lengths if isinstance(new_lengths, tuple) else (
            np.fromiter(new_lengths.keys(), np.int64), np.fromiter(new_lengths.values(), np.float32))
        if len(new_tids) and int(np.max(new_tids)) >= n_terms:
            raise ValueError(f"term id {int(np.max(new_tids))} is not below n_terms {n_terms}")
        return Postings.merged([self], dead_cids, (new_cids, new_tids, new_tf, lc, ll), self.k1, self.b)

    def slice(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """(cids, tf) of a term's postings here (empty when the term has none)."""
        i = int(np.searchsorted(self.terms, tid))
        if i >= len(self.terms) or int(self.terms[i]) != tid:
            return self.cids[:0], self.tf[:0]
        a, b = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.cids[a:b], self.tf[a:b]

    def df_into(self, out: np.ndarray) -> None:
        """Add this segment's postings per term (its document frequencies) into ``out``."""
        out[np.asarray(self.terms)] += np.diff(np.asarray(self.indptr))

    def df_of(self, mask: np.ndarray, out: np.ndarray) -> None:
        """Subtract from ``out`` the postings of the chunks ``mask`` (a boolean array over cids) selects.

        Scans the cids in slices: memory stays small whatever the segment's size.
        """
        if len(mask) <= self.max_cid:
            mask = np.concatenate([mask, np.zeros(self.max_cid + 1 - len(mask), dtype=bool)])
        if not mask[np.asarray(self.chunks)].any():
            return
        cids = self.cids
        for a in range(0, len(cids), SLICE):
            hit = np.flatnonzero(mask[np.asarray(cids[a : a + SLICE])])
            if hit.size:
                rows = np.searchsorted(self.indptr, a + hit, side="right") - 1
                np.subtract.at(out, np.asarray(self.terms)[rows], 1)

    # -- this segment alone, as a whole corpus
    def _scorer(self) -> BM25:
        if self._alone is None:
            self._alone = BM25([self], np.zeros(0, np.int64), self.k1, self.b)
        return self._alone

    def df(self, tid: int) -> int:
        return self._scorer().df(tid)

    def max_score(self, tids: list[int]) -> float:
        return self._scorer().max_score(tids)

    def scores(self, tids: list[int]) -> np.ndarray:
        return self._scorer().scores(tids)

    def top(self, tids: list[int], depth: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        return self._scorer().top(tids, depth, allowed)

    def save(self, folder: Path) -> None:
        arrays = (self.terms, self.indptr, self.cids, self.tf, self.chunks, self.lengths)
        for name, arr in zip(POSTINGS_FILES, arrays, strict=True):
            np.save(folder / name, arr, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, k1: float, b: float, mmap: bool = True) -> Postings:
        mode = "r" if mmap else None
        terms, indptr, cids, tf, chunks, lengths = (np.load(folder / name, mmap_mode=mode, allow_pickle=False)
                                                    for name in POSTINGS_FILES)
        if (indptr.ndim != 1 or len(indptr) != len(terms) + 1 or len(cids) != len(tf) or len(chunks) != len(lengths)
                or (len(indptr) and int(indptr[-1]) != len(cids))):
            raise ValueError("BM25 postings do not match their index")
        return cls(terms, indptr, cids, tf, chunks, lengths, k1, b)


class _Buffers:
    """One query's arrays: a score a chunk, and three float64 buffers for a term's postings."""

    def __init__(self, cells: int) -> None:
        self.scores = np.zeros(cells, dtype=np.float64)
        self._work: tuple[np.ndarray, ...] = ()

    def work(self, n: int) -> tuple[np.ndarray, ...]:
        if not self._work or len(self._work[0]) < n:
            self._work = tuple(np.empty(max(n, 1024), dtype=np.float64) for _ in range(3))
        return tuple(x[:n] for x in self._work)


class BM25:
    """BM25 over a generation's live segments, with corpus-wide statistics.

    ``deleted`` lists the chunks of those segments that are no longer live. N (live chunks) and
    the average length come from the segments' chunk lengths without the deleted ones; ``df``
    (a generation stores it) is each term's live document frequency, counted from the postings
    when not given. A posting's weight is computed when a query reads it, in float64.
    """

    def __init__(self, segments: Sequence[Postings], deleted: np.ndarray, k1: float, b: float,
                 df: np.ndarray | None = None) -> None:
        self.segments = list(segments)
        self.k1, self.b = k1, b
        self.max_cid = max([s.max_cid for s in self.segments] + [-1])
        lengths = np.full(self.max_cid + 1, -1.0, dtype=np.float64)
        for s in self.segments:
            lengths[np.asarray(s.chunks)] = np.asarray(s.lengths)
        deleted = np.asarray(deleted, dtype=np.int64)
        deleted = deleted[deleted <= self.max_cid]
        self.dead = np.zeros(self.max_cid + 1, dtype=bool)
        self.dead[deleted] = True
        self.deleted = np.unique(deleted)
        lengths[deleted] = -1.0
        self.live = lengths >= 0
        self.n_docs = int(np.count_nonzero(self.live))
        # lengths are token counts: their float64 sum is exact, so the average does not depend on the segmentation
        self.avgdl = float(lengths[self.live].sum()) / self.n_docs if self.n_docs else 1.0
        self.norm = k1 * (1 - b + b * lengths / self.avgdl)  # per chunk: the length part of the denominator
        self.df_ = self.count_df(self.segments, self.dead) if df is None else np.asarray(df)
        self._pool: list[_Buffers] = []
        self._pool_lock = threading.Lock()

    @staticmethod
    def count_df(segments: Sequence[Postings], dead: np.ndarray, n_terms: int | None = None) -> np.ndarray:
        """Live document frequency per term id: every segment's postings minus the dead chunks'."""
        n = max([s.n_terms for s in segments] + [n_terms or 0])
        out = np.zeros(n, dtype=np.int64)
        for s in segments:
            s.df_into(out)
            if dead.any():
                s.df_of(dead, out)
        return out

    @property
    def n_terms(self) -> int:
        return len(self.df_)

    @contextlib.contextmanager
    def _buffers(self) -> Iterator[_Buffers]:
        """Score and work arrays lent to one query at a time and kept for the next.

        A fresh array of a million cells per query is new memory each time: the page faults on it
        made the same work take a fifth longer on one store than on another, and each step of a
        term's weights made another array as long as its postings. A pool, not a set per thread:
        a server's thread pool has dozens of threads, of which only the admitted few search at once.
        """
        with self._pool_lock:
            buf = self._pool.pop() if self._pool else _Buffers(self.max_cid + 1)
        try:
            yield buf
        finally:
            with self._pool_lock:
                self._pool.append(buf)

    def df(self, tid: int) -> int:
        return int(self.df_[tid]) if 0 <= tid < self.n_terms else 0

    def max_score(self, tids: list[int]) -> float:
        """Upper bound of any chunk's score: every known query term at saturating frequency."""
        df = np.array([d for d in (self.df(t) for t in tids) if d > 0], dtype=np.float64)  # known in this generation
        return float(lucene_idf(self.n_docs, df).sum() * (self.k1 + 1)) if self.n_docs else 0.0

    def scores(self, tids: list[int], out: np.ndarray | None = None, buf: _Buffers | None = None) -> np.ndarray:
        """Dense score array indexed by cid (a repeated term counts again, as in rank-bm25); into
        ``out`` (zeros, one cell a chunk) when given."""
        if buf is None:
            with self._buffers() as lent:
                return self.scores(tids, out, lent)
        out = np.zeros(self.max_cid + 1, dtype=np.float64) if out is None else out
        k1 = self.k1
        for t in tids:
            df = self.df(t)
            if df <= 0:
                continue
            idf = float(lucene_idf(self.n_docs, np.float64(df)))
            for s in self.segments:
                c, tf = s.slice(t)
                if not len(c):
                    continue
                # out[c] += idf * tf * (k1 + 1) / (tf + norm[c]), the same floats, in the lent
                # buffers: a million postings made a new array for every step of that expression
                c, n = np.asarray(c), len(c)
                t64, w, d = buf.work(n)
                np.copyto(t64, tf)
                np.multiply(t64, idf, out=w)
                w *= k1 + 1
                np.take(self.norm, c, out=d)
                d += t64
                w /= d
                np.take(out, c, out=d)
                d += w
                out[c] = d  # a term lists each chunk once
        # a deleted chunk's postings only ever add to its own cell: clearing the cells once is cheaper
        # than filtering every term's postings (and the live chunks' scores are the same floats)
        out[self.deleted] = 0.0
        return out

    def top(self, tids: list[int], depth: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(cid, score > 0) best first; ``allowed`` is a boolean mask over cids (a pushed-down filter)."""
        with self._buffers() as buf:
            s = buf.scores
            s.fill(0.0)
            self.scores(tids, s, buf)
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


def saturation(tf: np.ndarray, dl: np.ndarray | float, avgdl: float, k1: float, b: float) -> np.ndarray:
    """BM25's per-(term, chunk) factor without idf: ``tf (k1+1) / (tf + k1 (1 - b + b dl/avgdl))``.

    A score is ``sum over query terms of idf(t) * saturation(t, chunk)``: a backend can store this
    factor per chunk (it depends on the chunk and on avgdl only) and put the idf, which changes
    with every add or delete, into the query vector; the inner product is then exact BM25.
    """
    tf = np.asarray(tf, dtype=np.float64)
    return tf * (k1 + 1) / (tf + k1 * (1 - b + b * np.asarray(dl, dtype=np.float64) / avgdl))
