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


@pytest.fixture(scope="session")
def fake_built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The seed corpus indexed with the fake encoder, once per test session (its settings)."""
    from retrieval.index import build_index

    base = tmp_path_factory.mktemp("fake")
    shutil.copytree(SEEDS, base / "corpus")
    settings = Settings(corpus=base / "corpus", index=base / "index")
    build_index(settings, encoder=FakeEncoder(), progress=False)
    return settings


@pytest.fixture(scope="session")
def fake_index(fake_built: Settings):
    """The fake-encoder seed index, shared by every test that only reads it (never change it)."""
    from retrieval.index import open_index

    return open_index(fake_built.index, fake_built, encoder=FakeEncoder())


@pytest.fixture
def fake_copy(fake_built: Settings, tmp_path: Path) -> Settings:
    """Settings of a private copy of the fake-encoder index and its corpus (not opened)."""
    shutil.copytree(fake_built.corpus, tmp_path / "corpus")
    shutil.copytree(fake_built.index, tmp_path / "index")
    return fake_built.with_(corpus=tmp_path / "corpus", index=tmp_path / "index")


@pytest.fixture
def fake_index_copy(fake_copy: Settings):
    """A private copy of the fake-encoder index and its corpus, opened, for a test that changes them."""
    from retrieval.index import open_index

    return open_index(fake_copy.index, fake_copy, encoder=FakeEncoder())


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


# A test that takes one of these fixtures needs what it names: marked so, whatever its file says,
# so `./run tests fast` (-m "not model and not browser and not server and not slow") never starts one.
NEEDS = {"real_index": "model", "lite": "server", "pair": "server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, mark in NEEDS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(mark)
