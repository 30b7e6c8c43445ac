"""A corpus's own words and places (<corpus>/.policyqa): used by the build and by whoever opens the index."""

from __future__ import annotations

from retrieval.index import build_index, open_index
from retrieval.settings import Settings
from retrieval.text.regions import mentions
from retrieval.text.tokens import tokenize


def test_a_corpus_zone_and_word_are_known_to_the_build_and_the_questions(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    (corpus / ".policyqa").mkdir(parents=True)
    (corpus / "a.txt").write_text("简讯\n\n云杉新区规上工业增加值增长11%，启动鲲鹏计划三年行动。\n", encoding="utf-8")
    (corpus / ".policyqa" / "places.tsv").write_text("# a zone\n云杉新区\t浙江省\t湖州市\t云杉新区\n", encoding="utf-8")
    (corpus / ".policyqa" / "words.txt").write_text("鲲鹏计划 30 n\n", encoding="utf-8")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    report = build_index(settings, encoder=fake_encoder, progress=False)
    assert report.documents == 1  # the folder of words and places is not a document
    idx = open_index(settings.index, settings, encoder=fake_encoder)
    assert {f.region for f in idx.facts if f.unit == "%"} == {"云杉新区"}
    assert idx.facts[0].province == "浙江省"
    assert "鲲鹏计划" in tokenize("鲲鹏计划进展如何")
    assert idx.store.info().settings["vocabulary"]["words"] == ["鲲鹏计划 30 n"]
    assert [p.name for p in mentions("云杉新区")] == ["云杉新区"]


def test_a_changed_vocabulary_rebuilds_the_index_in_full(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("简讯\n\n全市工业增加值增长9%。\n", encoding="utf-8")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, encoder=fake_encoder, progress=False)
    assert build_index(settings, encoder=fake_encoder, progress=False).unchanged == 1
    (corpus / ".policyqa").mkdir()
    (corpus / ".policyqa" / "words.txt").write_text("工业增加值 50 n\n", encoding="utf-8")
    again = build_index(settings, encoder=fake_encoder, progress=False)
    assert again.unchanged == 0 and again.documents == 1
