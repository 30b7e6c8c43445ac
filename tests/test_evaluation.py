import math
from pathlib import Path

import pytest

from retrieval.evaluation import evaluate_runs, load_gold, qrels_for
from retrieval.evaluation_answers import load_negatives, load_paraphrases, paragraph_key, side, splits

ROOT = Path(__file__).resolve().parent.parent


def test_metric_wiring_on_a_run_computed_by_hand():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    run = {"q1": {"a": 3.0, "x": 2.0, "b": 1.0}, "q2": {"x": 2.0, "c": 1.0}}
    m = evaluate_runs(qrels, run)
    assert m["recall@1"] == pytest.approx((1 / 2 + 0) / 2)
    assert m["recall@5"] == pytest.approx((1 + 1) / 2)
    assert m["mrr@10"] == pytest.approx((1 / 1 + 1 / 2) / 2)
    ndcg_q1 = (1 / math.log2(2) + 1 / math.log2(4)) / (1 / math.log2(2) + 1 / math.log2(3))
    ndcg_q2 = (1 / math.log2(3)) / 1
    assert m["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2)


def test_a_query_without_hits_counts_as_zero():
    m = evaluate_runs({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": {"a": 1.0}})
    assert m["mrr@10"] == pytest.approx(0.5)


def test_seed_gold_is_large_mixed_and_maps_onto_chunks(fake_index):
    gold = load_gold(ROOT / "eval" / "gold" / "seed")
    assert len(gold.queries) >= 60
    other = [q for q in gold.queries if q.lang in ("zh-Hant", "en")]
    assert len(other) * 3 >= len(gold.queries)
    qrels = qrels_for(fake_index, gold)  # raises when a quote matches no chunk
    assert all(qrels[q.qid] for q in gold.queries)
    side_of = splits(fake_index.documents, gold.queries)
    assert set(side_of.values()) == {"dev", "test"}


def test_a_question_its_translations_and_paraphrases_share_a_side(fake_index):
    folder = ROOT / "eval" / "gold" / "seed"
    gold = load_gold(folder)
    side_of = splits(fake_index.documents, gold.queries)
    by_paragraph: dict[str, set[str]] = {}
    for q in gold.queries:
        by_paragraph.setdefault(paragraph_key(fake_index.documents, q.relevant), set()).add(side_of[q.qid])
    assert all(len(sides) == 1 for sides in by_paragraph.values())
    assert side_of["s01"] == side_of["s02"] == side_of["s03"]  # one paragraph in three scripts/languages
    assert not any(k.endswith(":?") for k in (paragraph_key(fake_index.documents, q.relevant) for q in gold.queries))
    ids = {q.qid for q in gold.queries}
    paras = load_paraphrases(folder)
    assert paras and all(p.para_of in ids for p in paras)
    need = [q.qid for q in gold.queries if q.kind in ("figure", "which_regions") and side_of[q.qid] == "dev"]
    for qid in need:
        assert sum(p.para_of == qid for p in paras) >= 2, qid


def test_negative_set_is_large_and_bilingual():
    negs = load_negatives(ROOT / "eval" / "gold" / "seed")
    assert len(negs) >= 30
    assert {n.lang for n in negs} >= {"zh-Hans", "en"}
    assert {side(n.query) for n in negs} == {"dev", "test"}


def test_which_regions_items_are_judged_by_subject_comparison_and_level():
    from retrieval.evaluation_answers import _region_item_ok
    from retrieval.types import AnswerItem

    def item(region: str, value: str, quote: str) -> AnswerItem:
        return AnswerItem(region=region, period="", value=value, quote=quote, doc_id="d", chunk_id="c", span=(0, 1),
                          highlights=())

    gdp = ["国内生产总值", "GDP"]
    assert _region_item_ok(item("江苏省", "12%", "江苏省国内生产總值增长12%。"), "province", gdp, ">", "10%") == []
    assert _region_item_ok(item("江苏省", "12%", "江苏省出口增长12%。"), "province", gdp, ">", "10%") == ["subject"]
    assert _region_item_ok(item("江苏省", "10%", "江苏省GDP增长10%。"), "province", gdp, ">", "10%") == ["comparison"]
    assert _region_item_ok(item("南京市", "12%", "南京市GDP增长12%。"), "province", gdp, ">", "10%") == ["level"]
    assert _region_item_ok(item("南京市", "12亿元", "南京市GDP达12亿元。"), "any", gdp, ">", "10%") == ["comparison"]
    assert _region_item_ok(item("华蓥市", "12%", "华蓥市GDP增长12%。"), "city", gdp, ">=", "12%") == []
