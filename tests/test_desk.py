"""The analyst's desk without a browser: readable text, one retrieval, exports, batches, chart and map rows.

All on the seed corpus with the fake encoder (no model).
"""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest

from retrieval.answer.batch import answer_batch, batch_rows, read_questions
from retrieval.answer.chart_data import (
    across_regions,
    answer_figures,
    chartable,
    fact_rows,
    over_time,
    subject_key,
)
from retrieval.answer.china_map import map_chart
from retrieval.answer.export import (
    ANSWER_COLUMNS,
    answer_csv,
    answer_json,
    answer_json_text,
    answer_markdown,
    passages_csv,
)
from retrieval.answer.extractive import answer_question, facts_for
from retrieval.errors import UserError
from retrieval.geo import locate, points, province_shapes
from retrieval.payload import answer_payload
from retrieval.render import display_text, highlight, readable
from retrieval.text.normalize import strip_notes

NINE_FIVE = "哪些地区提出了9.5%的增长目标?"
NOTED = "廣安區(qū)將緊扣“工業(yè)攻堅年”,堅(jiān)持創(chuàng)新,增速達9.5%。"


def test_readable_text_drops_pinyin_notes_and_keeps_the_script():
    assert readable(NOTED) == "廣安區將緊扣“工業攻堅年”,堅持創新,增速達9.5%。"
    assert readable(NOTED, original=True) == NOTED
    assert readable(NOTED, simplified=True) == "广安区将紧扣“工业攻坚年”,坚持创新,增速达9.5%。"
    nz = strip_notes(NOTED)
    assert all(NOTED[s] == c for c, s in zip(nz.text, nz.source, strict=True))  # every kept char maps home


@pytest.mark.parametrize("simplified", [False, True])
def test_highlights_stay_on_their_characters_without_the_notes(simplified):
    spans = [(NOTED.index("堅(jiān)持"), NOTED.index("創")), (NOTED.index("9.5%"), NOTED.index("9.5%") + 4)]
    shown, remap = display_text(NOTED, simplified)
    marked = highlight(shown, remap(spans))
    assert ("<mark>坚持</mark>" if simplified else "<mark>堅持</mark>") in marked
    assert "<mark>9.5%</mark>" in marked and "(" not in marked


def test_a_notes_only_span_maps_to_nothing():
    a = NOTED.index("(qū)")
    assert display_text(NOTED)[1]([(a, a + 4)]) == []


def test_the_answer_reads_its_hits_once_and_returns_k_passages(fake_index, monkeypatch):
    calls = []
    real = type(fake_index).search

    def counted(self, *a, **kw):
        calls.append(kw.get("k"))
        return real(self, *a, **kw)

    monkeypatch.setattr(type(fake_index), "search", counted)
    base = answer_question(fake_index, NINE_FIVE)
    assert len(calls) == 1
    calls.clear()
    deep = answer_question(fake_index, NINE_FIVE, k=30)
    assert calls == [30]  # one search serves the answer and the 30 passages
    assert deep.items == base.items and deep.answer == base.answer
    assert [h.chunk.chunk_id for h in deep.evidence[: len(base.evidence)]] == [h.chunk.chunk_id for h in base.evidence]
    assert len(deep.evidence) == 30
    assert len(answer_question(fake_index, NINE_FIVE, k=3).evidence) == 3


def test_an_english_question_without_a_place_searches_once(fake_index, monkeypatch):
    calls = []
    real = type(fake_index).search
    monkeypatch.setattr(type(fake_index), "search", lambda self, *a, **kw: calls.append(1) or real(self, *a, **kw))
    answer_question(fake_index, "Which regions set 9.5% targets?", k=10)
    assert len(calls) == 1


def test_exports_carry_items_quotes_and_sources(fake_index):
    ans = answer_question(fake_index, NINE_FIVE, k=5)
    assert {i.region for i in ans.items} == {"广安区", "岳池县"}
    assert answer_json(ans) == answer_payload(ans) == json.loads(answer_json_text(ans))
    rows = list(csv.DictReader(io.StringIO(answer_csv(ans))))
    assert [r["region"] for r in rows] == [i.region for i in ans.items]
    assert list(rows[0]) == list(ANSWER_COLUMNS)
    for r, i in zip(rows, ans.items, strict=True):
        assert r["value"] == "9.5%" and r["doc_id"] == i.doc_id
        assert r["quote"] == readable(i.quote) and "(" not in r["quote"]
        assert fake_index.documents[r["doc_id"]]["text"][int(r["start"]) : int(r["end"])] == i.quote
    assert next(csv.DictReader(io.StringIO(answer_csv(ans, original=True))))["quote"] == ans.items[0].quote
    md = answer_markdown(ans)
    assert md.startswith(f"# {NINE_FIVE}") and "| 广安区 | 一季度 | 9.5% |" in md
    assert readable(ans.items[1].quote) in md and "(qū)" not in md
    passages = list(csv.DictReader(io.StringIO(passages_csv(ans.evidence))))
    assert [p["chunk_id"] for p in passages] == [h.chunk.chunk_id for h in ans.evidence]


def test_markdown_export_keeps_corpus_markup_inert(fake_index):
    from dataclasses import replace

    ans = answer_question(fake_index, NINE_FIVE)
    item = replace(ans.items[0], title="<img src=x onerror=alert(1)>|![p](https://evil.example/p.png)")
    md = answer_markdown(replace(ans, items=(item,)))
    assert "<img" not in md and "&lt;img" in md and "\\|" in md


def test_questions_from_text_and_csv():
    assert read_questions("# mine\n\n哪些地区?\r\n广安区增速多少\n".encode()) == ["哪些地区?", "广安区增速多少"]
    assert read_questions("id,question\n1,哪些地区?\n2,\"A, B?\"\n", "q.csv") == ["哪些地区?", "A, B?"]
    assert read_questions("哪些地区?\n广安区增速多少\n", "q.csv") == ["哪些地区?", "广安区增速多少"]
    assert read_questions("问题\n广安区增速多少\n".encode("gb18030"), "q.csv") == ["广安区增速多少"]
    with pytest.raises(UserError, match="no questions"):
        read_questions("\n# only a comment\n")


def test_a_batch_answers_each_question_with_progress(fake_index):
    seen = []
    answers = answer_batch(fake_index, [NINE_FIVE, "绵阳市如何发展低空经济"], on_progress=lambda n, t, q: seen.append((n, t)))
    assert seen == [(1, 2), (2, 2)]
    rows = batch_rows(answers)
    assert [r["region"] for r in rows if r["question"] == NINE_FIVE] == ["广安区", "岳池县"]
    assert all(set(r) == set(ANSWER_COLUMNS) for r in rows)


def test_an_answer_chart_marks_the_asked_figure_and_places_its_regions(fake_index):
    figs = answer_figures(fake_index, answer_question(fake_index, NINE_FIVE))
    assert figs is not None and figs.unit == "%" and figs.threshold == 9.5
    assert [(r["region"], r["value"], r["listed"]) for r in figs.listed] == [("广安区", 9.5, True), ("岳池县", 9.5, True)]
    assert all(not r["listed"] and r["region"] not in {"广安区", "岳池县"} for r in figs.context)
    for r in figs.listed:  # Guang'an, Sichuan
        assert 106 < r["lon"] < 107.5 and 30 < r["lat"] < 31
        assert "9.5%" in r["quote"] and r["doc_id"]
    assert answer_figures(fake_index, answer_question(fake_index, "绵阳市如何发展低空经济")) is None


def test_figure_rows_over_time_and_across_regions(fake_index):
    everything = fact_rows(fake_index, facts_for(fake_index))
    rows = chartable(everything)
    assert len(everything) == len(facts_for(fake_index)) and 0 < len(rows) < len(everything)
    assert all(r["unit"] != "日期" for r in rows)
    region = rows[0]["region"]
    mine = over_time(rows, region)
    assert {r["region"] for r in mine} == {region} and [r["date"] for r in mine] == sorted(r["date"] for r in mine)
    pct = across_regions(rows, "规上工业增加值|%")
    assert {r["region"] for r in pct} >= {"广安区", "岳池县"}
    assert len({r["region"] for r in pct}) == len(pct)  # one statement a region
    assert subject_key("规上工业增加值增速") == subject_key("规上工业增加值") == "规上工业增加值"


def test_places_resolve_inside_their_province():
    assert locate("朝阳区", "吉林省").adcode.startswith("22")
    assert locate("朝阳区", "北京市").adcode.startswith("11")
    zone = locate("川渝高竹新区", "四川省", "广安市", "")
    assert zone is not None and zone.name == "广安市"
    assert locate("nowhere") is None


def _area(ring: list[list[float]]) -> float:
    """Signed shoelace area in lon/lat: negative when clockwise."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def test_the_province_map_has_every_province_level_region_by_its_cpca_name():
    features = province_shapes()["features"]
    names = [f["properties"]["name"] for f in features]
    assert len(names) == 34 and set(names) == {p.name for p in points() if p.level == 0}
    assert {"四川省", "北京市", "广西壮族自治区", "台湾省", "香港特别行政区", "澳门特别行政区"} <= set(names)
    for f in features:
        g = f["geometry"]
        polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        assert g["type"] in ("Polygon", "MultiPolygon") and polygons, f["properties"]
        for polygon in polygons:
            for i, ring in enumerate(polygon):
                assert len(ring) >= 4 and ring[0] == ring[-1]
                assert all(73 <= lon <= 136 and 3 <= lat <= 54 for lon, lat in ring), f["properties"]
                assert (_area(ring) < 0) == (i == 0)  # d3-geo: exterior clockwise, holes counter-clockwise


def test_a_province_fills_its_shape_and_a_county_is_a_point(fake_index):
    rows = chartable(fact_rows(fake_index, facts_for(fake_index)))
    province = next(r for r in rows if r["region"] == "四川省")
    county = next(r for r in rows if r["level"] == "county" and r["lon"] is not None)
    zone = dict(province, region="川渝高竹新区", city="广安市", lon=106.6, lat=30.5)  # inside Sichuan: a point
    spec = map_chart([province, county, zone], province["subject"], province["unit"])
    text = json.dumps(spec, ensure_ascii=False)
    assert "http" not in text and '"url"' not in text  # everything inline: no tiles, no fetch
    assert len(text.encode()) < 150_000  # the 34 outlines plus the rows
    layers = spec["layer"]
    assert len(layers[0]["data"]["values"]) == 34 and layers[0]["mark"]["type"] == "geoshape"
    filled = next(layer for layer in layers[1:] if layer["mark"]["type"] == "geoshape")
    [shape] = filled["data"]["values"]
    sichuan = next(f for f in province_shapes()["features"] if f["properties"]["name"] == "四川省")
    assert shape["region"] == "四川省" and shape["value"] == province["value"] and shape["quote"] == province["quote"]
    assert shape["geometry"] == sichuan["geometry"] and filled["encoding"]["color"]["field"] == "value"
    assert province["unit"] in filled["encoding"]["color"]["title"]  # the unit in the legend
    assert {t["field"] for t in filled["encoding"]["tooltip"]} >= {"region", "value", "quote", "title", "doc_id"}
    assert [r["region"] for r in spec["datasets"]["points"]] == [county["region"], "川渝高竹新区"]
    assert {r["region"] for r in spec["datasets"]["labels"]} == {"四川省", county["region"], "川渝高竹新区"}
    only_points = map_chart([county], county["subject"], county["unit"])
    assert [layer["mark"]["type"] for layer in only_points["layer"]] == ["geoshape", "circle", "text"]


def test_cli_ask_reads_a_file_and_writes_one_csv(fake_index, monkeypatch, tmp_path, capsys):
    from retrieval import cli

    monkeypatch.setattr(cli, "_open", lambda args: fake_index)
    questions = tmp_path / "q.txt"
    questions.write_text(f"{NINE_FIVE}\n绵阳市如何发展低空经济\n", encoding="utf-8")
    assert cli.main(["ask", "-f", str(questions), "--csv", "--mode", "bm25"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["region"] for r in rows if r["question"] == NINE_FIVE] == ["广安区", "岳池县"]
    assert {r["question"] for r in rows} == {NINE_FIVE, "绵阳市如何发展低空经济"}
    assert all("(qū)" not in r["quote"] for r in rows)


def test_cli_text_is_readable_unless_original(fake_index, monkeypatch, capsys):
    from retrieval import cli

    monkeypatch.setattr(cli, "_open", lambda args: fake_index)
    assert cli.main(["ask", NINE_FIVE]) == 0
    plain = capsys.readouterr().out
    assert "廣安區將緊扣" in plain and "(qū)" not in plain
    assert cli.main(["ask", "--original", NINE_FIVE]) == 0
    assert "廣安區(qū)將緊扣" in capsys.readouterr().out
    assert cli.main(["search", "--k", "3", "廣安區工業"]) == 0
    assert "(qū)" not in capsys.readouterr().out
    assert cli.main(["ask", "--json", "--k", "4", NINE_FIVE]) == 0
    assert len(json.loads(capsys.readouterr().out)["evidence"]) == 4


def test_cli_ask_without_a_question_is_a_usage_error(capsys):
    from retrieval import cli

    with pytest.raises(SystemExit) as stop:  # as argparse stops on a usage error
        cli.main(["ask"])
    assert stop.value.code == 2 and "no question" in capsys.readouterr().err
