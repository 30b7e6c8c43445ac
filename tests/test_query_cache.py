"""Question vectors are kept per process: a question asked again is not encoded again."""

from __future__ import annotations

import numpy as np

from retrieval.embedding import encoder as enc


class Counting(enc.Embedder):
    """An Embedder whose model is a hash of the text: counts what it really encodes."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.encoded: list[str] = []
        self._model = object()
        self._key = ("counting", id(self))
        self._qp = self._pp = ""

    @property
    def dim(self) -> int:
        return 4

    def _encode(self, texts, prefix, progress):
        self.encoded += texts
        rows = [np.frombuffer(bytes(t.encode())[:16].ljust(16, b"\0"), dtype=np.float32) for t in texts]
        return np.stack(rows).astype(np.float32)


def test_a_question_asked_again_is_not_encoded_again():
    e = Counting(query_cache=8)
    first = e.encode_queries(["甲的增速", "乙的增速"])
    again = e.encode_queries(["乙的增速", "丙的增速", "甲的增速"])
    assert e.encoded == ["甲的增速", "乙的增速", "丙的增速"]
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[2], first[0])
    assert again.dtype == np.float32 and again.shape == (3, 4)


def test_the_cache_keeps_only_the_most_recent_questions():
    e = Counting(query_cache=2)
    for q in ("a", "b", "a", "c", "b"):  # "b" fell out when "c" came ("a" was used more recently)
        e.encode_queries([q])
    assert e.encoded == ["a", "b", "c", "b"]


def test_off_encodes_every_time_and_models_do_not_share_vectors():
    off = Counting(query_cache=0)
    off.encode_queries(["a"])
    off.encode_queries(["a"])
    assert off.encoded == ["a", "a"]
    one, other = Counting(query_cache=8), Counting(query_cache=8)
    one.encode_queries(["a"])
    other.encode_queries(["a"])
    assert other.encoded == ["a"]  # another model's vector is never reused
    assert off.encode_queries([]).shape == (0, 4)
