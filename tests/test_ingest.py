"""Adding and removing documents: bad files are refused with a reason, good ones reach the index."""

import sys
from pathlib import Path

import pytest

from retrieval.cli import main
from retrieval.errors import UserError
from retrieval.index import build_index, open_index
from retrieval.ingest import remove, safe_name, save

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def test_bad_uploads_get_one_reason_each_and_nothing_is_saved(fake_index_copy):
    from eval.formats import render_scanned_pdf

    s = fake_index_copy.settings
    results = save([
        ("notes.exe", b"MZ\x90\x00"),
        ("empty.txt", b""),
        ("scan.pdf", render_scanned_pdf()),
        ("fake.pdf", "这不是PDF".encode()),
        ("binary.txt", bytes(range(256)) * 8),
    ], s)
    reasons = {r.name: r.reason for r in results}
    assert not any(r.ok for r in results)
    assert reasons["notes.exe"].startswith("unsupported type .exe")
    assert reasons["empty.txt"] == "empty file"
    assert reasons["scan.pdf"] == "scanned PDF: no text layer"
    assert "not a PDF" in reasons["fake.pdf"]
    assert "binary" in reasons["binary.txt"] or reasons["binary.txt"].startswith("not text in UTF-8")
    assert not (s.corpus / "uploads").exists()


def test_added_files_are_indexed_and_removed_ones_leave(fake_index_copy, fake_encoder):
    s = fake_index_copy.settings
    text = "绵阳市新签约先进制造业项目12个，总投资达85亿元。\n\n项目将于年底前全部开工。".encode()
    first = save([("新项目.txt", text)], s)
    again = save([("新项目.txt", text), ("../../escape.txt", text)], s)
    assert first[0].ok and again[0].path == first[0].path  # the same file twice is one document
    assert again[1].ok and Path(again[1].path).parent == s.corpus / "uploads"
    report = build_index(s, encoder=fake_encoder, progress=False)
    assert report.added == 2
    idx = open_index(s.index, s, encoder=fake_encoder)
    ids = {d.doc_id for d in idx.store.list_documents()}
    assert {"uploads/新项目.txt", "uploads/escape.txt"} <= ids
    remove(["uploads/escape.txt"], s)
    assert build_index(s, encoder=fake_encoder, progress=False).removed == 1
    with pytest.raises(UserError, match="no document"):
        remove(["../outside.txt"], s)


def test_safe_names_keep_chinese_and_drop_folders():
    assert safe_name("../../a/b/政策文件.pdf") == "政策文件.pdf"
    assert safe_name(".hidden\x07.txt") == "hidden_.txt"
    assert safe_name("") == "document"


def test_policyqa_add_refuses_and_adds(fake_index_copy, tmp_path, monkeypatch, capsys, fake_encoder):
    monkeypatch.setattr("retrieval.build.Embedder", lambda *a, **k: fake_encoder)
    s = fake_index_copy.settings
    good = tmp_path / "good.md"
    good.write_text("# 标题\n\n福建省工业投资增长8%。", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"")
    rc = main(["add", "--quiet", "--corpus", str(s.corpus), "--index", str(s.index), str(good), str(bad)])
    out = capsys.readouterr()
    assert rc == 1
    assert "bad.txt" in out.err and "empty file" in out.err
    assert "1 added" in out.out


def test_a_pdf_keeps_its_page_as_the_citation_locator(tmp_path, fake_encoder):
    from eval.formats import load_articles, render_pdf
    from retrieval.settings import Settings

    _doc, article = load_articles(ROOT / "corpus")[4]
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "notice.pdf").write_bytes(render_pdf(article))
    s = Settings(corpus=corpus, index=tmp_path / "i")
    build_index(s, encoder=fake_encoder, progress=False)
    idx = open_index(s.index, s, encoder=fake_encoder)
    chunks = idx.store.chunks_of(["notice.pdf"])
    pages = [c.page for c in chunks]
    assert pages[0] == 1 and pages == sorted(pages) and pages[-1] > 1
    hit = idx.search("规上工业增加值增长9.5%", k=1)[0]
    assert hit.to_json()["page"] == hit.chunk.page >= 1
    assert idx.documents["notice.pdf"]["format"] == "pdf"
