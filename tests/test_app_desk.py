"""The analyst's desk in the page (streamlit.testing.v1.AppTest, real index): links, history,
exports, charts and map, the figures tab's filters, batches, and one retrieval per question."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.model
APP = str(Path(__file__).resolve().parent.parent / "app.py")
NINE_FIVE = "哪些地区提出了9.5%的增长目标?"


def _app(real_index, monkeypatch, params: dict | None = None):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("POLICYQA_INDEX", str(real_index.folder))
    monkeypatch.setenv("POLICYQA_CORPUS", str(real_index.settings.corpus))
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update(params or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _html(at) -> str:
    return "\n".join(e.proto.body for e in at.get("html"))


def _charts(at) -> list[tuple[dict, list]]:
    """Each chart's Vega-Lite spec and its datasets (as pandas frames: Streamlit sends them as Arrow)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return [(json.loads(e.proto.spec), [convert_arrow_bytes_to_pandas_df(d.data.data) for d in e.proto.datasets])
            for e in at.get("vega_lite_chart")]


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """What the page's download buttons would send, by file name."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    seen: dict[str, bytes] = {}
    real = MediaFileManager.add

    def add(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name:
            seen[file_name] = data if isinstance(data, bytes) else str(data).encode()
        return real(self, data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", add)
    return seen


def test_a_shared_link_reopens_the_question_with_its_filters(real_index, monkeypatch):
    at = _app(real_index, monkeypatch, {"q": NINE_FIVE, "region": "岳池县", "mode": "bm25", "k": "2"})
    assert at.text_input(key="question").value == NINE_FIVE
    assert (at.selectbox(key="county").value, at.radio(key="mode").value, at.slider(key="k").value) == (
        "岳池县", "bm25", 2)
    page = _html(at)
    assert "岳池县（全年" in page and "广安区（一季度" not in page  # the link's region filter applies
    assert page.count("<div class=\"pq-hit\"><b>") == 2
    assert at.query_params["q"] == NINE_FIVE and at.query_params["region"] == "岳池县"


def test_the_url_follows_the_question_and_the_history_restores_one(real_index, monkeypatch):
    at = _app(real_index, monkeypatch)
    assert "q" not in at.query_params
    at.text_input(key="question").input(NINE_FIVE).run()
    at.selectbox(key="province").select("四川省").run()
    assert at.query_params == {"q": NINE_FIVE, "region": "四川省"}
    at.selectbox(key="province").select("(all)").run()
    at.text_input(key="question").input("招商引资").run()
    labels = [b.label for b in at.sidebar.button]
    assert len(labels) == 3 and labels[0].startswith("招商引资")
    at.sidebar.button[1].click().run()  # the 9.5% question with 四川省
    assert at.text_input(key="question").value == NINE_FIVE
    assert at.selectbox(key="province").value == "四川省"
    assert at.query_params["region"] == "四川省"


def test_exports_parse_and_match_the_answer(real_index, monkeypatch, downloads):
    from retrieval.answer.extractive import answer_question
    from retrieval.payload import answer_payload

    at = _app(real_index, monkeypatch)
    at.text_input(key="question").input(NINE_FIVE).run()
    exported = json.loads(downloads["policyqa-answer.json"])
    assert exported == json.loads(json.dumps(answer_payload(answer_question(real_index, NINE_FIVE, k=10))))
    rows = list(csv.DictReader(io.StringIO(downloads["policyqa-answer.csv"].decode("utf-8-sig"))))
    assert [(r["region"], r["value"]) for r in rows] == [("广安区", "9.5%"), ("岳池县", "9.5%")]
    assert all("(" not in r["quote"] for r in rows)  # readable: no pinyin notes
    md = downloads["policyqa-answer.md"].decode()
    assert "| 广安区 | 一季度 | 9.5% |" in md and "## Quotes" in md
    passages = list(csv.DictReader(io.StringIO(downloads["policyqa-passages.csv"].decode("utf-8-sig"))))
    assert [p["chunk_id"] for p in passages] == [h["chunk_id"] for h in exported["evidence"]]


def test_the_answer_is_drawn_on_a_chart_and_a_map(real_index, monkeypatch):
    at = _app(real_index, monkeypatch)
    at.text_input(key="question").input(NINE_FIVE).run()
    charts = _charts(at)
    bar_spec, bar_data = next(c for c in charts if "rule" in json.dumps(c[0]))
    assert "规上工业增加值增速 (%)" in json.dumps(bar_spec, ensure_ascii=False)  # the unit on the axis
    bars, rule = bar_data
    assert set(bars[bars["listed"]]["region"]) == {"广安区", "岳池县"} and set(bars["value"]) == {9.5}
    assert all("9.5%" in q for q in bars["quote"])  # the hover carries the quote and its source
    assert list(rule["label"]) == ["asked: 9.5%"]
    geo_spec, (dots, _labels) = next(c for c in charts if "projection" in c[0])
    assert len(geo_spec["layer"][0]["data"]["values"]) == 34  # the provinces' outlines, inline
    assert set(dots["region"]) == {"广安区", "岳池县"}  # counties: points on them
    assert ((dots["lon"] > 106) & (dots["lon"] < 107.5) & (dots["lat"] > 30) & (dots["lat"] < 31)).all()
    assert "url" not in json.dumps(geo_spec) and "http" not in json.dumps(geo_spec)  # data inline, no tiles
    page = _html(at)
    assert "(qū)" not in page and "廣安區將緊扣" in page  # readable by default
    at.toggle(key="original").set_value(True).run()
    assert "廣安區(qū)將緊扣" in _html(at)


def test_a_question_retrieves_once(real_index, monkeypatch):
    from retrieval.index import Index

    at = _app(real_index, monkeypatch)
    calls = []
    real = Index.search
    monkeypatch.setattr(Index, "search", lambda self, *a, **kw: calls.append(kw.get("k")) or real(self, *a, **kw))
    at.text_input(key="question").input(NINE_FIVE).run()
    assert calls == [20]  # answer and the 10 passages from one search (a which-regions answer reads 20)
    at.toggle(key="simplified").set_value(True).run()
    assert calls == [20]  # redrawing the same question does not search again


def test_the_figures_tab_honours_the_sidebar_filters(real_index, monkeypatch):
    at = _app(real_index, monkeypatch)
    at.session_state["tab"] = "Figures"  # only the open tab runs
    at.run()
    everything = at.tabs[1].dataframe[0].value
    doc = "004_04f38ca700b2c47f.txt"
    at.multiselect(key="docs").select(doc).run()
    mine = at.tabs[1].dataframe[0].value
    assert 0 < len(mine) < len(everything) and set(mine["source"]) == {doc}
    at.selectbox(key="province").select("四川省").run()
    at.selectbox(key="county").select("岳池县").run()
    narrowed = at.tabs[1].dataframe[0].value
    assert 0 < len(narrowed) < len(mine) and set(narrowed["region"]) == {"岳池县"}
    titles = " ".join(json.dumps(spec, ensure_ascii=False) for spec, _ in _charts(at))
    assert "岳池县: stated figures by document date and period" in titles


def test_a_batch_file_gives_one_table(real_index, monkeypatch, downloads):
    at = _app(real_index, monkeypatch)
    at.session_state["tab"] = "Batch"
    at.run()
    at.file_uploader(key="batch_file").upload("q.txt", f"{NINE_FIVE}\n绵阳市如何发展低空经济\n".encode(), "text/plain")
    at.run()
    at.button(key="batch_run").click().run()
    assert not at.exception
    rows = list(csv.DictReader(io.StringIO(downloads["policyqa-answers.csv"].decode("utf-8-sig"))))
    assert [r["region"] for r in rows if r["question"] == NINE_FIVE] == ["广安区", "岳池县"]
    assert {r["question"] for r in rows} == {NINE_FIVE, "绵阳市如何发展低空经济"}
