"""Segments of the local store: what an incremental build writes, merges, --optimize, purging."""

import itertools
import json
import random
import shutil

import numpy as np
import pytest
from conftest import SEEDS, FakeEncoder

from retrieval.errors import OutdatedIndex, UserError
from retrieval.index import build_index, open_index
from retrieval.settings import Settings
from retrieval.store import Filter
from retrieval.store.local import gen_dir, read_current
from retrieval.store.segments import MergePolicy

QUERIES = ("规上工业增加值增长", "岳池县 百分之十", "福建 工业投资", "绵阳 重点工业企业", "新材料 产业 项目", "工业")
NO_MERGE = {"segment_merge_factor": 0, "segment_max_deleted": 1.0}  # every build leaves its own segment
EXTRA = {
    "new_a.txt": "岳池县全年规上工业增加值力争增长百分之十。\n\n新材料产业项目加快建设。",
    "new_b.txt": "福建新增一段关于工业投资的说明。\n\n绵阳市重点工业企业稳步增长，新入规工业企业12家。",
    "new_c.txt": "广安区数字经济产业园算力中心投用。\n\n岳池县特色产业带动农民增收，工业园区扩容。",
    "new_d.txt": "南充市新能源汽车零部件项目签约。\n\n四川省规上工业增加值同比增长9.5%。",
}


def manifest(index, gen=None) -> dict:
    gen = read_current(index) if gen is None else gen
    return json.loads((gen_dir(index, gen) / "manifest.json").read_text(encoding="utf-8"))


def stats(folder) -> dict[str, tuple[int, int, int]]:
    """name -> (inode, mtime_ns, size) of every file in a folder."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()}


@pytest.fixture(params=[Settings.segment_small_chunks, 0], ids=["folded", "apart"])
def seg(tmp_path, request):
    """Settings of a fresh index of the seed corpus (merging off) and the fake encoder; a reader
    folds the small segments in memory, or (``apart``) searches each on its own."""
    shutil.copytree(SEEDS, tmp_path / "corpus")
    s = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index",
                 segment_small_chunks=request.param).with_(**NO_MERGE)
    build_index(s, encoder=FakeEncoder(), progress=False)
    return s


def same_top(a: dict[str, float], b: dict[str, float], tol: float) -> None:
    """The same scores, and the same chunks above the last score (ties there go by chunk number,
    which differs between an incremental and a full build)."""
    assert len(a) == len(b)
    assert np.allclose(sorted(a.values()), sorted(b.values()), rtol=0, atol=tol)
    last = min(a.values(), default=0.0) + tol
    assert {c for c, v in a.items() if v > last} == {c for c, v in b.items() if v > last}
    assert all(abs(a[c] - b[c]) <= tol for c in a.keys() & b.keys())


def assert_as_full_build(s: Settings, tmp_path, name: str) -> None:
    """Every leg of every query equals a full build's of the same corpus: BM25 to the last bit."""
    enc = FakeEncoder()
    full_s = s.with_(index=tmp_path / f"full-{name}")
    shutil.rmtree(full_s.index, ignore_errors=True)
    build_index(full_s, encoder=enc, progress=False, full=True)
    inc, full = open_index(s.index, s, encoder=enc), open_index(full_s.index, full_s, encoder=enc)
    try:
        assert inc.info.counts == full.info.counts
        for q in QUERIES:
            a, b = inc.legs(q, 50, "hybrid"), full.legs(q, 50, "hybrid")
            same_top(a.bm25, b.bm25, 0.0)  # the same floats: corpus-wide statistics over the live segments
            assert a.bm25_max == b.bm25_max
            same_top(a.dense, b.dense, 1e-6)
        for q in QUERIES[:2]:
            x, y = inc.search(q, k=10), full.search(q, k=10)
            assert [h.score for h in x] == pytest.approx([h.score for h in y], abs=1e-6)
    finally:
        inc.store.close()
        full.store.close()


def test_an_add_writes_only_a_new_segment(seg):
    s = seg
    first = gen_dir(s.index, read_current(s.index))
    before = stats(first)
    (s.corpus / "new_a.txt").write_text(EXTRA["new_a.txt"], encoding="utf-8")
    build_index(s, encoder=FakeEncoder(), progress=False)
    man = manifest(s.index)
    assert [m["gen"] for m in man["segments"]] == [1, 2]
    assert stats(first) == before  # the first segment's files untouched: same inode, mtime and size
    new = gen_dir(s.index, 2)
    written = sum(p.stat().st_size for p in new.iterdir())
    assert written < 0.25 * sum(v[2] for v in before.values())
    assert {"dense.faiss", "bm25_tf.npy", "dense_n.npy"} <= set(man["segments"][1]["files"])
    assert man["segments"][0] == manifest(s.index, 1)["segments"][0]  # carried over, not hashed again
    assert man["segments"][1]["chunks"] == 2 and man["deleted"] == {"chunks": 0, "vectors": 0}


def test_a_delete_writes_only_a_deletion_list(seg):
    s = seg
    first = gen_dir(s.index, 1)
    before = stats(first)
    idx = open_index(s.index, s, encoder=FakeEncoder())
    gone = [c for c in idx.store.chunks_of(["003_902afef8673d79be.txt"])]
    cids = sorted(r[0] for r in idx.store._q("SELECT cid FROM chunks WHERE doc_id = ?", ["003_902afef8673d79be.txt"]))
    idx.store.close()
    (s.corpus / "003_902afef8673d79be.txt").unlink()
    build_index(s, encoder=FakeEncoder(), progress=False)
    assert read_current(s.index) == 2
    assert sorted(p.name for p in gen_dir(s.index, 2).iterdir()) == ["bm25_df.npy", "deleted.npy", "manifest.json"]
    assert stats(first) == before
    man = manifest(s.index)
    assert [m["gen"] for m in man["segments"]] == [1]
    assert np.load(gen_dir(s.index, 2) / "deleted.npy").tolist() == cids and len(cids) == len(gone) > 0
    assert man["deleted"]["chunks"] == len(cids) and man["deleted"]["vectors"] > 0
    again = open_index(s.index, s, encoder=FakeEncoder())
    assert not any(h.chunk.doc_id.startswith("003") for q in QUERIES for h in again.search(q, k=50))
    assert again.store.vectors.size == man["counts"]["vectors"]


def test_scores_after_adds_deletes_and_merges_equal_a_full_build(seg, tmp_path):
    """Random adds, changes and deletes, merged by a small size-tiered policy and by deletions."""
    s = seg.with_(segment_merge_factor=4, segment_floor_chunks=2, segment_max_deleted=0.5)
    rng = random.Random(4)
    seeds = sorted(p.name for p in SEEDS.iterdir() if p.is_file())
    history = [[1]]
    for step in range(10):
        present = sorted(p.name for p in s.corpus.iterdir() if p.is_file())
        absent = [n for n in list(EXTRA) + seeds if n not in present]
        for name in rng.sample(absent, min(len(absent), rng.randint(1, 2))):
            text = EXTRA.get(name) or (SEEDS / name).read_text(encoding="utf-8")
            (s.corpus / name).write_text(text, encoding="utf-8")
        for name in rng.sample(present, rng.randint(0, 1)):
            (s.corpus / name).unlink()
        if step % 3 == 1:  # a changed file: its old chunks deleted, all its chunks added again
            p = s.corpus / present[0] if (s.corpus / present[0]).exists() else next(s.corpus.glob("*.txt"))
            p.write_text(p.read_text(encoding="utf-8") + f"\n\n第{step}次修改：工业投资增长{step}%。", encoding="utf-8")
        build_index(s, encoder=FakeEncoder(), progress=False)
        history.append([m["gen"] for m in manifest(s.index)["segments"]])
        assert_as_full_build(s, tmp_path, str(step))
    assert max(len(h) for h in history) >= 3, str(history)  # several live segments were searched
    assert any(set(a) - set(b) for a, b in itertools.pairwise(history)), history  # and folded


def test_optimize_leaves_one_segment_with_the_same_scores(seg, tmp_path, run_cli, monkeypatch):
    s = seg
    for name, text in EXTRA.items():
        (s.corpus / name).write_text(text, encoding="utf-8")
        build_index(s, encoder=FakeEncoder(), progress=False)
    (s.corpus / "new_b.txt").unlink()
    (s.corpus / "001_ab3d4e721701eb82.txt").unlink()
    build_index(s, encoder=FakeEncoder(), progress=False)
    man = manifest(s.index)
    # new_b's segment had nothing live left: dropped; 001's chunks are deletions in the first segment
    assert [m["gen"] for m in man["segments"]] == [1, 2, 4, 5] and man["deleted"]["chunks"] > 0
    idx = open_index(s.index, s, encoder=FakeEncoder())
    before = {q: idx.legs(q, 50, "hybrid") for q in QUERIES}
    idx.store.close()
    monkeypatch.setattr("retrieval.build.Embedder", lambda *a, **k: FakeEncoder())
    rc, out, err = run_cli("build", "--corpus", str(s.corpus), "--index", str(s.index), "--optimize")
    assert rc == 0, err
    man = manifest(s.index)
    assert [m["gen"] for m in man["segments"]] == [man["generation"]]
    assert man["deleted"] == {"chunks": 0, "vectors": 0}
    assert man["segments"][0]["chunks"] == man["counts"]["chunks"]
    after = open_index(s.index, s, encoder=FakeEncoder())
    for q in QUERIES:
        a = after.legs(q, 50, "hybrid")
        assert a.bm25 == before[q].bm25 and a.dense == pytest.approx(before[q].dense, abs=1e-6)
    after.store.close()
    gen = read_current(s.index)
    rc, out, _ = run_cli("build", "--corpus", str(s.corpus), "--index", str(s.index), "--optimize")
    assert rc == 0 and "up to date" in out and read_current(s.index) == gen  # one segment: nothing to do
    assert_as_full_build(s, tmp_path, "optimized")


def test_purge_keeps_the_segments_kept_generations_read(seg):
    s = seg
    for name, text in EXTRA.items():
        (s.corpus / name).write_text(text, encoding="utf-8")
        build_index(s, encoder=FakeEncoder(), progress=False)
    assert read_current(s.index) == 5
    build_index(s, encoder=FakeEncoder(), progress=False, optimize=True)
    (s.corpus / "new_a.txt").unlink()
    build_index(s, encoder=FakeEncoder(), progress=False)  # generation 7; opening its writer purged
    folders = sorted(p.name for p in s.index.iterdir() if p.name.startswith("gen-"))
    # generations 4-6 are kept (KEEP_GENERATIONS counts 7 once published); 4 and 5 read segments 1-5
    assert folders == [f"gen-{n:06d}" for n in range(1, 8)]
    assert {m["gen"] for m in manifest(s.index, 5)["segments"]} == {1, 2, 3, 4, 5}
    (s.corpus / "new_b.txt").unlink()
    build_index(s, encoder=FakeEncoder(), progress=False)  # 8: keeps 5-7, which read 1-6
    (s.corpus / "new_c.txt").unlink()
    build_index(s, encoder=FakeEncoder(), progress=False)  # 9: keeps 6-8, which read 6 only
    folders = sorted(p.name for p in s.index.iterdir() if p.name.startswith("gen-"))
    assert folders == [f"gen-{n:06d}" for n in range(6, 10)]
    assert {m["gen"] for m in manifest(s.index)["segments"]} == {6}
    assert open_index(s.index, s, encoder=FakeEncoder()).search("工业", k=3)


def test_a_damaged_older_segment_is_one_clear_error(seg):
    s = seg
    (s.corpus / "new_a.txt").write_text(EXTRA["new_a.txt"], encoding="utf-8")
    build_index(s, encoder=FakeEncoder(), progress=False)
    path = gen_dir(s.index, 1) / "bm25_tf.npy"  # read by generation 2 from generation 1's folder
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(UserError, match=r"gen-000001/bm25_tf\.npy does not match its checksum.*policyqa build"):
        open_index(s.index, s, encoder=FakeEncoder())


def test_an_index_from_before_segments_is_refused_then_rebuilt_whole(seg):
    s = seg
    path = gen_dir(s.index, 1) / "manifest.json"
    man = json.loads(path.read_text(encoding="utf-8"))
    del man["segments"]
    path.write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(OutdatedIndex, match=r"before segments.*policyqa build --full"):  # the app rebuilds on it
        open_index(s.index, s, encoder=FakeEncoder())
    report = build_index(s, encoder=FakeEncoder(), progress=False)  # no change, but the layout is old: full
    assert report.generation == 2
    assert [m["gen"] for m in manifest(s.index)["segments"]] == [2]
    assert open_index(s.index, s, encoder=FakeEncoder()).info.counts["chunks"] == 71


def test_ivf_segments_merge_into_one_whose_chunk_ids_interleave(tmp_path):
    """An IVF-SQ8 segment of later chunks folded with an exact one of earlier chunks: the float16
    copies stay sorted by id, and the dense leg ranks as an exact index does."""
    enc = FakeEncoder()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = sorted(p.name for p in SEEDS.iterdir() if p.is_file())
    shutil.copy(SEEDS / names[0], corpus / names[0])
    s = Settings(corpus=corpus, index=tmp_path / "index", ann_min_vectors=100, nprobe=10_000).with_(**NO_MERGE)
    build_index(s, encoder=enc, progress=False)
    for n in names[1:]:
        shutil.copy(SEEDS / n, corpus / n)
    build_index(s, encoder=enc, progress=False)
    man = manifest(s.index)
    assert [m["kind"] for m in man["segments"]] == ["flat", "ivf-sq8"]
    (corpus / names[2]).unlink()
    build_index(s, encoder=enc, progress=False, optimize=True)
    man = manifest(s.index)
    assert len(man["segments"]) == 1 and man["segments"][0]["kind"] == "ivf-sq8"
    idx = open_index(s.index, s, encoder=enc)
    ex = idx.store.vectors.parts[0].exact
    assert (np.diff(ex.ids) > 0).all() and len(ex.ids) == idx.store.vectors.size == man["counts"]["vectors"]
    flat_s = s.with_(index=tmp_path / "flat", ann_min_vectors=Settings.ann_min_vectors)
    build_index(flat_s, encoder=enc, progress=False, full=True)
    flat = open_index(flat_s.index, flat_s, encoder=enc)
    for q in QUERIES:
        a, b = idx.legs(q, 10, "hybrid"), flat.legs(q, 40, "dense").dense
        assert a.bm25 == flat.legs(q, 10, "bm25").bm25
        assert all(abs(b[c] - v) < 3e-4 for c, v in a.dense.items())  # float16 re-scoring of the same vectors


@pytest.mark.parametrize(("sizes", "new", "want"), [
    ([(100, 0)] * 8, 10, []),  # 9 of tier 0 with the new one: under the factor
    ([(100, 0)] * 9, 10, list(range(9))),  # the new one makes 10: all fold into it
    ([(100, 0)] * 9, 0, []),  # a delete-only generation writes no segment of its own
    ([(1_000_000, 0)] + [(2000, 0)] * 9, 2000, list(range(1, 10))),  # the big one is of its own tier
    ([(1_000_000, 400_000), (2000, 0)], 2000, [0]),  # over a third deleted: rewritten
    ([(5, 5), (100, 0)], 0, [0]),  # nothing live: dropped
])
def test_the_merge_policy_folds_a_full_tier_and_deleted_segments(sizes, new, want):
    assert MergePolicy(factor=10, floor=1000, max_deleted=0.33).plan(sizes, new) == want


def test_the_merge_policy_tiers_and_optimize():
    p = MergePolicy(factor=10, floor=1000, max_deleted=0.33)
    assert [p.tier(n) for n in (0, 999, 9_999, 10_000, 99_999, 100_000, 1_000_000)] == [0, 0, 0, 1, 1, 2, 3]
    assert p.plan([(10, 0), (1_000_000, 0)], 0, optimize=True) == [0, 1]
    assert MergePolicy(factor=0, floor=1, max_deleted=1.0).plan([(1, 0)] * 50, 1) == []


def test_an_ivf_segment_with_deleted_chunks_ranks_as_a_full_build(tmp_path):
    """Deleted chunks of an IVF segment are dropped after its search (no FAISS selector): the dense
    leg lists the live chunks a full build of the same files lists, with the same scores."""
    enc = FakeEncoder()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = sorted(p.name for p in SEEDS.iterdir() if p.is_file())
    for n in names:
        shutil.copy(SEEDS / n, corpus / n)
    s = Settings(corpus=corpus, index=tmp_path / "index", ann_min_vectors=100, nprobe=10_000).with_(**NO_MERGE)
    build_index(s, encoder=enc, progress=False)
    (corpus / names[1]).unlink()
    build_index(s, encoder=enc, progress=False)
    man = manifest(s.index)
    assert [m["kind"] for m in man["segments"]] == ["ivf-sq8"]
    idx = open_index(s.index, s, encoder=enc)
    assert idx.store.vectors.dead_in == [True]
    full_s = s.with_(index=tmp_path / "full")
    build_index(full_s, encoder=enc, progress=False, full=True)
    full = open_index(full_s.index, full_s, encoder=enc)
    for q in QUERIES:
        a, b = idx.legs(q, 10, "dense").dense, full.legs(q, 10, "dense").dense
        assert list(a) == list(b) and all(abs(a[c] - b[c]) < 1e-6 for c in a)


def test_segments_added_to_an_ivf_index_share_its_lists_and_rank_as_the_merged_index(tmp_path):
    """A segment written beside an IVF segment takes its trained lists and code ranges: a query's
    lists are chosen once for both, so with few lists probed the dense leg lists what the merged
    index lists (with a filter and a deletion too), where an exact small segment was read whole.
    Folded in memory as a reader opens them (small segments), they list the same again."""
    enc = FakeEncoder()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = sorted(p.name for p in SEEDS.iterdir() if p.is_file())
    for n in names[:-1]:
        shutil.copy(SEEDS / n, corpus / n)
    s = Settings(corpus=corpus, index=tmp_path / "index", ann_min_vectors=100, nprobe=3).with_(**NO_MERGE)
    build_index(s, encoder=enc, progress=False)
    first = read_current(s.index)
    shutil.copy(SEEDS / names[-1], corpus / names[-1])
    for name, text in EXTRA.items():
        (corpus / name).write_text(text, encoding="utf-8")
        build_index(s, encoder=enc, progress=False)
    (corpus / "new_a.txt").unlink()  # from the segment it shares with the last seed
    build_index(s, encoder=enc, progress=False)
    man = manifest(s.index)
    assert len(man["segments"]) == 1 + len(EXTRA) and man["deleted"]["chunks"] == 2
    assert all(m["kind"] == "ivf-sq8" and m.get("trained", m["gen"]) == first for m in man["segments"])
    merged_s = s.with_(index=tmp_path / "merged")
    shutil.copytree(s.index, merged_s.index)
    build_index(merged_s, encoder=enc, progress=False, optimize=True)
    assert len(manifest(merged_s.index)["segments"]) == 1
    merged = open_index(merged_s.index, merged_s, encoder=enc)
    apart = open_index(s.index, s.with_(segment_small_chunks=0), encoder=enc)
    assert apart.store.vectors.keys == [first] * len(man["segments"]) and apart.store.vectors.dead_in[1]
    folded = open_index(s.index, s, encoder=enc)  # all small: one in memory
    assert len(folded.store.vectors.parts) == len(folded.store.bm25.segments) == 1
    assert folded.store.vectors.size == apart.store.vectors.size == merged.store.vectors.size
    for idx in (apart, folded):
        for q in QUERIES:
            for flt in (None, Filter(regions=("岳池县",))):
                a, b = idx.legs(q, 10, "hybrid", flt), merged.legs(q, 10, "hybrid", flt)
                assert list(a.dense) == list(b.dense) and all(abs(a.dense[c] - b.dense[c]) < 1e-6 for c in a.dense)
                assert a.bm25 == b.bm25
