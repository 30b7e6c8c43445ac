"""The facts gold's scorer: figures and regions matched one to one, quantities in base units."""

from __future__ import annotations

from retrieval.evaluation_facts import FactsGold, GoldFact, base_quantity, region_key, score_extraction
from retrieval.text.normalize import norm_text
from retrieval.types import Fact

SENTENCE = "江苏、浙江单位GDP能耗下降3%左右，全市新建住房18.5万套。"


def fact(region: str, value: float, unit: str, high: float | None = None, subject: str = "单位GDP能耗") -> Fact:
    return Fact(fact_id=f"{region}{value}", doc_id="a.txt", chunk_id="c", region=region, province="", city="",
                county="", subject=subject, phrase="", value=value, unit=unit, raw="", qualifier="左右", period="",
                sentence=SENTENCE, start=0, end=len(SENTENCE), value_start=0, value_end=1, direction="down",
                value_high=high)


def gold(*facts: GoldFact) -> FactsGold:
    return FactsGold({"s1": ("test", "a", norm_text(SENTENCE))}, {"s1": list(facts)})  # as load_facts_gold keeps it


def g(region: str, value: float, unit: str, high: float | None = None) -> GoldFact:
    return GoldFact("s1", region, "单位GDP能耗", value, high, unit, "down", "左右", "", "")


def test_quantities_compare_in_base_units_and_regions_by_canonical_name():
    assert base_quantity(18.5, "万套") == base_quantity(185000, "套")
    assert base_quantity(2, "亿元")[1] == base_quantity(20000, "万元")[1]
    assert region_key("浙江") == region_key("浙江省") and region_key("全国") == region_key("") == ""


def test_one_to_one_by_figure_and_region():
    want = gold(g("江苏省", 3, "%"), g("浙江省", 3, "%"), g("", 18.5, "万套"))
    got = [fact("江苏省", 3, "%"), fact("江苏省", 3, "%"), fact("全国", 185000, "套")]
    s = score_extraction(got, want)["test"]
    # the second 江苏省 fact has no gold row left: 浙江省 was missed
    assert (s["matched"], s["extracted"], s["gold"]) == (2, 3, 3)
    assert s["figure precision"] == 1.0 and round(s["precision"], 3) == round(2 / 3, 3)


def test_a_range_matches_only_a_range():
    want = gold(g("", 2, "万元", 20))
    assert score_extraction([fact("", 20000, "元")], want)["test"]["matched"] == 0
    assert score_extraction([fact("", 20000, "元", 200000)], want)["test"]["matched"] == 1
