"""Filters and fact queries compiled once: the SQL and Milvus renderings, and the local store's facts."""

from __future__ import annotations

import pytest

from retrieval.store import FactQuery, Filter
from retrieval.store.compile import Cond, filter_expr, of_facts, of_filter, to_milvus, to_sql

REGIONS = ("region", "province", "city", "county")


def test_an_empty_filter_is_no_condition():
    for flt in (None, Filter(), Filter(region_mentions=True)):
        cq = of_filter(flt)
        assert cq.all == ()
        assert to_sql(cq.all) == ("", [])
        assert to_milvus(cq.all) == "" and filter_expr(flt) == ""


def test_fields_and_together_values_or_together():
    flt = Filter(regions=("河北省", "廊坊"), doc_ids=("a", "b"), outlets=("新华网",))
    cq = of_filter(flt)
    assert cq.rows == (tuple(Cond(f, "in", ("河北省", "廊坊")) for f in REGIONS), (Cond("doc_id", "in", ("a", "b")),))
    assert cq.docs == ((Cond("outlet", "in", ("新华网",)),),)
    assert to_sql(cq.rows) == (
        "(region IN (?,?) OR province IN (?,?) OR city IN (?,?) OR county IN (?,?)) AND doc_id IN (?,?)",
        ["河北省", "廊坊"] * 4 + ["a", "b"])
    assert to_sql(cq.docs) == ("outlet IN (?)", ["新华网"])
    assert to_milvus(cq.all) == (
        '(region in ["河北省", "廊坊"] or province in ["河北省", "廊坊"] or city in ["河北省", "廊坊"] or '
        'county in ["河北省", "廊坊"]) and doc_id in ["a", "b"] and outlet in ["新华网"]')


def test_region_mentions_reach_the_places():
    clause = of_filter(Filter(regions=("广安",), region_mentions=True)).rows
    assert to_sql(clause) == ("(region IN (?) OR province IN (?) OR city IN (?) OR county IN (?) OR "
                              "cid IN (SELECT cid FROM places WHERE name IN (?)))", ["广安"] * 5)
    assert to_milvus(clause).endswith(' or ARRAY_CONTAINS_ANY(places, ["广安"]))')


def test_a_date_range_is_on_the_document_and_an_undated_one_fails_it():
    cq = of_filter(Filter(date_from="2023-01-01", date_to="2023-12-31"))
    assert cq.rows == ()
    assert to_sql(cq.docs) == ("date >= ? AND date <= ?", ["2023-01-01", "2023-12-31"])
    # Milvus stores an unknown date as "", which sorts before any bound
    assert to_milvus(cq.docs) == 'date >= "2023-01-01" and (date != "" and date <= "2023-12-31")'
    assert to_milvus(of_filter(Filter(date_to="2023-12-31")).all) == '(date != "" and date <= "2023-12-31")'


def test_a_quote_stays_inside_its_literal():
    assert filter_expr(Filter(doc_ids=('x" or doc_id != "',))) == 'doc_id in ["x\\" or doc_id != \\""]'
    assert to_sql(of_filter(Filter(doc_ids=('x" or 1=1 --',))).rows) == ("doc_id IN (?)", ['x" or 1=1 --'])


def test_fact_queries_compile_as_filters_do():
    q = FactQuery(regions=("广安市",), units=("%",), value=9.5, chunk_ids=("c1",), doc_ids=("d1",),
                  outlets=("广安日报",), date_from="2023-01-01", limit=3)
    cq = of_facts(q)
    assert cq.rows[0] == tuple(Cond(f, "in", ("广安市",)) for f in REGIONS)  # no places for facts
    lo, hi = cq.rows[2][0].values
    assert lo < 9.5 < hi and hi - lo == pytest.approx(2 * 9.5e-9)
    sql, params = to_sql(cq.rows)
    assert sql == ("(region IN (?) OR province IN (?) OR city IN (?) OR county IN (?)) AND unit IN (?) AND "
                   "value BETWEEN ? AND ? AND chunk_id IN (?) AND doc_id IN (?)")
    assert params == ["广安市"] * 4 + ["%", lo, hi, "c1", "d1"]
    assert to_milvus(cq.rows[1:3]) == f'unit in ["%"] and value >= {lo!r} and value <= {hi!r}'
    assert to_sql(cq.docs) == ("outlet IN (?) AND date >= ?", ["广安日报", "2023-01-01"])
    assert of_facts(None) == of_facts(FactQuery()) == of_filter(None)
    assert of_facts(FactQuery(value=0.0)).rows[0][0].values == (-1e-9, 1e-9)  # zero is a figure, not "no value"


def test_local_facts_match_filtering_every_fact(fake_index):
    """The local store's SQL for fact queries against the same query applied to every fact in Python."""
    store = fake_index.store
    every = store.facts()
    docs = {d.doc_id: d for d in store.list_documents()}
    assert every and len({f.doc_id for f in every}) > 1
    outlet = next(d.outlet for d in docs.values() if d.outlet)
    dates = sorted(d.date for d in docs.values() if d.date)
    date = dates[len(dates) // 2]
    f0 = every[len(every) // 2]

    def keep(f, q: FactQuery) -> bool:
        d = docs[f.doc_id]
        return ((not q.regions or bool(set(q.regions) & {f.region, f.province, f.city, f.county}))
                and (not q.units or f.unit in q.units) and (q.value is None or f.value == q.value)
                and (not q.chunk_ids or f.chunk_id in q.chunk_ids) and (not q.doc_ids or f.doc_id in q.doc_ids)
                and (not q.outlets or d.outlet in q.outlets) and (not q.date_from or bool(d.date and d.date >= q.date_from))
                and (not q.date_to or bool(d.date and d.date <= q.date_to)))

    queries = [FactQuery(regions=(f0.province,)), FactQuery(units=(f0.unit,), value=f0.value),
               FactQuery(chunk_ids=(f0.chunk_id,)), FactQuery(doc_ids=(f0.doc_id,), units=("%", f0.unit)),
               FactQuery(outlets=(outlet,)), FactQuery(date_from=date), FactQuery(date_to=date),
               FactQuery(date_to="2000-01-01"), FactQuery(date_to="2999-12-31"),  # undated documents fail both
               FactQuery(regions=(f0.region, "没有的地方"), date_from=date, date_to=date)]
    for q in queries:
        want = [f for f in every if keep(f, q)]
        assert store.facts(q) == want, q
    assert any(store.facts(q) for q in queries) and any(len(store.facts(q)) < len(every) for q in queries)
    assert store.facts(FactQuery(units=(f0.unit,), limit=2)) == [f for f in every if f.unit == f0.unit][:2]
