"""Shared fixtures: the seed corpus, a fake encoder for fast tests, a real index for the rest."""

from __future__ import annotations

import hashlib
import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus"


class FakeEncoder:
    """Character-bigram hashing vectors: deterministic, no model, enough to rank overlap."""

    name = "fake-bigram"

    def __init__(self, dim: int = 64) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for a, b in itertools.pairwise(text):
            h = int(hashlib.md5((a + b).encode()).hexdigest()[:8], 16)
            v[h % self._dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.encode_queries(texts)

    def describe(self) -> dict:
        return {"name": self.name, "dim": self._dim}


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.fixture
def fake_index(seed_corpus: Path, tmp_path: Path, fake_encoder: FakeEncoder):
    from retrieval.index import build_index, open_index

    settings = Settings(corpus=seed_corpus, index=tmp_path / "index")
    build_index(settings, encoder=fake_encoder, progress=False)
    return open_index(settings.index, settings, encoder=fake_encoder)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory):
    """The seed corpus indexed with the real bundled model (built once per test session)."""
    from retrieval.index import build_index, open_index

    base = tmp_path_factory.mktemp("real")
    corpus = base / "corpus"
    shutil.copytree(SEEDS, corpus)
    settings = Settings(corpus=corpus, index=base / "index")
    build_index(settings, progress=False)
    return open_index(settings.index, settings)
