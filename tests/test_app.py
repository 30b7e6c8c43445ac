"""The Streamlit page, driven by streamlit.testing.v1.AppTest against real indexes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.model
APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _app(index: Path, corpus: Path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("POLICYQA_INDEX", str(index))
    monkeypatch.setenv("POLICYQA_CORPUS", str(corpus))
    at = AppTest.from_file(APP, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _html(at) -> str:
    return "\n".join(e.proto.body for e in at.get("html"))


def test_ask_shows_both_regions(real_index, monkeypatch):
    at = _app(real_index.folder, real_index.settings.corpus, monkeypatch)
    at.text_input(key="question").input("哪些地区提出了9.5%的增长目标?").run()
    assert not at.exception
    page = _html(at)
    assert "广安区（一季度" in page and "岳池县（全年" in page
    assert "<mark>9.5%</mark>" in page


def test_a_region_filter_changes_the_hits(real_index, monkeypatch):
    at = _app(real_index.folder, real_index.settings.corpus, monkeypatch)
    at.text_input(key="question").input("招商引资").run()
    before = [h for h in _html(at).split('<div class="pq-hit"><b>')[1:]]
    at.selectbox(key="county").select("岳池县").run()
    after = [h for h in _html(at).split('<div class="pq-hit"><b>')[1:]]
    assert before and after and before != after
    assert all("岳池县" in h for h in after)


def test_hostile_corpus_text_is_escaped(tmp_path, monkeypatch):
    from retrieval.index import build_index
    from retrieval.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hostile.txt").write_text(
        "惡意標題\n廣安區工業增長攻堅。<script>alert(1)</script>\n岳池縣招商引資。<img src=x onerror=alert(1)>\n",
        encoding="utf-8",
    )
    shutil.copy(Path(__file__).resolve().parent.parent / "corpus" / "002_376b5786823bbcad.txt", corpus)
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, progress=False)
    at = _app(settings.index, corpus, monkeypatch)
    at.text_input(key="question").input("alert 工业增长 招商引资").run()
    assert not at.exception
    page = _html(at)
    plain = page.replace("<mark>", "").replace("</mark>", "")  # matched terms are marked inside
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in plain
    assert "&lt;img src=x onerror=alert(1)&gt;" in plain
    assert "<script" not in page and "<img" not in page


def test_missing_index_is_built_in_the_page(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(Path(__file__).resolve().parent.parent / "corpus" / "003_902afef8673d79be.txt", corpus)
    index = tmp_path / "index"
    at = _app(index, corpus, monkeypatch)
    assert (index / "CURRENT").exists()
    assert any("built" in e.value for e in at.success)
    assert os.path.isdir(index)


def test_answers_show_with_several_dated_documents_and_follow_the_date_filter(tmp_path, monkeypatch):
    from datetime import date

    from retrieval.index import build_index
    from retrieval.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(Path(__file__).resolve().parent.parent / "corpus" / "004_04f38ca700b2c47f.txt", corpus)
    (corpus / "old.txt").write_text("绵阳市2022年工业经济工作要点\n发布时间：2022-03-01\n来源：绵阳日报\n\n"
                                    "绵阳市提出，全年规上工业增加值增长8%。\n", encoding="utf-8")
    (corpus / "new.txt").write_text("绵阳市工业经济形势分析\n发布时间：2023-02-15\n来源：四川日报\n\n"
                                    "绵阳市提出，全年规上工业增加值增长9%。\n", encoding="utf-8")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, progress=False)
    at = _app(settings.index, corpus, monkeypatch)
    at.text_input(key="question").input("哪些地区提出了9.5%的增长目标?").run()
    page = _html(at)
    assert "广安区（一季度" in page  # the untouched date slider filters nothing: the undated article answers
    at.text_input(key="question").input("绵阳市最新的规上工业增加值增长目标是多少").run()
    page = _html(at)
    assert "绵阳市：9%" in page and "2023-02-15" in page
    at.slider(key="dates").set_range(date(2022, 3, 1), date(2022, 6, 30)).run()
    assert not at.exception
    page = _html(at)
    assert "绵阳市：8%" in page and "绵阳市：9%" not in page and "2022-03-01" in page
