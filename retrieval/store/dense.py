"""Dense leg: FAISS inner-product search over L2-normalized vectors (cosine).

Each chunk has one vector for the whole paragraph and, optionally, one per sentence
(``Settings.sentence_vectors``); a chunk's dense score is the best of its vectors, so a
question that paraphrases one sentence of a long paragraph still finds it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class DenseIndex:
    """A FAISS IndexFlatIP plus ``owner``: the chunk row each vector belongs to."""

    def __init__(self, vectors: np.ndarray, owner: np.ndarray | None = None) -> None:
        import faiss

        self.index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.owner = np.arange(len(vectors), dtype=np.int64) if owner is None else np.asarray(owner, dtype=np.int64)
        if len(self.owner) != len(vectors):
            raise ValueError("one owner per vector")

    @property
    def size(self) -> int:
        """Number of vectors."""
        return int(self.index.ntotal)

    @property
    def n_chunks(self) -> int:
        return int(self.owner.max()) + 1 if len(self.owner) else 0

    def top(self, query_vec: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """(chunk row, best cosine over its vectors), best first."""
        if self.size == 0:
            return []
        per_chunk = max(1, self.size // max(1, self.n_chunks))
        want = min(self.size, depth * (per_chunk + 2))
        scores, rows = self.index.search(query_vec.reshape(1, -1).astype(np.float32), want)
        best: dict[int, float] = {}
        for r, s in zip(rows[0], scores[0], strict=True):
            if r < 0:
                continue
            c = int(self.owner[r])
            if c not in best:  # results come best first
                best[c] = float(s)
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:depth]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))
        np.save(path.with_suffix(".owner.npy"), self.owner, allow_pickle=False)

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        self = cls.__new__(cls)
        self.index = faiss.read_index(str(path))
        owner_path = path.with_suffix(".owner.npy")
        self.owner = (np.load(owner_path, allow_pickle=False) if owner_path.exists()
                      else np.arange(self.index.ntotal, dtype=np.int64))
        return self
