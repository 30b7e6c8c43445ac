"""Filters and fact queries compiled once into neutral conditions, rendered to SQL or Milvus.

``of_filter`` and ``of_facts`` turn a ``Filter`` / ``FactQuery`` into ``Conditions``: clauses
that must all hold, each a tuple of alternatives ``Cond(field, op, values)`` of which one must
hold. Conditions on the row itself (chunk, fact) are kept apart from those on its document
(outlet, date), which the local store reaches by a subquery and Milvus finds on the row (chunks,
vectors) or in the documents collection (facts). ``to_sql`` and ``to_milvus`` render clauses.

An undated document fails any date bound: SQLite holds its date as NULL, Milvus as "", which an
upper bound has to exclude.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from retrieval.store.base import FactQuery, Filter
from retrieval.store.milvus_expr import in_list, literal

REGION_FIELDS = ("region", "province", "city", "county")


class Cond(NamedTuple):
    """One test: ``in`` (field is one of values), ``mentions`` (the chunk's places include one of
    values), ``>=`` / ``<=`` (against values[0]), ``between`` (values[0] <= field <= values[1])."""

    field: str
    op: str
    values: tuple


Clause = tuple[Cond, ...]  # alternatives: the clause holds when one of them does


@dataclass(frozen=True)
class Conditions:
    """What a query asks of rows (all clauses hold), split by where the fields live."""

    rows: tuple[Clause, ...] = ()  # the searched rows' own fields
    docs: tuple[Clause, ...] = ()  # fields of the rows' documents (outlet, date)

    @property
    def all(self) -> tuple[Clause, ...]:
        """Every clause, for rows that carry their document's fields too."""
        return self.rows + self.docs


def _one(field: str, op: str, *values: object) -> Clause:
    return (Cond(field, op, tuple(values)),)


def _regions(regions: tuple[str, ...], mentions: bool = False) -> Clause:
    """At any level of the attributed region, or (``mentions``) named in the chunk's text."""
    alts = [Cond(f, "in", tuple(regions)) for f in REGION_FIELDS]
    if mentions:
        alts.append(Cond("places", "mentions", tuple(regions)))
    return tuple(alts)


def _documents(outlets: tuple[str, ...], date_from: str | None, date_to: str | None) -> tuple[Clause, ...]:
    out = []
    if outlets:
        out.append(_one("outlet", "in", *outlets))
    if date_from:
        out.append(_one("date", ">=", date_from))
    if date_to:
        out.append(_one("date", "<=", date_to))
    return tuple(out)


def of_filter(flt: Filter | None) -> Conditions:
    """The conditions a chunk meets to pass a search filter (none for no filter)."""
    if flt is None or flt.is_empty():
        return Conditions()
    rows = []
    if flt.regions:
        rows.append(_regions(flt.regions, flt.region_mentions))
    if flt.doc_ids:
        rows.append(_one("doc_id", "in", *flt.doc_ids))
    return Conditions(tuple(rows), _documents(flt.outlets, flt.date_from, flt.date_to))


def of_facts(query: FactQuery | None) -> Conditions:
    """The conditions a fact meets to be fetched (``limit`` is the caller's); a figure matches
    within a relative tolerance of 1e-9."""
    q = query or FactQuery()
    rows = []
    if q.regions:
        rows.append(_regions(q.regions))
    if q.units:
        rows.append(_one("unit", "in", *q.units))
    if q.value is not None:
        tol = 1e-9 * max(1.0, abs(q.value))
        rows.append(_one("value", "between", q.value - tol, q.value + tol))
    for field, vals in (("chunk_id", q.chunk_ids), ("doc_id", q.doc_ids)):
        if vals:
            rows.append(_one(field, "in", *vals))
    return Conditions(tuple(rows), _documents(q.outlets, q.date_from, q.date_to))


def _sql(c: Cond) -> tuple[str, list]:
    marks = ",".join("?" * len(c.values))
    if c.op == "in":
        return f"{c.field} IN ({marks})", list(c.values)
    if c.op == "mentions":  # the local store keeps a chunk's places in their own table
        return f"cid IN (SELECT cid FROM {c.field} WHERE name IN ({marks}))", list(c.values)
    if c.op in (">=", "<="):  # NULL fails either bound
        return f"{c.field} {c.op} ?", [c.values[0]]
    if c.op == "between":
        return f"{c.field} BETWEEN ? AND ?", list(c.values)
    raise ValueError(f"unknown condition {c.op!r}")


def to_sql(clauses: tuple[Clause, ...]) -> tuple[str, list]:
    """An SQLite condition with ``?`` parameters, and the parameters ("" for no clause)."""
    parts: list[str] = []
    params: list = []
    for clause in clauses:
        alts = []
        for c in clause:
            text, ps = _sql(c)
            alts.append(text)
            params += ps
        parts.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
    return " AND ".join(parts), params


def _milvus(c: Cond) -> str:
    if c.op == "in":
        return in_list(c.field, c.values)
    if c.op == "mentions":
        return f"ARRAY_CONTAINS_ANY({c.field}, [{', '.join(literal(v) for v in c.values)}])"
    if c.op == ">=":
        return f"{c.field} >= {literal(c.values[0])}"
    if c.op == "<=":  # "" (unknown) sorts first: it must not pass an upper bound
        return f'({c.field} != "" and {c.field} <= {literal(c.values[0])})'
    if c.op == "between":
        return f"{c.field} >= {literal(c.values[0])} and {c.field} <= {literal(c.values[1])}"
    raise ValueError(f"unknown condition {c.op!r}")


def to_milvus(clauses: tuple[Clause, ...]) -> str:
    """A Milvus boolean expression ("" for no clause)."""
    parts = [_milvus(clause[0]) if len(clause) == 1 else "(" + " or ".join(_milvus(c) for c in clause) + ")"
             for clause in clauses]
    return " and ".join(parts)


def filter_expr(flt: Filter | None) -> str:
    """The Milvus expression of a search filter over rows that carry their document's outlet and date."""
    return to_milvus(of_filter(flt).all)
