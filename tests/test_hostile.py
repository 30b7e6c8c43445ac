"""A corpus written to break things, built with the fake encoder and used through every door:
the Python API, the `policyqa` command (exit codes, terminal output, JSON) and the app."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from conftest import FakeEncoder
from hostile_corpus import IMAGE_DIR, IS_ROOT, SCRIPT_NAME, make_hostile_corpus, unlock

from retrieval.settings import Settings

APP = str(Path(__file__).resolve().parent.parent / "app.py")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
BIG = 200_000  # the size limit used for the hostile build (too_big.txt is over it)


def _strict(line: str):
    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")

    return json.loads(line, parse_constant=refuse)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(settings, expected outcomes, build report, index) of the hostile corpus."""
    from retrieval.index import build_index, open_index

    base = tmp_path_factory.mktemp("hostile")
    corpus = base / "corpus"
    expected = make_hostile_corpus(corpus, big_bytes=BIG + 1)
    mp = pytest.MonkeyPatch()
    mp.setenv("POLICYQA_MAX_FILE_BYTES", str(BIG))
    settings = Settings(corpus=corpus, index=base / "index")
    report = build_index(settings, encoder=FakeEncoder(), progress=False)
    index = open_index(settings.index, settings, encoder=FakeEncoder())
    yield settings, expected, report, index
    mp.undo()
    unlock(corpus)


@pytest.fixture
def cli(hostile, monkeypatch, run_cli):
    """Run `policyqa` against the hostile index (fake encoder); returns (rc, stdout, stderr)."""
    from retrieval import cli as cli_module
    from retrieval.index import open_index

    settings = hostile[0]
    monkeypatch.setattr(cli_module, "_open", lambda args: open_index(settings.index, settings, encoder=FakeEncoder()))
    return run_cli


def test_every_bad_entry_is_named_and_every_good_one_indexed(hostile):

    settings, expected, report, index = hostile
    named = {Path(s.path).relative_to(settings.corpus).as_posix(): s.reason
             for s in report.skipped}
    for rel, outcome in expected.items():
        if outcome == "skipped":
            assert rel in named, f"{rel!r} was skipped without being named"
            assert named[rel] and "\n" not in named[rel]
        elif outcome == "indexed":
            assert rel in index.documents, f"{rel!r} was not indexed ({named.get(rel)})"
        else:
            assert (rel in index.documents) != (rel in named)
    assert "Settings.max_file_bytes" in named["too_big.txt"]
    assert "binary" in named["nul.txt"]
    assert "loop" in named["loop_a.txt"] and "dangling" in named["dangling.txt"]


@pytest.mark.skipif(IS_ROOT, reason="running as root, which reads a chmod 000 file or folder anyway")
def test_unreadable_file_and_folder_are_named(hostile):

    _settings, _, report, _ = hostile
    named = {Path(s.path).name: s.reason for s in report.skipped}
    assert "ermission" in named["unreadable.txt"]
    assert "folder not readable" in named["locked"]


def test_the_long_paragraph_is_chunked_within_budget(hostile):
    from retrieval.text.normalize import norm_text

    _, _, _, index = hostile
    chunks = index.store.chunks_of(["long_paragraph.txt", "long_sentences.txt"])
    assert len(chunks) > 100
    assert max(len(norm_text(c.text)) for c in chunks) <= index.settings.max_chunk_chars
    for c in chunks:
        assert index.documents[c.doc_id]["text"][c.start : c.end] == c.text


def test_no_fact_is_infinite_and_no_number_is_a_tail(hostile):
    _, _, _, index = hostile
    assert all(math.isfinite(f.value) for f in index.facts)
    huge = [f for f in index.facts if f.doc_id == "huge_number.txt"]
    assert [f.raw for f in huge] == ["9.5%"]
    assert not [f for f in index.facts if f.doc_id == "huge_cn_number.txt"]


def test_python_api_survives_hostile_queries(hostile):
    from retrieval.answer.extractive import answer_question

    _, _, _, index = hostile
    for q in ("\ud800增长\udfff", "9" * 310 + "亿元", "\x1b[31m增长", "<script>alert(1)</script>", "", "。。。"):
        index.search(q, k=5)
        ans = answer_question(index, q)
        json.dumps([i.to_json() for i in ans.items], allow_nan=False)


def test_cli_search_prints_no_control_characters(cli):
    rc, out, err = cli("search", "--k", "30", "--mode", "bm25", "红色 结束 增长 标题")
    assert rc == 0, err
    assert "红色" in out
    assert not RAW_CONTROL.search(out.replace("\n", "").replace("\t", "")), repr(out)


def test_cli_json_is_strict_with_one_quote_shape(cli):
    shapes = set()
    for argv in (["search", "--json", "增长", "9.5%"], ["ask", "--json", "哪些地区提出了9.5%的增长目标?"],
                 ["facts", "--json"]):
        rc, out, err = cli(*argv)
        assert rc == 0, err
        assert not RAW_CONTROL.search(out.replace("\n", ""))
        for line in out.splitlines():
            row = _strict(line)
            quotes = [h["quote"] for h in row.get("hits", [])] + [i["quote"] for i in row.get("items", [])]
            quotes += [row["quote"]] if "quote" in row else []
            shapes.update(tuple(sorted(q)) for q in quotes)
    assert shapes == {("chunk_id", "doc_id", "end", "region", "start", "text")}


def test_cli_facts_text_and_csv(cli):
    for fmt in ([], ["--csv"]):
        rc, out, err = cli("facts", *fmt)
        assert rc == 0, err
        assert not RAW_CONTROL.search(out.replace("\n", "").replace("\t", "").replace("\r", ""))


def test_cli_undecodable_and_surrogate_arguments(cli):
    rc, out, err = cli("search", "\udcff\udcfe增长")  # how Python hands over invalid UTF-8 argv bytes
    assert rc == 0, err
    assert "\ufffd" in out
    rc, out, err = cli("ask", "--json", "\ud800增长")  # a lone surrogate through the API
    assert rc == 0, err
    _strict(out.splitlines()[0])


@pytest.mark.parametrize(("argv", "rc", "needle"), [
    (["facts", "--region", "不存在的地方"], 1, "unknown region"),
    (["facts", "--unit", "光年"], 1, "unknown unit"),
    (["search", "--k", "0", "x"], 2, "positive"),
    (["search", "--k", "-3", "x"], 2, "positive"),
    (["search", "--mode", "magic", "x"], 2, "invalid choice"),
])
def test_cli_exit_codes(cli, argv, rc, needle):
    code, _, err = cli(*argv)
    assert code == rc
    assert needle in err
    if rc == 1:
        assert err.count("\n") == 1 and err.startswith("policyqa: ")


def test_cli_missing_index_is_one_line(tmp_path, capsys):
    from retrieval.cli import main

    assert main(["search", "--index", str(tmp_path / "nothing"), "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "policyqa build" in err


def test_cli_version_and_interrupt(cli, monkeypatch):
    rc, out, _ = cli("--version")
    assert rc == 0 and out.startswith("policyqa ")
    from retrieval import cli as cli_module

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "cmd_facts", interrupted)
    rc, out, err = cli("facts")
    assert rc == 130 and err == "policyqa: interrupted\n"


def test_every_argument_has_help():
    from retrieval.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in [("policyqa", parser), *subs.items()]:
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_cli_build_names_skipped_files(hostile, monkeypatch, capsys):
    from retrieval import cli as cli_module

    settings, expected, _, _ = hostile
    monkeypatch.setattr("retrieval.index.Embedder", lambda *a, **k: FakeEncoder())
    monkeypatch.setattr("retrieval.build.Embedder", lambda *a, **k: FakeEncoder())
    monkeypatch.setenv("POLICYQA_MAX_FILE_BYTES", str(BIG))
    out_index = settings.index.parent / "cli-index"
    assert cli_module.main(["build", "--corpus", str(settings.corpus), "--index", str(out_index), "--json"]) == 0
    report = _strict(capsys.readouterr().out)
    named = {Path(s["path"]).relative_to(settings.corpus).as_posix() for s in report["skipped"]}
    assert {rel for rel, o in expected.items() if o == "skipped"} <= named
    assert cli_module.main(["build", "--corpus", str(settings.corpus), "--index", str(out_index)]) == 0
    out = capsys.readouterr().out
    assert "dangling.txt" in out and not RAW_CONTROL.search(out.replace("\n", ""))


# --- the app --------------------------------------------------------------------------------

MARKDOWN_ELEMENTS = ("markdown", "caption", "warning", "info", "error", "success")


def _unsafe_markdown(at) -> list[str]:
    """Markdown bodies on the page that render an image, a link or raw HTML."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    bad = []
    for kind in MARKDOWN_ELEMENTS:
        for el in at.get(kind):
            tokens = md.parse(el.proto.body if hasattr(el.proto, "body") else el.value)
            flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
            if any(t.type in ("image", "link_open", "html_inline", "html_block") for t in flat):
                bad.append(el.value)
    return bad


@pytest.fixture
def app(hostile, monkeypatch):
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    settings = hostile[0]
    monkeypatch.setattr("retrieval.index.Embedder", lambda *a, **k: FakeEncoder())
    monkeypatch.setattr("retrieval.build.Embedder", lambda *a, **k: FakeEncoder())
    monkeypatch.setenv("POLICYQA_INDEX", str(settings.index))
    monkeypatch.setenv("POLICYQA_CORPUS", str(settings.corpus))
    monkeypatch.setenv("POLICYQA_MAX_FILE_BYTES", str(BIG))
    monkeypatch.delenv("POLICYQA_ADMIN_TOKEN", raising=False)
    before = config.get_option("server.address")

    def start(address: str | None, tab: str = "Index"):
        """The page on ``address`` with ``tab`` open (only the open tab runs)."""
        config.set_option("server.address", address)
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["tab"] = tab
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield start
    config.set_option("server.address", before)


def test_app_escapes_hostile_names_and_text(app):
    at = app("127.0.0.1")
    warnings = " ".join(w.value for w in at.warning)
    assert "host\\:8766" in warnings and "script" in warnings  # the files are named ...
    assert not _unsafe_markdown(at)  # ... as text
    at.session_state["tab"] = "Ask"
    at.run()
    at.text_input(key="question").input("增长 标题 <script>alert(1)</script>").run()
    assert not at.exception
    html = "\n".join(e.proto.body for e in at.get("html"))
    assert "<script" not in html and "<img" not in html
    assert not _unsafe_markdown(at)


def test_app_rebuild_on_loopback_names_everything_escaped(app):
    at = app("127.0.0.1")
    assert not at.button(key="rebuild").disabled
    at.button(key="rebuild").click().run()
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "dangling\\.txt" in text and "loop\\_a\\.txt" in text
    assert IMAGE_DIR not in text and SCRIPT_NAME not in text  # escaped, not raw
    assert not _unsafe_markdown(at)


def test_app_on_another_address_needs_the_token(app, monkeypatch):
    at = app("0.0.0.0")
    assert at.button(key="rebuild").disabled  # no token configured: nobody may
    monkeypatch.setenv("POLICYQA_ADMIN_TOKEN", "s3cret-token")
    at = app("0.0.0.0")
    assert at.button(key="rebuild").disabled
    at.text_input(key="token").input("wrong").run()
    assert at.button(key="rebuild").disabled
    at.text_input(key="token").input("s3cret-token").run()
    assert not at.button(key="rebuild").disabled
    at = app(None)  # streamlit's default: every interface
    assert at.button(key="rebuild").disabled
