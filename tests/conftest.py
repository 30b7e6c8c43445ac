"""Shared fixtures: the seed corpus, a fake encoder for fast tests, a real index for the rest."""

from __future__ import annotations

import hashlib
import itertools
import os
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

    def encode_phrases(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

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
    """The seed corpus indexed with the real bundled model, built once per test run.

    Under pytest-xdist the workers share one build (the first to take the lock builds it in the
    run's common temp folder; the others wait, then open it): every test only reads it.
    """
    import fcntl

    from retrieval.index import build_index, open_index

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the folder all workers of this run share
    shared = base / "real-seed"
    with open(base / "real-seed.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built").exists():
            shutil.rmtree(shared, ignore_errors=True)
            shutil.copytree(SEEDS, shared / "corpus")
            build_index(Settings(corpus=shared / "corpus", index=shared / "index"), progress=False)
            (shared / "built").touch()
    settings = Settings(corpus=shared / "corpus", index=shared / "index")
    return open_index(settings.index, settings)


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    """Seed sentences plus People's Daily 1998 sentences: at least 500, all Chinese."""
    from eval.datasets import peoples_daily_lines
    from retrieval.text.normalize import split_sentences

    out: list[str] = []
    for p in sorted((SEEDS).glob("*.txt")):
        for line in p.read_text(encoding="utf-8").splitlines():
            out += [line[a:b] for a, b in split_sentences(line.strip())][:3]
    for line in peoples_daily_lines()[:2000:5]:
        out += [line[a:b] for a, b in split_sentences(line)][:1]
    out = [s for s in out if 4 <= len(s) <= 300]
    assert len(out) >= 500
    return out


@pytest.fixture(scope="module")
def st_model():
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(_bundled_model()), device="cpu", local_files_only=True)


def _bundled_model():
    from retrieval.embedding import model

    return model.ensure_installed()


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory):
    """A milvus-lite server on 127.0.0.1 for the tests of one module."""
    import importlib.util

    if importlib.util.find_spec("pymilvus") is None or importlib.util.find_spec("milvus_lite") is None:
        pytest.skip("the milvus extra is not installed (pip install -e '.[milvus]'; ./run setup does)")
    from retrieval.store.milvus_lite import LiteServer

    with LiteServer(tmp_path_factory.mktemp("milvus") / "seed.db") as srv:
        yield srv


@pytest.fixture
def run_cli(capsys):
    """`policyqa ARGS` in this process: returns (exit status, stdout, stderr)."""
    from retrieval.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            rc = main(list(argv))
        except SystemExit as exc:
            rc = exc.code
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def policyqa() -> str:
    """The `policyqa` command of this venv."""
    import sys

    exe = Path(sys.executable).with_name("policyqa")
    return str(exe) if exe.exists() else shutil.which("policyqa") or "policyqa"


# A test that takes one of these fixtures needs what it names: marked so, whatever its file says,
# so `./run tests fast` (-m "not model and not browser and not server and not slow") never starts one.
NEEDS = {"real_index": "model", "lite": "server", "pair": "server"}


# The files that take longest (each a minute or more with the other workers busy), longest first:
# run first, the test workers (./run tests: -n 4 --dist loadfile) finish together instead of one
# starting the Milvus parity test when the others are done.
LONGEST_FIRST = ("test_milvus_real.py", "test_faults.py", "test_milvus.py", "test_browser.py", "test_model_parity.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, mark in NEEDS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(mark)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
