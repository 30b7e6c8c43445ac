"""QueryBatcher: concurrent queries encoded together give each caller exactly its own vectors."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import FakeEncoder

from retrieval.serve.batching import QueryBatcher

QUERIES = [f"第{i}个问题：哪些地区提出了{i}%的增长目标" for i in range(24)]


class _Slow(FakeEncoder):
    """Records each pass and holds the first one until released, so the others pile up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.passes: list[list[str]] = []
        self.first = threading.Event()
        self.release = threading.Event()

    def encode_queries(self, texts):
        self.passes.append(list(texts))
        self.first.set()
        self.release.wait(10)
        if any("boom" in t for t in texts):
            raise ValueError("boom")
        return super().encode_queries(texts)


def test_concurrent_queries_share_passes_and_get_their_own_rows():
    inner = _Slow()
    batcher = QueryBatcher(inner)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batcher.encode_queries, [QUERIES[0]])
        assert inner.first.wait(10)
        rest = [pool.submit(batcher.encode_queries, [q]) for q in QUERIES[1:8]]
        while len(batcher._waiting) < 7:  # all seven wait behind the running pass
            threading.Event().wait(0.01)
        inner.release.set()
        got = [first.result(10)] + [f.result(10) for f in rest]
    want = FakeEncoder().encode_queries(QUERIES[:8])
    assert np.array_equal(np.vstack(got), want)
    assert inner.passes == [[QUERIES[0]], QUERIES[1:8]]  # the seven waiting ones in one pass, in order


def test_an_error_reaches_every_caller_of_its_pass_only():
    inner = _Slow()
    inner.release.set()
    batcher = QueryBatcher(inner)
    with pytest.raises(ValueError, match="boom"):
        batcher.encode_queries(["boom"])
    assert np.array_equal(batcher.encode_queries(["fine"]), FakeEncoder().encode_queries(["fine"]))


def test_a_threads_last_query_is_reused_and_the_rest_delegated():
    inner = _Slow()
    inner.release.set()
    batcher = QueryBatcher(inner)
    a = batcher.encode_queries(["同一个问题"])
    a[0, 0] = 99.0  # a caller changing its array does not change what the next caller gets
    b = batcher.encode_queries(["同一个问题"])
    assert len(inner.passes) == 1 and b[0, 0] != 99.0
    assert batcher.name == inner.name and batcher.dim == inner.dim and batcher.describe() == inner.describe()


def test_batched_equals_one_at_a_time_with_the_real_model(real_index):
    enc = real_index.encoder
    one_by_one = np.vstack([enc.encode_queries([q]) for q in QUERIES])
    batcher = QueryBatcher(enc)
    with ThreadPoolExecutor(6) as pool:
        together = np.vstack(list(pool.map(lambda q: batcher.encode_queries([q]), QUERIES)))
    assert np.allclose(together, one_by_one, atol=1e-5)
    assert batcher.passes <= len(QUERIES)
