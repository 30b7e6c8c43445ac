"""The rows behind the app's charts and map: one row per stated figure, with its quote and place.

Nothing here draws. A row is a plain dict (the same rows fill a table, a chart and a map):
``region, province, city, county, level, subject, value, unit, period, qualifier, quote,
title, outlet, date, doc_id, chunk_id, listed, lon, lat``. ``listed`` marks the rows an
answer gives; the others put it in context (the same subject in other regions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.answer.extractive import facts_for
from retrieval.answer.question import analyze
from retrieval.geo import locate, province_shapes
from retrieval.index import Index
from retrieval.render import readable
from retrieval.settings import DEFAULT
from retrieval.store import FactQuery, Filter
from retrieval.text.facts import fact_year
from retrieval.types import Answer, AnswerItem, Fact

LEVELS = ("province", "city", "county")
# what a hover over a bar, point or shape shows: the figure, its quote and its source
TOOLTIP = ("region", "value", "unit", "period", "quote", "title", "outlet", "date", "doc_id")
CONTEXT_REGIONS = 40  # other regions drawn beside an answer's, at most
# "规上工业增加值增速" and "规上工业增加值" (as in "规上工业增加值增长9.5%") measure the same thing
_CHANGE_TAIL = re.compile(r"(?:同比|预期|计划)?(?:增速|增长率|增长|增幅|目标|提高|下降)+$")


def subject_key(subject: str) -> str:
    """What a subject measures, without the change words after it (增速, 增长, 目标)."""
    return _CHANGE_TAIL.sub("", subject) or subject


@dataclass(frozen=True)
class AnswerFigures:
    """What an answer's chart shows: its rows, the other regions' rows, and the asked threshold."""

    subject: str
    unit: str
    listed: tuple[dict, ...]
    context: tuple[dict, ...]
    threshold: float | None = None  # the figure the question names, in ``unit``
    comparison: str = ""  # ">", "<", ... when the question compares ("低于全年目标" has none)

    @property
    def rows(self) -> list[dict]:
        return [*self.listed, *self.context]


def fact_row(index: Index, f: Fact, listed: bool = False, simplified: bool = False,
             original: bool = False) -> dict:
    """One fact as a chart/table/map row; the quote readable (no pinyin notes) unless ``original``."""
    doc = index.documents[f.doc_id]
    point = locate(f.region, f.province, f.city, f.county)
    level = 2 if f.county else 1 if f.city else 0
    return {
        "region": f.region, "province": f.province, "city": f.city, "county": f.county,
        "level": LEVELS[level], "subject": f.subject, "value": f.value, "high": f.value_high, "unit": f.unit,
        "direction": f.direction, "period": f.period, "year": fact_year(f, doc.get("date") or ""),
        "qualifier": f.qualifier, "quote": readable(f.sentence, simplified, original),
        "title": doc.get("title") or "", "outlet": doc.get("outlet") or "", "date": doc.get("date") or "",
        "doc_id": f.doc_id, "chunk_id": f.chunk_id, "listed": listed,
        "lon": point.lon if point else None, "lat": point.lat if point else None,
    }


def fact_rows(index: Index, facts: list[Fact], simplified: bool = False, original: bool = False) -> list[dict]:
    """Table rows of facts, dates included (`chartable` leaves those out)."""
    return [fact_row(index, f, False, simplified, original) for f in facts]


def chartable(rows: list[dict]) -> list[dict]:
    """Rows that state a quantity: a date ("3月底前") has no value axis."""
    return [r for r in rows if r["unit"] != "日期"]


def _fact_of(index: Index, item: AnswerItem) -> Fact | None:
    """The stored fact an answer item quotes (same sentence, subject and region; its figure marked)."""
    if not item.value or not item.subject:
        return None
    facts = [f for f in index.facts_where(FactQuery(chunk_ids=(item.chunk_id,)))
             if f.start == item.span[0] and f.subject == item.subject and f.region == item.region]
    marked = [f for f in facts if (f.value_start, f.value_end) in item.highlights
              or any(a == f.value_start for a, _ in item.highlights)]
    pool = marked or facts
    return min(pool, key=lambda f: f.value_start) if pool else None


def answer_figures(index: Index, ans: Answer, simplified: bool = False, original: bool = False,
                   context: bool = True) -> AnswerFigures | None:
    """The chart of a figure or which-regions answer, or None when the answer states no number.

    ``listed`` holds the answer's own figures; ``context`` the newest figure of the same
    subject and unit that each other region of the corpus states (at most CONTEXT_REGIONS).
    """
    facts = [f for f in (_fact_of(index, it) for it in ans.items) if f is not None and f.unit != "日期"]
    if not facts:
        return None
    unit = facts[0].unit
    subject = facts[0].subject
    facts = [f for f in facts if f.unit == unit]
    listed = tuple(fact_row(index, f, True, simplified, original) for f in facts)
    others: tuple[dict, ...] = ()
    if context:
        taken = {f.region for f in facts}
        newest: dict[str, Fact] = {}
        key = subject_key(subject)
        for f in facts_for(index, Filter(), unit=unit, limit=DEFAULT.facts_shown):
            if subject_key(f.subject) != key or f.region in taken or not f.region:
                continue
            old = newest.get(f.region)
            if old is None or (index.documents[f.doc_id].get("date") or "") > (
                    index.documents[old.doc_id].get("date") or ""):
                newest[f.region] = f
        chosen = sorted(newest.values(), key=lambda f: -abs(f.value))[:CONTEXT_REGIONS]
        others = tuple(fact_row(index, f, False, simplified, original) for f in chosen)
    q = analyze(ans.question)
    figure = q.comparison[1] if q.comparison is not None else q.figures[0] if q.figures else None
    threshold = figure.value if figure is not None and figure.unit == unit else None
    return AnswerFigures(subject, unit, listed, others, threshold, q.comparison[0] if q.comparison else "")


def region_choices(rows: list[dict]) -> list[str]:
    """Regions of the rows, the ones stating most figures first."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["region"]] = counts.get(r["region"], 0) + 1
    return sorted(counts, key=lambda r: (-counts[r], r))


def subject_choices(rows: list[dict]) -> list[str]:
    """What is measured, with its unit, as "subject|unit": the ones two or more regions state, most
    widely stated first (subjects compared by `subject_key`)."""
    regions: dict[str, set[str]] = {}
    for r in rows:
        regions.setdefault(f"{subject_key(r['subject'])}|{r['unit']}", set()).add(r["region"])
    keys = [k for k, v in regions.items() if len(v) >= 2 and k.split("|")[0]]
    return sorted(keys, key=lambda k: (-len(regions[k]), k))


def over_time(rows: list[dict], region: str) -> list[dict]:
    """A region's figures ordered by document date, then period; ``when`` labels the x axis."""
    mine = [dict(r, when=" ".join(x for x in (r["date"] or "undated", r["period"]) if x))
            for r in rows if r["region"] == region]
    return sorted(mine, key=lambda r: (r["date"] or "9999", r["period"]))


def across_regions(rows: list[dict], subject_unit: str) -> list[dict]:
    """One subject in every region stating it: each region's newest statement."""
    subject, _, unit = subject_unit.partition("|")
    newest: dict[str, dict] = {}
    for r in rows:
        if subject_key(r["subject"]) == subject and r["unit"] == unit:
            old = newest.get(r["region"])
            if old is None or r["date"] > old["date"]:
                newest[r["region"]] = r
    return sorted(newest.values(), key=lambda r: -r["value"])


def map_rows(rows: list[dict]) -> list[dict]:
    """The rows that have a point on the map."""
    return [r for r in rows if r["lon"] is not None and r["lat"] is not None]


def map_layers(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """What the map draws: (shapes, points).

    A province's row fills its province: a GeoJSON feature from `province_shapes` carrying the
    row's fields beside ``type`` and ``geometry`` (the first row of each province, so an answer's
    own before the others). Every other row with a point (a city, a county, a zone) is a point.
    """
    shapes = {f["properties"]["name"]: f for f in province_shapes()["features"]}
    filled: dict[str, dict] = {}
    points = []
    for r in rows:
        if r["region"] in shapes:  # the province itself, not a zone inside it (川渝高竹新区)
            if r["region"] not in filled:
                filled[r["region"]] = {**r, "type": "Feature", "geometry": shapes[r["region"]]["geometry"]}
        elif r["lon"] is not None and r["lat"] is not None:
            points.append(r)
    return list(filled.values()), points
