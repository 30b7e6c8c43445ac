"""Every failure a user can cause or meet is one line naming what to do, never a traceback.

The paths, one test each: a reader whose library does not import, a parser error inside a
reader, an extra that is installed but fails on import, a Milvus time-out while asking, a quote
the index holds that no longer matches its document, and an error nobody planned for. A bad file
is skipped with its reason while the rest of the build goes on.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys

import pytest
from conftest import SEEDS, FakeEncoder

from retrieval.errors import MissingExtra, StaleQuote, UserError, require, user_message
from retrieval.reading import UnreadableFile, read_bytes
from retrieval.settings import Settings

PAGE = ("<html><head><title>工业经济</title></head><body><article><h1>工业经济</h1>"
        "<p>全市规上工业增加值增长9.5%，工业投资增长12%，新培育规上工业企业36家。</p>" * 3
        + "</article></body></html>").encode()


@pytest.fixture
def cli(run_cli):
    """`policyqa ARGS` in this process: (exit status, stdout, stderr)."""
    return run_cli


def one_line(err: str) -> str:
    """The whole of stderr is one line starting `policyqa:` and holds no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("policyqa: ")
    return lines[0]


def small_corpus(root) -> None:
    root.mkdir()
    shutil.copy(SEEDS / sorted(p.name for p in SEEDS.glob("*.txt"))[0], root / "seed.txt")
    (root / "page.html").write_bytes(PAGE)


def test_a_reader_that_does_not_import_skips_its_files_and_the_build_goes_on(tmp_path, monkeypatch):
    from retrieval.index import build_index

    monkeypatch.setitem(sys.modules, "retrieval.reading.html", None)  # `import` of it raises ImportError
    with pytest.raises(UnreadableFile, match=r"html reader does not import.*reinstall"):
        read_bytes(PAGE, "page.html", "page.html")
    small_corpus(tmp_path / "corpus")
    report = build_index(Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"),
                         encoder=FakeEncoder(), progress=False)
    assert [s.reason.split(" (")[0] for s in report.skipped] == ["the html reader does not import"]
    assert report.documents == 1 and report.chunks > 0


def test_a_parser_error_skips_the_file_with_its_reason(tmp_path, monkeypatch):
    import trafilatura
    from lxml import etree

    from retrieval.index import build_index

    def broken(*args, **kwargs):
        raise etree.ParserError("Document is empty")

    monkeypatch.setattr(trafilatura, "extract", broken)
    small_corpus(tmp_path / "corpus")
    report = build_index(Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"),
                         encoder=FakeEncoder(), progress=False)
    (skipped,) = report.skipped
    assert skipped.path.endswith("page.html")
    assert skipped.reason == "could not parse this html file (ParserError: Document is empty)"
    assert report.documents == 1


def test_a_malformed_pdf_and_docx_are_skipped_not_raised():
    for name, data in (("bad.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer garbage"),
                       ("bad.docx", b"PK\x03\x04" + b"\x00" * 40 + b"word/document.xml" + b"\x00" * 40)):
        with pytest.raises(UnreadableFile) as exc:
            read_bytes(data, name, name)
        assert "\n" not in str(exc.value)


def test_an_extra_that_is_installed_but_fails_on_import_is_one_line(monkeypatch, cli):
    monkeypatch.setitem(sys.modules, "ranx", None)
    with pytest.raises(MissingExtra, match=r"pip install 'policyqa\[eval\]'"):
        require(["ranx"], "eval", "`policyqa eval`")
    rc, _out, err = cli("eval", "--no-report")
    assert rc == 1
    assert "policyqa[eval]" in one_line(err)


def test_an_extra_whose_import_raises_something_else_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "broken_extra.py").write_text("raise RuntimeError('numpy.core.multiarray failed to import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtra) as exc:
        require(["broken_extra"], "app", "`policyqa app`")
    assert "numpy.core.multiarray failed to import" in str(exc.value)
    assert "policyqa[app]" in str(exc.value) and "\n" not in str(exc.value)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    from retrieval.index import build_index

    base = tmp_path_factory.mktemp("small")
    small_corpus(base / "corpus")
    settings = Settings(corpus=base / "corpus", index=base / "index")
    build_index(settings, encoder=FakeEncoder(), progress=False)
    return settings


def _open_with(settings, monkeypatch):
    from retrieval import cli as cli_module
    from retrieval.index import open_index

    index = open_index(settings.index, settings, encoder=FakeEncoder())
    monkeypatch.setattr(cli_module, "_open", lambda args: index)
    return index


def test_a_milvus_time_out_while_asking_is_one_line(small_index, monkeypatch, cli):
    exceptions = pytest.importorskip("pymilvus.exceptions")
    index = _open_with(small_index, monkeypatch)

    def timed_out(*args, **kwargs):
        raise exceptions.MilvusException(code=1, message="DEADLINE_EXCEEDED: Deadline Exceeded")

    monkeypatch.setattr(index, "search", timed_out)
    rc, _out, err = cli("ask", "哪些地区提出了9.5%的增长目标")
    assert rc == 1
    assert "did not answer" in one_line(err) and "check that Milvus is running" in err
    monkeypatch.setattr(index, "search", lambda *a, **k: (_ for _ in ()).throw(TimeoutError("timed out")))
    rc, _out, err = cli("search", "工业")
    assert rc == 1 and "did not answer" in one_line(err)


def test_a_quote_that_no_longer_matches_its_source_names_the_rebuild(small_index, tmp_path, monkeypatch, cli):
    from retrieval.answer.extractive import answer_question
    from retrieval.index import open_index

    copy = tmp_path / "index"
    shutil.copytree(small_index.index, copy)
    settings = small_index.with_(index=copy)
    with sqlite3.connect(copy / "store.sqlite") as db:  # the document's text changed behind the index
        db.execute("UPDATE documents SET text = '〇' || text")  # every offset moves by one
    index = open_index(copy, settings, encoder=FakeEncoder())
    with pytest.raises(StaleQuote, match="policyqa build --full"):
        answer_question(index, "规上工业增加值增长多少")
    from retrieval import cli as cli_module

    monkeypatch.setattr(cli_module, "_open", lambda args: index)
    rc, _out, err = cli("ask", "规上工业增加值增长多少")
    assert rc == 1 and "policyqa build --full" in one_line(err)


def test_an_unplanned_error_is_one_line_and_its_traceback_only_with_verbose(small_index, monkeypatch, cli, caplog):
    index = _open_with(small_index, monkeypatch)
    monkeypatch.setattr(index, "search", lambda *a, **k: {}["no such key"])
    rc, _out, err = cli("search", "工业")
    assert rc == 1
    assert "unexpected error (KeyError" in one_line(err) and "-v" in err
    assert not any(r.exc_info for r in caplog.records)
    rc, _out, err = cli("-v", "search", "工业")
    assert rc == 1 and any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)  # asked for


@pytest.mark.parametrize(("exc", "says"), [
    (UserError("unknown region 'x': name a province"), "unknown region 'x': name a province"),
    (PermissionError(13, "Permission denied", "index/CURRENT"), "permission denied"),
    (MemoryError(), "out of memory"),
    (ImportError("No module named 'faiss'", name="faiss"), "faiss does not import"),
    (ValueError("bad\nvalue"), "unexpected error (ValueError: bad value)"),
])
def test_user_message_is_one_line_for_every_kind(exc, says):
    line = user_message(exc)
    assert says in line
    assert "\n" not in line


# -- the same paths in the page (AppTest on the fake-encoder index: no model)
APP = str(SEEDS.parent / "app.py")


@pytest.fixture
def page(fake_copy, monkeypatch):
    """The app over a private copy of the fake-encoder index: (run, settings)."""
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")  # on loopback the page may change the index
    monkeypatch.delenv("POLICYQA_ADMIN_TOKEN", raising=False)
    monkeypatch.setattr("retrieval.index.Embedder", lambda *a, **k: FakeEncoder())
    monkeypatch.setattr("retrieval.build.Embedder", lambda *a, **k: FakeEncoder())
    monkeypatch.setenv("POLICYQA_INDEX", str(fake_copy.index))
    monkeypatch.setenv("POLICYQA_CORPUS", str(fake_copy.corpus))

    def run(params: dict | None = None):
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params.update(params or {})
        at.run()
        assert not at.exception, [e.value for e in at.exception]  # never a traceback on the page
        return at

    yield run
    config.set_option("server.address", before)


def errors_of(at) -> list[str]:
    """The page's error lines, their Markdown escapes removed."""
    import re

    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def test_a_milvus_time_out_in_the_ask_tab_is_one_line_on_the_page(page, monkeypatch):
    exceptions = pytest.importorskip("pymilvus.exceptions")

    def timed_out(*args, **kwargs):
        raise exceptions.MilvusException(code=1, message="DEADLINE_EXCEEDED: Deadline Exceeded")

    monkeypatch.setattr("retrieval.answer.extractive.answer_question", timed_out)
    at = page({"q": "哪些地区提出了9.5%的增长目标"})
    (line,) = errors_of(at)
    assert "did not answer" in line and "\n" not in line


def test_a_stale_quote_in_the_ask_tab_names_the_rebuild(page, fake_copy):
    with sqlite3.connect(fake_copy.index / "store.sqlite") as db:
        db.execute("UPDATE documents SET text = '〇' || text")  # every offset moves by one
    at = page({"q": "哪些地区提出了9.5%的增长目标"})
    assert any("policyqa build --full" in e for e in errors_of(at)), errors_of(at)


def test_a_rebuild_that_fails_unexpectedly_is_one_line_and_the_page_goes_on(page, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    at = page()
    monkeypatch.setattr("retrieval.index.build_index", broken)
    at.session_state["tab"] = "Index"
    at.run()
    at.button(key="rebuild").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (line,) = errors_of(at)
    assert "No space left on device" in line and "\n" not in line
    at.run()  # the page goes on: the next run draws the index tab and its documents
    assert not at.exception and not errors_of(at) and len(at.dataframe) >= 1
