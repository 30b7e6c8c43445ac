import pytest

from retrieval.search.fusion import minmax, rrf, weighted


def test_rrf_values_and_order():
    a = ["d1", "d2", "d3"]
    b = ["d3", "d1"]
    out = dict(rrf([a, b], k=60))
    assert out["d1"] == pytest.approx(1 / (60 + 1) + 1 / (60 + 2))
    assert out["d3"] == pytest.approx(1 / (60 + 3) + 1 / (60 + 1))
    assert out["d2"] == pytest.approx(1 / (60 + 2))
    assert [d for d, _ in rrf([a, b], k=60)] == ["d1", "d3", "d2"]


def test_minmax_with_floor():
    assert minmax({"a": 8.0, "b": 7.7}) == {"a": 1.0, "b": 0.0}
    out = minmax({"a": 8.0, "b": 7.7}, floor=0.0)
    assert out["b"] == pytest.approx(7.7 / 8.0)


def test_weighted_values_and_missing_docs():
    bm = {"a": 10.0, "b": 5.0}
    de = {"b": 0.9, "c": 0.7, "a": 0.5}
    out = dict(weighted([bm, de], [0.4, 0.6], floors=[0.0, None]))
    assert out["a"] == pytest.approx(0.4 * 1.0 + 0.6 * 0.0)
    assert out["b"] == pytest.approx(0.4 * 0.5 + 0.6 * 1.0)
    assert out["c"] == pytest.approx(0.4 * 0.0 + 0.6 * (0.7 - 0.5) / (0.9 - 0.5))
    assert [d for d, _ in weighted([bm, de], [0.4, 0.6], floors=[0.0, None])] == ["b", "a", "c"]


def test_fusion_never_mutates_inputs():
    bm = {"a": 10.0, "b": 5.0}
    de = {"b": 0.9}
    runs = [["a", "b"], ["b"]]
    weighted([bm, de], [0.5, 0.5])
    rrf(runs)
    assert bm == {"a": 10.0, "b": 5.0} and de == {"b": 0.9} and runs == [["a", "b"], ["b"]]
