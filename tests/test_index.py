"""The local store: generations, incremental builds, filters, crash safety and damage detection."""

import json
import os
import signal

import numpy as np
import pytest

from retrieval.errors import UserError
from retrieval.index import build_index, open_index
from retrieval.settings import Settings
from retrieval.store import Filter
from retrieval.store.local import LocalWriter, gen_dir, read_current


class CountingEncoder:
    """Wraps the fake encoder and counts the passages it embeds."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.passages = inner, inner.name, 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_phrases(self, texts):
        return self.inner.encode_phrases(texts)

    def encode_passages(self, texts, progress=False):
        self.passages += len(texts)
        return self.inner.encode_passages(texts)

    def describe(self) -> dict:
        return self.inner.describe()


def all_chunks(idx):
    return idx.store.chunks_of([d.doc_id for d in idx.store.list_documents()])


def test_round_trip_keeps_chinese_text(fake_index, fake_encoder):
    folder = fake_index.settings.index
    again = open_index(folder, fake_index.settings, encoder=fake_encoder)
    assert [c.text for c in all_chunks(again)] == [c.text for c in all_chunks(fake_index)]
    assert any("廣安區" in c.text for c in all_chunks(again))
    gen = read_current(folder)
    man = json.loads((gen_dir(folder, gen) / "manifest.json").read_text(encoding="utf-8"))
    assert man["model"] == {"name": "fake-bigram", "dim": 64}
    assert man["counts"]["chunks"] == len(all_chunks(fake_index)) == 71
    assert set(man["files"]) >= {"dense.faiss", "bm25_tf.npy", "deleted.npy", "bm25_df.npy"}  # one segment, its own
    assert all(len(f["sha256"]) == 64 for f in man["files"].values())


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


def test_filters_are_data_not_callables(fake_index):
    with pytest.raises(TypeError):
        fake_index.search("工业", k=5, where=lambda c: True)


def test_filters_return_the_same_chunks_as_filtering_afterwards(fake_index):
    q = "工业增长目标"
    every = fake_index.search(q, k=500, mode="bm25")
    for flt, keep in (
        (Filter(regions=("岳池县",)), lambda c: "岳池县" in (c.region, c.county)),
        (Filter(regions=("四川省",)), lambda c: c.province == "四川省"),
        (Filter(doc_ids=("002_376b5786823bbcad.txt",)), lambda c: c.doc_id == "002_376b5786823bbcad.txt"),
    ):
        got = fake_index.search(q, k=500, mode="bm25", where=flt)
        assert got, flt
        assert [h.chunk.chunk_id for h in got] == [h.chunk.chunk_id for h in every if keep(h.chunk)]
        dense = fake_index.search(q, k=500, mode="dense", where=flt)
        assert dense and all(keep(h.chunk) for h in dense)
        assert {h.chunk.chunk_id for h in dense} == {c.chunk_id for c in all_chunks(fake_index) if keep(c)}


def test_date_filter_uses_document_dates(fake_index):
    dated = [d for d in fake_index.store.list_documents() if d.date]
    assert dated
    d = dated[0]
    hits = fake_index.search("工业", k=50, where=Filter(date_from=d.date, date_to=d.date))
    assert hits and {h.chunk.doc_id for h in hits} <= {x.doc_id for x in dated if x.date == d.date}
    assert fake_index.search("工业", k=50, where=Filter(date_from="2999-01-01")) == []


def test_missing_index_names_the_build_command(tmp_path):
    with pytest.raises(UserError, match="policyqa build"):
        open_index(tmp_path / "nowhere")


def test_model_mismatch_is_refused(fake_index):
    folder = fake_index.settings.index
    with pytest.raises(UserError, match="policyqa build"):  # the bundled model asked for, a fake built it
        open_index(folder, fake_index.settings.with_(model="multilingual-e5-small"))
    with pytest.raises(UserError, match="policyqa build"):
        open_index(folder, fake_index.settings.with_(model="BAAI/bge-small-zh-v1.5"))


def _incremental_setup(seed_corpus, tmp_path, fake_encoder):
    enc = CountingEncoder(fake_encoder)
    s = Settings(corpus=seed_corpus, index=tmp_path / "inc")
    build_index(s, encoder=enc, progress=False)
    return s, enc


def test_no_change_rebuild_embeds_nothing_and_keeps_the_generation(seed_corpus, tmp_path, fake_encoder):
    s, enc = _incremental_setup(seed_corpus, tmp_path, fake_encoder)
    gen = read_current(s.index)
    enc.passages = 0
    report = build_index(s, encoder=enc, progress=False)
    assert enc.passages == 0 and report.unchanged == 5 and read_current(s.index) == gen
    assert "up to date" in report.line()


def test_adds_changes_and_deletes_equal_a_full_build(seed_corpus, tmp_path, fake_encoder):
    s, enc = _incremental_setup(seed_corpus, tmp_path, fake_encoder)
    enc.passages = 0
    (seed_corpus / "new.txt").write_text("岳池县全年规上工业增加值力争增长百分之十。\n\n新材料产业项目加快建设。", encoding="utf-8")
    report = build_index(s, encoder=enc, progress=False)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 0, 0, 5)
    assert 0 < enc.passages <= 4  # only the new file's paragraphs and sentences
    path = seed_corpus / "001_ab3d4e721701eb82.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n福建新增一段关于工业投资的说明。", encoding="utf-8")
    (seed_corpus / "003_902afef8673d79be.txt").unlink()
    enc.passages = 0
    report = build_index(s, encoder=enc, progress=False)
    assert (report.added, report.changed, report.removed) == (0, 1, 1)
    assert enc.passages <= 2  # the changed file's old paragraphs come from the embedding cache
    inc = open_index(s.index, s, encoder=fake_encoder)
    full_s = s.with_(index=tmp_path / "full")
    build_index(full_s, encoder=fake_encoder, progress=False, full=True)
    full = open_index(full_s.index, full_s, encoder=fake_encoder)
    for q in ("规上工业增加值增长", "岳池县 百分之十", "福建 工业投资", "绵阳 重点工业企业"):
        a, b = inc.legs(q, 50, "hybrid"), full.legs(q, 50, "hybrid")
        assert a.bm25.keys() == b.bm25.keys()
        assert np.allclose([a.bm25[c] for c in sorted(a.bm25)], [b.bm25[c] for c in sorted(b.bm25)])
        assert a.bm25_max == pytest.approx(b.bm25_max)
        assert a.dense == pytest.approx(b.dense)
    assert inc.info.counts == full.info.counts
    assert not any(c.doc_id.startswith("003") for c in all_chunks(inc))


def test_failed_build_keeps_the_previous_index(fake_index_copy, fake_encoder):
    class Broken(type(fake_encoder)):
        def encode_passages(self, texts, progress=False):
            raise RuntimeError("disk full")

    s = fake_index_copy.settings
    gen = read_current(s.index)
    (s.corpus / "new.txt").write_text("新增的一段文字。", encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_index(s, encoder=Broken(), progress=False)
    assert read_current(s.index) == gen
    assert not [p for p in s.index.iterdir() if p.name.startswith(".")]
    again = open_index(s.index, s, encoder=fake_encoder)
    assert again.info.counts["chunks"] == 71
    report = build_index(s, encoder=fake_encoder, progress=False)
    assert report.added == 1


def _killed_build(settings, encoder) -> None:
    """Child process: write rows of a new generation, then die without committing."""
    from retrieval.build import index_settings

    with LocalWriter(settings.index, encoder.describe(), index_settings(settings)) as w:
        w.delete_documents(["000_d624bf9fb98a90ad.txt"])
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_build_leaves_the_served_generation_and_is_undone(fake_index_copy, fake_encoder):
    import multiprocessing

    s = fake_index_copy.settings
    gen = read_current(s.index)
    before = [h.chunk.chunk_id for h in fake_index_copy.search("四川 新入规工业企业", k=10)]
    proc = multiprocessing.get_context("fork").Process(target=_killed_build, args=(s, fake_encoder))
    proc.start()
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    again = open_index(s.index, s, encoder=fake_encoder)
    assert read_current(s.index) == gen
    assert [h.chunk.chunk_id for h in again.search("四川 新入规工业企业", k=10)] == before
    report = build_index(s, encoder=fake_encoder, progress=False)  # takes the lock the dead build held
    assert read_current(s.index) == gen and report.removed == 0


def test_a_second_build_is_refused_naming_the_first(fake_index_copy, fake_encoder):
    from retrieval.build import index_settings

    s = fake_index_copy.settings
    with (LocalWriter(s.index, fake_encoder.describe(), index_settings(s)),
          pytest.raises(UserError, match=f"pid {os.getpid()}")):
        build_index(s, encoder=fake_encoder, progress=False)


def test_a_target_that_is_not_an_index_is_refused_untouched(seed_corpus, tmp_path, fake_encoder):
    before = sorted(p.name for p in seed_corpus.iterdir())
    with pytest.raises(UserError, match="neither empty nor an index"):
        build_index(Settings(corpus=seed_corpus, index=seed_corpus), encoder=fake_encoder, progress=False)
    assert sorted(p.name for p in seed_corpus.iterdir()) == before


@pytest.mark.parametrize("damage", ["missing", "truncated", "zeroed", "garbage"])
@pytest.mark.parametrize("name", ["dense.faiss", "bm25_tf.npy", "bm25_indptr.npy", "deleted.npy", "manifest.json"])
def test_a_damaged_file_is_one_clear_error(fake_copy, fake_encoder, name, damage):
    s = fake_copy
    path = gen_dir(s.index, read_current(s.index)) / name
    size = path.stat().st_size
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: size // 2])
    elif damage == "zeroed":
        path.write_bytes(b"\0" * size)
    else:
        path.write_bytes(os.urandom(size))
    with pytest.raises(UserError, match="policyqa build"):
        open_index(s.index, s, encoder=fake_encoder)


@pytest.mark.parametrize("content", [b"", b"garbage", b"\0" * 4096])
def test_a_damaged_database_or_pointer_is_one_clear_error(fake_copy, fake_encoder, content):
    s = fake_copy
    for name in ("store.sqlite", "CURRENT"):
        path = s.index / name
        saved = path.read_bytes()
        for extra in ("-wal", "-shm"):
            (s.index / f"{name}{extra}").unlink(missing_ok=True)
        path.write_bytes(content)
        with pytest.raises(UserError, match="policyqa build"):
            open_index(s.index, s, encoder=fake_encoder).search("工业", k=3)
        path.write_bytes(saved)


@pytest.mark.parametrize("manifest", ["[]", '{"schema_version": "2"}', '{"schema_version": 999, "files": {}, '
                                      '"counts": {}, "model": {}, "bm25": {}}'])
def test_a_wrong_manifest_is_one_clear_error(fake_copy, fake_encoder, manifest):
    s = fake_copy
    (gen_dir(s.index, read_current(s.index)) / "manifest.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(UserError, match="policyqa build"):
        open_index(s.index, s, encoder=fake_encoder)


def test_empty_corpus_is_a_clear_error_and_keeps_the_index(fake_index_copy, fake_encoder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings(corpus=empty, index=fake_index_copy.settings.index)
    with pytest.raises(UserError, match="no readable text"):
        build_index(settings, encoder=fake_encoder, progress=False)
    assert open_index(settings.index, settings, encoder=fake_encoder).info.counts["chunks"] == 71


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
    chunks = all_chunks(idx)
    assert {c.doc_id for c in chunks} == {"utf8bom.txt", "gbk.txt", "deep/er/big5.md", "utf16.txt"}
    assert all("规上工业增加值" in c.norm for c in chunks)


@pytest.mark.parametrize("storage", ["sq8", "fp16", "flat"])
def test_an_ivf_index_ranks_as_the_exact_one_and_stays_incremental(seed_corpus, tmp_path, fake_encoder, storage):
    """Above ann_min_vectors the dense leg is IVF (codes by ann_storage); probing every list it ranks
    as the exact index does, filters select whole chunks, and adds/deletes keep it an IVF index."""
    exact_s = Settings(corpus=seed_corpus, index=tmp_path / "exact")
    build_index(exact_s, encoder=fake_encoder, progress=False)
    exact = open_index(exact_s.index, exact_s, encoder=fake_encoder)
    s = exact_s.with_(index=tmp_path / "ivf", ann_min_vectors=50, ann_storage=storage, nprobe=10_000)
    build_index(s, encoder=fake_encoder, progress=False)
    ivf = open_index(s.index, s, encoder=fake_encoder)
    assert ivf.store.vectors.kind == f"ivf-{storage}" and ivf.info.settings["dense"]["kind"] == f"ivf-{storage}"
    assert ivf.store.vectors.size == exact.store.vectors.size
    ids_e, xb_e = exact.store.vectors.all_vectors()
    ids_i, xb_i = ivf.store.vectors.all_vectors()
    order_e, order_i = np.argsort(ids_e), np.argsort(ids_i)
    assert (ids_e[order_e] == ids_i[order_i]).all()
    assert np.abs(xb_e[order_e] - xb_i[order_i]).max() < 0.02  # decoded codes are the vectors
    for q in ("规上工业增加值增长", "岳池县 百分之十", "福建 工业投资", "绵阳 重点工业企业"):
        a, b = exact.legs(q, 5, "dense").dense, ivf.legs(q, 5, "dense").dense
        assert next(iter(a)) == next(iter(b)) and len(a.keys() & b.keys()) >= 4
        assert all(abs(a[c] - b[c]) < 0.01 for c in a.keys() & b.keys())
        if storage == "sq8":  # candidates re-scored from the float16 copies: exact scores, no better chunk missed
            deep = exact.legs(q, 40, "dense").dense
            assert all(abs(deep[c] - b[c]) < 3e-4 for c in b), max(abs(deep[c] - b[c]) for c in b)
            assert min(b.values()) > min(a.values()) - 2e-3
    if storage == "sq8":
        assert {"dense_exact.npy", "dense_ids.npy"} <= set(ivf.store.manifest["files"])
    region = Filter(regions=("绵阳市",))
    got = [h.chunk.chunk_id for h in ivf.search("工业企业", k=10, mode="dense", where=region)]
    want = [h.chunk.chunk_id for h in exact.search("工业企业", k=10, mode="dense", where=region)]
    mianyang = {c.chunk_id for c in all_chunks(exact) if c.city == "绵阳市"}
    assert got and len(got) == len(want) and set(got) <= mianyang and got[0] == want[0]
    (seed_corpus / "003_902afef8673d79be.txt").unlink()
    path = seed_corpus / "001_ab3d4e721701eb82.txt"  # a changed file: its new paragraph gets new ids
    path.write_text(path.read_text(encoding="utf-8") + "\n\n福建新增一段关于工业投资的说明。", encoding="utf-8")
    build_index(s, encoder=fake_encoder, progress=False)
    again = open_index(s.index, s, encoder=fake_encoder)
    assert again.store.vectors.kind == f"ivf-{storage}"
    assert not any(c.doc_id.startswith("003") for c in all_chunks(again))
    assert again.store.vectors.size < ivf.store.vectors.size
    if storage == "sq8":
        parts = again.store.vectors.parts  # segments: each IVF-SQ8 one keeps its own float16 copies
        assert any(p.exact is not None for p in parts)
        for p in parts:
            if p.exact is not None:
                assert len(p.exact.ids) == p.size and (np.diff(p.exact.ids) > 0).all()
                assert set(p.exact.ids.tolist()) == set(p.all_vectors()[0].tolist())
        live = {int(v) // 64 for v in again.store.vectors.all_vectors()[0]}
        assert len(live) == again.info.counts["chunks"]
        flat_s = exact_s.with_(index=tmp_path / "exact-again")
        build_index(flat_s, encoder=fake_encoder, progress=False)
        flat = open_index(flat_s.index, flat_s, encoder=fake_encoder)
        by_text = {c.text: c.chunk_id for c in all_chunks(flat)}
        text = {c.chunk_id: c.text for c in all_chunks(again)}
        for q in ("福建新增 工业投资", "规上工业增加值增长"):  # the new paragraph's rows re-score exactly too
            deep = flat.legs(q, 40, "dense").dense
            got = again.legs(q, 5, "dense").dense
            assert all(abs(deep[by_text[text[c]]] - v) < 3e-4 for c, v in got.items())


def test_part_scores_are_the_stored_vectors_cosines(fake_index, fake_encoder):
    """English answers rank sentences by the vectors the build stored, without embedding them again."""
    from retrieval.build import dense_units

    chunks = all_chunks(fake_index)[:12]
    texts, owner, part = dense_units(chunks, fake_index.settings)
    qv = fake_encoder.encode_queries(["规上工业增加值增长"])[0]
    want = {(chunks[o].chunk_id, int(p)): float(v @ qv)
            for v, o, p in zip(fake_encoder.encode_passages(texts), owner, part, strict=True)}
    got = fake_index.store.part_scores(qv, [c.chunk_id for c in chunks] + ["no-such-chunk"])
    assert got["no-such-chunk"] == {}
    assert {(c, p): s for c, ps in got.items() for p, s in ps.items()} == pytest.approx(want, abs=1e-5)
    assert any(len(ps) > 1 for ps in got.values())  # sentences, not only paragraphs


def test_both_writers_declare_the_writer_protocol(tmp_path):
    from retrieval.store import Writer, open_writer
    from retrieval.store.milvus import MilvusWriter

    w = open_writer(tmp_path / "index", {"name": "m", "dim": 4}, {"bm25": {"k1": 1.2, "b": 0.75}})
    assert isinstance(w, Writer)
    missing = [m for m in ("known_files", "cached_vectors", "cache_vectors", "delete_documents", "add",
                           "live_chunks", "changed", "commit", "__enter__", "__exit__") if not hasattr(MilvusWriter, m)]
    assert missing == []
