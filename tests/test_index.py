import json

import pytest

from retrieval.errors import UserError
from retrieval.index import build_index, open_index
from retrieval.settings import Settings


def test_round_trip_keeps_chinese_text(fake_index, fake_encoder):
    again = open_index(fake_index.folder, fake_index.settings, encoder=fake_encoder)
    assert [c.text for c in again.chunks] == [c.text for c in fake_index.chunks]
    raw = (fake_index.folder / "chunks.jsonl").read_text(encoding="utf-8")
    assert "廣安區" in raw  # written as UTF-8, not \\u escapes
    man = json.loads((fake_index.folder / "manifest.json").read_text(encoding="utf-8"))
    assert man["model"] == {"name": "fake-bigram", "dim": 64}
    assert man["counts"]["chunks"] == len(fake_index.chunks)
    assert len(man["corpus_hash"]) == 64


def test_punctuation_only_query_gives_no_hits(fake_index):
    assert fake_index.search("。，！？", k=5) == []
    assert fake_index.search("   ", k=5) == []


def test_modes_and_hit_fields(fake_index):
    for mode in ("bm25", "dense", "hybrid"):
        hits = fake_index.search("规上工业增加值增长9.5%", k=5, mode=mode)
        assert 0 < len(hits) <= 5
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(hits[i].score >= hits[i + 1].score for i in range(len(hits) - 1))
    hit = fake_index.search("9.5%", k=1, mode="bm25")[0]
    assert "9.5%" in hit.chunk.text
    assert set(hit.to_json()) >= {"rank", "chunk_id", "doc_id", "title", "section", "text", "score", "scores"}


def test_missing_index_names_the_build_command(tmp_path):
    with pytest.raises(UserError, match="policyqa build"):
        open_index(tmp_path / "nowhere")


def test_model_mismatch_is_refused(fake_index):
    with pytest.raises(UserError, match="policyqa build"):  # the bundled model asked for, a fake built it
        open_index(fake_index.folder, fake_index.settings.with_(model="multilingual-e5-small"))
    with pytest.raises(UserError, match="policyqa build"):
        open_index(fake_index.folder, fake_index.settings.with_(model="BAAI/bge-small-zh-v1.5"))


def test_schema_mismatch_is_refused(fake_index, fake_encoder):
    path = fake_index.folder / "manifest.json"
    man = json.loads(path.read_text(encoding="utf-8"))
    man["schema_version"] = 999
    path.write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(UserError, match="policyqa build"):
        open_index(fake_index.folder, fake_index.settings, encoder=fake_encoder)


def test_failed_build_keeps_the_previous_index(fake_index, fake_encoder, seed_corpus):
    class Broken(type(fake_encoder)):
        def encode_passages(self, texts, progress=False):
            raise RuntimeError("disk full")

    before = (fake_index.folder / "chunks.jsonl").read_text(encoding="utf-8")
    (seed_corpus / "new.txt").write_text("新增的一段文字。", encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_index(fake_index.settings, encoder=Broken(), progress=False)
    assert (fake_index.folder / "chunks.jsonl").read_text(encoding="utf-8") == before
    assert not list(fake_index.folder.parent.glob(".index.tmp-*"))


def test_empty_corpus_is_a_clear_error_and_keeps_the_index(fake_index, fake_encoder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings(corpus=empty, index=fake_index.folder)
    with pytest.raises(UserError, match="no readable text"):
        build_index(settings, encoder=fake_encoder, progress=False)
    assert (fake_index.folder / "manifest.json").exists()


def test_other_encodings_and_unreadable_files(tmp_path, fake_encoder):
    corpus = tmp_path / "c"
    (corpus / "deep" / "er").mkdir(parents=True)
    text = "廣安區力爭一季度規上工業增加值增速達9.5%。"
    simp = "广安区力争一季度规上工业增加值增速达9.5%。"
    (corpus / "utf8bom.txt").write_bytes("\ufeff".encode() + text.encode("utf-8"))
    (corpus / "gbk.txt").write_bytes((simp + "岳池县力争全年增长百分之九点五，各县区工业经济稳步向好。" * 3).encode("gb18030"))
    (corpus / "deep" / "er" / "big5.md").write_bytes((text + "各縣區工業經濟穩步向好，岳池縣力爭全年增長。" * 3).encode("big5"))
    (corpus / "utf16.txt").write_bytes(text.encode("utf-16"))
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "truncated.pdf").write_bytes(b"%PDF")  # PDFs are read now: this one is skipped as corrupt
    settings = Settings(corpus=corpus, index=tmp_path / "idx")
    report = build_index(settings, encoder=fake_encoder, progress=False)
    assert report.files == 7
    assert sorted(s.path.rsplit("/", 1)[-1] for s in report.skipped) == ["binary.txt", "empty.txt", "truncated.pdf"]
    assert next(s.reason for s in report.skipped if s.path.endswith(".pdf")).startswith("corrupt PDF")
    idx = open_index(settings.index, settings, encoder=fake_encoder)
    docs = {c.doc_id for c in idx.chunks}
    assert docs == {"utf8bom.txt", "gbk.txt", "deep/er/big5.md", "utf16.txt"}
    assert all("规上工业增加值" in c.norm for c in idx.chunks)
