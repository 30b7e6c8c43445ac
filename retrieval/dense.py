"""Dense leg: FAISS inner-product search over L2-normalized vectors (cosine)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class DenseIndex:
    """A FAISS IndexFlatIP; row i is chunk i of the index."""

    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        self.index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def top(self, query_vec: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """(row, cosine) pairs, best first."""
        if self.size == 0:
            return []
        scores, rows = self.index.search(query_vec.reshape(1, -1).astype(np.float32), min(depth, self.size))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        self = cls.__new__(cls)
        self.index = faiss.read_index(str(path))
        return self
