"""End to end on the seeds with the real model: the user's question in three forms."""

from __future__ import annotations

import json
import shutil

import pytest


@pytest.mark.model
@pytest.mark.parametrize("query", ["哪些地区提出了9.5%的增长目标", "哪些地區提出了9.5%的增長目標", "Which regions set 9.5% targets?"])
def test_9_5_percent_paragraphs_in_top_5(real_index, query):
    hits = real_index.search(query, k=5, mode="hybrid")
    texts = [h.chunk.text for h in hits]
    assert any(t.startswith("廣安區(qū)將緊扣") for t in texts)
    assert any(t.startswith("2023年,岳池縣將聚焦") for t in texts)


@pytest.mark.model
def test_punctuation_only_query(real_index):
    assert real_index.search("？！。，", k=5) == []


@pytest.mark.model
def test_cli_search_json_one_line_per_query(real_index, capsys):
    from retrieval.cli import main

    rc = main(["search", "--index", str(real_index.folder), "--k", "3", "--json", "9.5%", "。。"])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"query", "mode", "took_ms", "hits"}
    assert first["hits"][0]["scores"].keys() == {"bm25", "dense"}
    assert "9.5%" in first["hits"][0]["text"]
    assert json.loads(lines[1])["hits"] == []


@pytest.mark.model
def test_cli_ask_json(real_index, capsys):
    from retrieval.cli import main

    assert main(["ask", "--index", str(real_index.folder), "--json", "Which regions set 9.5% targets?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [i["region"] for i in out["items"]] == ["广安区", "岳池县"]
    assert {"question", "kind", "answer", "items", "evidence"} <= set(out)


def test_cli_missing_index_is_one_line(tmp_path, capsys):
    from retrieval.cli import main

    assert main(["search", "--index", str(tmp_path / "none"), "x"]) == 1  # a user error (2 is for usage errors)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "policyqa build" in err


@pytest.mark.model
def test_an_index_from_another_model_build_is_refused(real_index, tmp_path):
    from retrieval.errors import UserError
    from retrieval.index import open_index

    copy = tmp_path / "index"
    shutil.copytree(real_index.folder, copy)
    path = next(copy.glob("gen-*")) / "manifest.json"
    man = json.loads(path.read_text(encoding="utf-8"))
    assert man["model"]["revision"]
    man["model"]["revision"] = "1-000000000000"
    path.write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(UserError, match="policyqa build"):
        open_index(copy)


@pytest.mark.model
def test_cli_ask_takes_the_search_filters(real_index, capsys):
    from retrieval.cli import main

    base = ["ask", "--index", str(real_index.folder), "--json"]
    assert main([*base, "--since", "2024-01-01", "哪些地区提出了9.5%的增长目标?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert not out["supported"] and out["items"] == []  # the seeds' one dated article is from 2023
    assert main([*base, "--until", "2099-12-31", "福建如何推动拟投产的重点工业项目尽快投产"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["supported"] and {i["date"] for i in out["items"]} == {"2023-08-11"}
    with pytest.raises(SystemExit) as bad:
        main([*base, "--since", "2023/08/01", "x"])
    assert bad.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.model
def test_cli_facts_take_the_document_filters(real_index, capsys):
    from retrieval.cli import main
    from retrieval.text.normalize import norm_text

    base = ["facts", "--index", str(real_index.folder), "--json"]
    assert main(base) == 0
    every = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    dated = {d.doc_id: d for d in real_index.store.list_documents() if d.date}
    assert main([*base, "--since", "2023-01-01"]) == 0
    recent = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert recent and {f["doc_id"] for f in recent} <= set(dated)
    assert len(recent) == sum(f["doc_id"] in dated for f in every) < len(every)
    outlet = next(iter(dated.values())).outlet
    assert main([*base, "--outlet", outlet, "--region", "福建"]) == 0
    both = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert both and all(f["province"] == "福建省" and f["doc_id"] in dated for f in both)
    simplified = norm_text(outlet)  # the seed's outlet is in Traditional script: 福建日報
    assert simplified != outlet and main([*base, "--outlet", simplified, "--region", "福建"]) == 0
    assert [json.loads(x) for x in capsys.readouterr().out.splitlines()] == both
    assert main([*base, "--until", "2000-01-01"]) == 0
    assert capsys.readouterr().out == ""
