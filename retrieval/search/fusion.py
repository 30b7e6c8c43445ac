"""Rank fusion as pure functions: inputs are never changed, a new ranking is returned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rrf(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(d) = sum over rankings of 1 / (k + rank), rank from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def minmax(scores: Mapping[str, float], floor: float | None = None, ceiling: float | None = None) -> dict[str, float]:
    """Scale to [0, 1]; a list of equal scores maps to 1.

    ``floor`` is a score every unlisted document is known to have (0 for BM25): the scale
    then starts there, so a run of two close scores does not send the second to 0.
    ``ceiling`` raises the top of the scale when the best score is below it, so a run whose
    best match is weak keeps weak normalized scores.
    """
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if floor is not None:
        lo = min(lo, floor)
    if ceiling is not None:
        hi = max(hi, ceiling)
    if hi == lo:
        return dict.fromkeys(scores, 1.0)
    return {d: (s - lo) / (hi - lo) for d, s in scores.items()}


def weighted(
    runs: Sequence[Mapping[str, float]],
    weights: Sequence[float],
    floors: Sequence[float | None] | None = None,
    ceilings: Sequence[float | None] | None = None,
) -> list[tuple[str, float]]:
    """Weighted sum of min-max normalized scores; a document missing from a run gets 0 there."""
    if len(runs) != len(weights):
        raise ValueError("one weight per run")
    floors = list(floors) if floors is not None else [None] * len(runs)
    ceilings = list(ceilings) if ceilings is not None else [None] * len(runs)
    fused: dict[str, float] = {}
    for run, w, floor, ceiling in zip(runs, weights, floors, ceilings, strict=True):
        for doc, s in minmax(run, floor, ceiling).items():
            fused[doc] = fused.get(doc, 0.0) + w * s
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
