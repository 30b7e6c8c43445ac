"""What a which-regions question measures, and English amounts read as the Chinese reader reads them."""

from __future__ import annotations

import pytest

from retrieval.answer.question import analyze
from retrieval.answer.subjects import char_overlap, measured_phrase


@pytest.mark.parametrize(("question", "value", "unit", "op"), [
    ("Which counties had a GDP above 5 billion yuan?", 5e9, "元", ">"),
    ("Which regions planted more than 200,000 mu of rice?", 200000.0, "亩", ">"),
    ("Which regions had more than 10 loss-making enterprises?", 10.0, "家", ">"),
    ("Where did exports exceed 3.5 million US dollars?", 3.5e6, "美元", ">"),
    ("Which cities added 480,000 tonnes of steel capacity?", 480000.0, "吨", None),
    ("Which regions set 9.5 percent targets?", 9.5, "%", None),
])
def test_english_amounts_and_comparisons(question, value, unit, op):
    q = analyze(question)
    assert [(f.value, f.unit) for f in q.figures] == [(value, unit)]
    assert (q.comparison[0] if q.comparison else None) == op


@pytest.mark.parametrize(("question", "phrase"), [
    ("哪些县国内生产总值超过50亿元?", "国内生产总值"),
    ("河北哪些城市的蔬菜种植面积超过20万亩?", "蔬菜种植面积"),
    ("哪些地区提出了9.5%的增长目标?", ""),  # the figure alone is asked
    ("Which regions had more than 10 loss-making enterprises?", "loss-making enterprises"),
    ("Which regions set 9.5% targets?", ""),
])
def test_the_measured_phrase_is_the_question_less_its_scaffolding(question, phrase):
    assert measured_phrase(analyze(question)) == phrase


def test_character_overlap_of_a_compound_and_its_parts():
    assert char_overlap("蔬菜种植面积", "蔬菜种植面积") == 1.0
    assert char_overlap("种植面积", "荔枝种植面积") > 0.6
    assert char_overlap("财政收入", "造船能力") == 0.0
    assert char_overlap("gdp", "国内生产总值") == 0.0


def test_the_build_stores_each_subject_vector_once_and_questions_read_them(fake_index):
    import numpy as np

    from retrieval.answer.subjects import subject_vectors
    from retrieval.embedding.encoder import model_revision, subject_key

    subjects = sorted({f.subject for f in fake_index.facts if f.subject})
    rev = model_revision(fake_index.store.info().model)
    stored = fake_index.store.stored_vectors([subject_key(rev, s) for s in subjects])
    assert len(stored) == len(subjects)
    # what a question reads is what the build stored: the encoder's own vector of the phrase
    got = subject_vectors(fake_index, subjects[:3])
    assert np.allclose(got, fake_index.encoder.encode_queries(subjects[:3]), atol=1e-6)


def test_a_subject_with_words_put_into_the_phrase_is_within_it():
    from retrieval.answer.subjects import within

    assert within("人均收入", "渔民人均年收入")
    assert within("工业 总产值", "全县工业总产值")
    assert not within("人均收入", "财政收入")  # 人均 is missing
    assert not within("收入", "财政收入")  # two characters say too little
    assert not within("收入总额", "总额收入")  # out of order


@pytest.mark.parametrize(("text", "level"), [
    ("香蕉种植面积超过5万亩的县有哪些?", 2), ("工业增长30%以上的地区有哪些?", None), ("新增企业的城市是哪几个?", 1),
])
def test_the_place_word_before_the_question_asks_which_regions(text, level):
    q = analyze(text)
    assert (q.kind, q.level) == ("which_regions", level)


def test_a_place_that_has_things_is_not_a_which_regions_question():
    assert analyze("这个市有哪些企业?").kind != "which_regions"


def test_a_word_the_unit_says_leaves_the_phrase():
    from retrieval.answer.subjects import bare_phrase

    assert bare_phrase("批发市场数量", "个") == "批发市场"
    assert bare_phrase("蔬菜种植面积", "亩") == "蔬菜种植"
    assert bare_phrase("报名人数", "人") == "报名"
    assert bare_phrase("蔬菜种植面积", "吨") == "蔬菜种植面积"  # a mass says nothing of an area
    assert bare_phrase("数量", "个") == "数量"


def test_an_abbreviation_a_gloss_spells_out_is_read_where_it_is_written_in_capitals():
    from retrieval.search.translate import expand_english

    assert "国内生产总值" in expand_english("GDP", lambda _: 1, {})  # CC-CEDICT: "gross domestic product (GDP)"
    assert "国内生产总值" not in expand_english("gdp", lambda _: 1, {})


def test_a_national_level_is_no_country():
    q = analyze("哪些国家级开发区的产值超过100亿元？")
    assert q.kind != "which_regions" or q.level != -2
    assert "国家级开发区" in measured_phrase(analyze("哪些地区的国家级开发区超过10个？"))
