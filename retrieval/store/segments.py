"""Segments of the local store (Lucene's idea of segments and merge policies, not its code).

A segment is the dense index and BM25 postings of a set of chunks, written once by the
generation that made it (in that generation's folder) and shared by later generations until a
merge folds it into a new one. A generation's manifest lists its live segments; its folder
holds its own segment (when it wrote one), ``deleted.npy`` (the chunks of those segments that
are no longer live, ascending) and ``bm25_df.npy`` (each term's live document frequency).

Files of a segment: ``bm25_*.npy`` (``Postings``: term frequencies, the chunks and their
lengths), ``dense.faiss`` (with ``dense_ids.npy`` and ``dense_exact.npy`` for an IVF-SQ8 index)
and ``dense_n.npy`` (vectors per chunk, aligned with ``bm25_chunks.npy``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.settings import Settings
from retrieval.store.bm25 import Postings
from retrieval.store.dense import PARTS, Vectors

log = logging.getLogger(__name__)

DELETED = "deleted.npy"
NVEC = "dense_n.npy"
DENSE = "dense.faiss"


@dataclass(frozen=True)
class MergePolicy:
    """Size-tiered merging: which live segments a generation folds into the segment it writes.

    A segment's size is its live chunks; tier 0 holds segments under ``floor * factor`` of them,
    tier k those from ``floor * factor**k`` up to ``floor * factor**(k+1)``. When a tier holds
    ``factor`` segments (the one being written counted in its own tier), all of them are folded.
    A segment more than ``max_deleted`` deleted is folded too, so deleted chunks do not pile up.
    ``factor`` below 2 turns size merging off (deletions still count).
    """

    factor: int = Settings.segment_merge_factor
    floor: int = Settings.segment_floor_chunks
    max_deleted: float = Settings.segment_max_deleted

    @classmethod
    def of(cls, settings: Settings) -> MergePolicy:
        return cls(settings.segment_merge_factor, settings.segment_floor_chunks, settings.segment_max_deleted)

    def tier(self, live: int) -> int:
        if self.factor < 2:
            return 0
        t, ceiling = 0, max(1, self.floor) * self.factor
        while live >= ceiling:
            t += 1
            ceiling *= self.factor
        return t

    def plan(self, segments: list[tuple[int, int]], new_chunks: int, optimize: bool = False) -> list[int]:
        """Indices of the segments, given as (chunks, deleted chunks), to fold with ``new_chunks`` new ones."""
        if optimize:
            return list(range(len(segments)))
        fold = {i for i, (n, d) in enumerate(segments) if d >= n or d > self.max_deleted * n}
        if self.factor >= 2:
            tiers: dict[int, list[int]] = {}
            for i, (n, d) in enumerate(segments):
                if i not in fold:
                    tiers.setdefault(self.tier(n - d), []).append(i)
            new_tier = self.tier(new_chunks) if new_chunks else None
            for t, members in tiers.items():
                if len(members) + (t == new_tier) >= self.factor:
                    fold.update(members)
        return sorted(fold)


class Segment:
    """One live segment as a writer or reader opens it: its postings and vector counts memory-mapped,
    its dense index loaded on demand."""

    def __init__(self, folder: Path, meta: dict, k1: float, b: float, nprobe: int = Settings.nprobe) -> None:
        self.folder, self.meta, self.nprobe = folder, meta, nprobe
        self.gen = int(meta["gen"])
        self.postings = Postings.load(folder, k1, b)
        self.nvec = np.load(folder / NVEC, mmap_mode="r", allow_pickle=False)
        if len(self.nvec) != len(self.postings.chunks):
            raise ValueError(f"{folder.name}: vector counts do not match the chunks")
        self._vectors: Vectors | None = None

    @property
    def chunks(self) -> np.ndarray:
        return self.postings.chunks

    @property
    def vectors(self) -> Vectors:
        if self._vectors is None:
            self._vectors = Vectors.load(self.folder / DENSE, nprobe=self.nprobe)
            if self._vectors.size != int(self.meta.get("vectors", self._vectors.size)):
                raise ValueError(f"{self.folder.name}: the dense index holds {self._vectors.size} vectors, "
                                 f"the manifest {self.meta.get('vectors')}")
        return self._vectors

    def dead(self, deleted: np.ndarray) -> tuple[np.ndarray, int]:
        """(this segment's chunks among ``deleted``, how many vectors they have)."""
        ch = np.asarray(self.chunks)
        if not len(ch) or not len(deleted):
            return np.zeros(0, np.int64), 0
        at = np.searchsorted(ch, deleted)
        hit = (at < len(ch)) & (ch[np.minimum(at, len(ch) - 1)] == deleted)
        return np.asarray(deleted)[hit], int(np.asarray(self.nvec)[at[hit]].astype(np.int64).sum())


def trained_key(meta: dict) -> int | None:
    """Which generation trained an IVF segment's lists (segments with the same key share them)."""
    if meta.get("kind", "flat") == "flat":
        return None
    return int(meta.get("trained", meta["gen"]))


def largest_ivf(segments: list[Segment]) -> Segment | None:
    ivf = [s for s in segments if s.meta.get("kind", "flat") != "flat"]
    return max(ivf, key=lambda s: int(s.meta.get("vectors", 0))) if ivf else None


def merged_vectors(folded: list[Segment], deleted: np.ndarray, ids: np.ndarray, vecs: np.ndarray, dim: int,
                   max_cid: int, ann_min_vectors: int, storage: str, nprobe: int,
                   kept: list[Segment] = ()) -> tuple[Vectors, int | None]:
    """The dense index of a new segment, and the generation whose trained lists it uses (None: exact).

    The largest folded IVF index is the base (its trained lists kept, its dead vectors removed,
    the rest added, as an incremental build did before segments). Without one, the largest kept
    IVF segment lends its trained lists (`Vectors.empty_like`: the new segment is searched with
    it, the lists chosen once); otherwise the vectors are indexed afresh, exact or IVF by their
    number (``ann_min_vectors``).
    """
    base = largest_ivf(folded)
    lender = largest_ivf(list(kept)) if base is None else None
    all_ids, all_vecs = [], []
    for s in folded:
        if s is base:
            continue
        i, x = s.vectors.all_vectors()
        keep = ~np.isin(i // PARTS, deleted) if len(deleted) else np.ones(len(i), bool)
        all_ids.append(np.asarray(i)[keep])
        all_vecs.append(np.asarray(x, dtype=np.float32)[keep])
    all_ids.append(np.asarray(ids, dtype=np.int64))
    all_vecs.append(np.asarray(vecs, dtype=np.float32).reshape(-1, dim))
    ids, vecs = np.concatenate(all_ids), np.concatenate(all_vecs)
    del all_ids, all_vecs
    if base is not None:
        log.info("merging %d segments into the IVF index of generation %d", len(folded), base.gen)
        index = Vectors.load(base.folder / DENSE, nprobe, mmap=False)
        return (index.updated(base.dead(deleted)[0], max_cid, ids, vecs, ann_min_vectors, storage=storage,
                              copy=False), trained_key(base.meta))
    if lender is not None and len(ids):
        log.info("a segment with the trained lists of generation %d", trained_key(lender.meta))
        return lender.vectors.empty_like().added(ids, vecs), trained_key(lender.meta)
    out = Vectors.empty(dim).updated(np.zeros(0, np.int64), max_cid, ids, vecs, ann_min_vectors, storage=storage)
    return out, None


@dataclass
class Searchable:
    """What a reader searches: the live segments, the small ones folded into one in memory.

    Every small segment costs a query a few fixed steps per term and per dense search (memory
    maps of their own, a FAISS call); folded when the store opens (tens of milliseconds), ten
    unmerged segments search about as fast as the merged index (`scripts/bench_scale.py update`).
    BM25 of the folded postings is the same floats (a chunk's score adds its own postings only);
    the dense side folds IVF segments that share trained lists (their codes copied, their float16
    copies read from their own files), as a merge into one segment would have coded them.
    """

    postings: list[Postings]
    vectors: list[Vectors]
    chunks: list[np.ndarray]
    nvec: list[np.ndarray]
    keys: list[int | None]

    @classmethod
    def of(cls, segments: list[Segment], deleted: np.ndarray, small_chunks: int, k1: float, b: float) -> Searchable:
        """``segments`` of at most ``small_chunks`` chunks are small (two or more are folded)."""
        small = [s for s in segments if len(s.chunks) <= small_chunks]
        if len(small) < 2:
            small = []
        postings = [s.postings for s in segments if s not in small]
        if small:
            postings.append(Postings.merged([s.postings for s in small], deleted, None, k1, b))
        groups: dict[int, list[Segment]] = {}
        for s in small:
            key = trained_key(s.meta)
            if key is not None:
                groups.setdefault(key, []).append(s)
        fold = {id(s) for members in groups.values() if len(members) > 1 for s in members}
        kept = [s for s in segments if id(s) not in fold]
        out = cls(postings, [s.vectors for s in kept], [np.asarray(s.chunks) for s in kept],
                  [np.asarray(s.nvec) for s in kept], [trained_key(s.meta) for s in kept])
        for key, members in groups.items():
            if len(members) < 2:
                continue
            members = sorted(members, key=lambda s: int(s.chunks[0]) if len(s.chunks) else -1)
            firsts = [int(s.chunks[0]) for s in members if len(s.chunks)]
            lasts = [int(s.chunks[-1]) for s in members if len(s.chunks)]
            if any(a <= z for z, a in zip(lasts, firsts[1:], strict=False)):  # interleaving ids: left apart
                for s in members:
                    out.add(s.vectors, np.asarray(s.chunks), np.asarray(s.nvec), key)
                continue
            out.add(Vectors.folded([s.vectors for s in members]), np.concatenate([s.chunks for s in members]),
                    np.concatenate([s.nvec for s in members]), key)
        return out

    def add(self, vectors: Vectors, chunks: np.ndarray, nvec: np.ndarray, key: int | None) -> None:
        self.vectors.append(vectors)
        self.chunks.append(chunks)
        self.nvec.append(nvec)
        self.keys.append(key)
