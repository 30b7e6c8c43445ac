"""The Milvus store: expressions and addresses (no server), then the same index in milvus-lite and locally.

The integration tests start milvus-lite's server on 127.0.0.1 and a free port, build the seed
corpus into it and into a local folder with the same encoder, and compare what both serve.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import UserError
from retrieval.settings import Settings
from retrieval.store import Filter
from retrieval.store.bm25 import Postings, lucene_idf, saturation
from retrieval.store.compile import filter_expr
from retrieval.store.milvus_expr import literal, parse_url

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold" / "seed"
HAVE_MILVUS = importlib.util.find_spec("pymilvus") is not None and importlib.util.find_spec("milvus_lite") is not None
needs_milvus = pytest.mark.skipif(not HAVE_MILVUS, reason="the milvus extra is not installed "
                                                          "(pip install -e '.[milvus]'; ./run setup does)")


# -- no server
def test_filter_expr_fields_and_values():
    flt = Filter(regions=("河北省", "廊坊"), doc_ids=("002_x",), outlets=("新华网",), date_from="2023-01-01",
                 date_to="2023-12-31")
    assert filter_expr(flt) == (
        '(region in ["河北省", "廊坊"] or province in ["河北省", "廊坊"] or city in ["河北省", "廊坊"] or '
        'county in ["河北省", "廊坊"]) and doc_id in ["002_x"] and outlet in ["新华网"] and date >= "2023-01-01" '
        'and (date != "" and date <= "2023-12-31")')


def test_filter_expr_mentions_and_empty():
    assert filter_expr(None) == "" and filter_expr(Filter()) == ""
    assert filter_expr(Filter(regions=("广安",), region_mentions=True)).endswith(
        'or ARRAY_CONTAINS_ANY(places, ["广安"]))')


def test_literal_escapes_quotes_backslashes_and_controls():
    assert literal('a"b') == '"a\\"b"'
    assert literal("a\\b") == '"a\\\\b"'
    assert literal("a\nb") == '"a\\nb"'
    assert literal('x" or doc_id != "') == '"x\\" or doc_id != \\""'  # no way out of the string
    assert literal(2) == "2" and literal(0.5) == "0.5"


@pytest.mark.parametrize("loc", ["milvus://127.0.0.1:19530/policyqa", "milvus:/127.0.0.1:19530/policyqa",
                                 Path("milvus://127.0.0.1:19530/policyqa")])
def test_parse_url_accepts_what_path_makes_of_it(loc):
    url = parse_url(loc)
    assert (url.host, url.port, url.name, url.uri) == ("127.0.0.1", 19530, "policyqa", "http://127.0.0.1:19530")
    assert str(url) == "milvus://127.0.0.1:19530/policyqa"


@pytest.mark.parametrize("loc", ["milvus://h/x", "milvus://h:99999/x", "milvus://h:1/1x", "milvus://h:1/a-b",
                                 "milvus://h:1/"])
def test_parse_url_refuses_malformed(loc):
    with pytest.raises(UserError, match="milvus"):
        parse_url(loc)


def test_idf_in_the_query_times_saturation_in_the_chunk_is_bm25():
    """The algebra the Milvus store relies on, against the local store's postings on the same data."""
    rng = np.random.default_rng(1)
    n, vocab, k1, b = 40, 30, 1.2, 0.75
    cids, tids, tfs, lens = [], [], [], []
    for c in range(n):
        terms = rng.choice(vocab, size=rng.integers(1, 12), replace=True)
        u, cnt = np.unique(terms, return_counts=True)
        cids += [c] * len(u)
        tids += list(u)
        tfs += list(cnt)
        lens.append(len(terms))
    post = Postings.empty(k1, b).updated(np.zeros(0, np.int64), np.array(cids), np.array(tids),
                                         np.array(tfs, np.float32), (np.arange(n), np.array(lens, np.float32)), vocab)
    query = [3, 7, 7, 11]
    df = np.bincount(tids, minlength=vocab)
    avgdl = float(np.mean(lens))
    got = np.zeros(n)
    for c, t, f in zip(cids, tids, tfs, strict=True):
        got[c] += query.count(t) * lucene_idf(n, df[t]) * saturation(f, lens[c], avgdl, k1, b)
    assert np.allclose(got, post.scores(query))


# -- a server
@pytest.fixture(scope="module")
def pair(lite, tmp_path_factory):
    """The seed corpus built locally and into Milvus with the fake encoder: (local index, milvus index, corpus)."""
    from conftest import SEEDS, FakeEncoder

    from retrieval.index import build_index, open_index

    base = tmp_path_factory.mktemp("pair")
    corpus = base / "corpus"
    shutil.copytree(SEEDS, corpus)
    enc = FakeEncoder()
    loc = Settings(corpus=corpus, index=base / "index")
    build_index(loc, encoder=enc, progress=False)
    ms = loc.with_(index=Path(f"{lite.url}/fake"), milvus_avgdl_tolerance=0.0)  # exact BM25 weights
    build_index(ms, encoder=enc, progress=False)
    return open_index(loc.index, loc, encoder=enc), open_index(ms.index, ms, encoder=enc), corpus, enc


def _queries() -> list[str]:
    from retrieval.evaluation import load_gold

    return [q.query for q in load_gold(GOLD).queries]


def _same_leg(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> None:
    """Same scores best first, each chunk its own score, and every chunk scoring clearly above a
    leg's cut-off in the other leg too; chunks of equal score (float32 in Milvus) in any order, and
    a tie at the cut-off may keep different ones. (Rounding scores to compare them failed once
    on a tie that float32 and float64 rounded to neighbouring decimals.)"""
    assert len(a) == len(b)
    assert np.allclose([s for _, s in a], [s for _, s in b], rtol=1e-5, atol=1e-6)
    if not a:
        return
    sa, sb = dict(a), dict(b)
    assert all(np.isclose(sa[c], sb[c], rtol=1e-5, atol=1e-6) for c in sa.keys() & sb.keys())
    for x, y in ((a, sb), (b, sa)):
        cut = x[-1][1] + 1e-5 * max(1.0, abs(x[-1][1]))
        assert {c for c, s in x if s > cut} <= y.keys()


def _legs_match(local, milvus, k: int = 10) -> None:
    from retrieval.text.tokens import tokenize

    for q in _queries():
        ll, ml = local.legs(q, k), milvus.legs(q, k)
        _same_leg(list(ll.dense.items()), list(ml.dense.items()))
        _same_leg(list(ll.bm25.items()), list(ml.bm25.items()))
        assert math.isclose(ll.bm25_max, ml.bm25_max, rel_tol=1e-9)
        _same_leg(local.store.bm25_top(tokenize(q), k), milvus.store.bm25_top(tokenize(q), k))


@needs_milvus
def test_dense_and_bm25_legs_identical_with_an_exact_index(pair):
    local, milvus, _, _ = pair
    assert milvus.info.counts == {**local.info.counts, "terms": milvus.info.counts["terms"]}
    _legs_match(local, milvus)


@needs_milvus
def test_part_scores_match_the_local_store(pair):
    """The stored paragraph and sentence vectors' cosines, as English answers rank sentences by them."""
    local, milvus, _, enc = pair
    ids = [c.chunk_id for c in local.store.chunks_of([d.doc_id for d in local.store.list_documents()])][:40]
    qv = enc.encode_queries(["规上工业增加值增长"])[0]
    a, b = local.store.part_scores(qv, ids), milvus.store.part_scores(qv, ids)
    assert a.keys() == b.keys() == set(ids)
    for c in ids:
        assert a[c] and a[c].keys() == b[c].keys() and 0 in a[c]
        assert np.allclose([a[c][p] for p in sorted(a[c])], [b[c][p] for p in sorted(a[c])], atol=1e-5)


@needs_milvus
def test_hybrid_metrics_and_answers_match_the_local_store(pair):
    from retrieval.answer.extractive import answer_question
    from retrieval.evaluation import run_eval

    local, milvus, _, _ = pair
    a = run_eval(GOLD, local.settings, ["hybrid"], write=False, index=local)
    b = run_eval(GOLD, milvus.settings, ["hybrid"], write=False, index=milvus)
    for m in ("mrr@10", "recall@5"):
        assert abs(a.modes["hybrid"][m] - b.modes["hybrid"][m]) <= 0.02, m
    assert a.answers == b.answers
    for q in _queries()[:12]:
        x, y = answer_question(local, q), answer_question(milvus, q)
        assert (x.answer, x.items) == (y.answer, y.items), q


@needs_milvus
def test_rows_served_as_the_local_store_serves_them(pair):
    from retrieval.store import FactQuery

    local, milvus, _, _ = pair
    ls, ms = local.store, milvus.store
    assert ls.list_documents() == ms.list_documents()
    ids = [d.doc_id for d in ls.list_documents()]
    assert ls.documents(ids) == ms.documents(ids)
    assert ls.chunks_of(ids) == ms.chunks_of(ids)
    cids = [c.chunk_id for c in ls.chunks_of(ids)]
    assert ls.chunks(cids) == ms.chunks(cids)
    assert ls.sentences(cids) == ms.sentences(cids)
    assert ls.facts() == ms.facts()
    outlet = next(d.outlet for d in ls.list_documents() if d.outlet)
    for q in (FactQuery(regions=("广安市",)), FactQuery(units=("%",), value=9.5), FactQuery(doc_ids=(ids[2],), limit=3),
              FactQuery(outlets=(outlet,)), FactQuery(date_from="2023-01-01", date_to="2023-12-31")):
        assert ls.facts(q) == ms.facts(q) and ms.facts(q), q
    assert ls.facets() == ms.facets()
    assert ls.term_df(["工业", "增长", "没有这个词"]) == ms.term_df(["工业", "增长", "没有这个词"])
    assert ls.terms_by_reading()["guangan"] == ms.terms_by_reading()["guangan"]


def _filters(local) -> list[Filter]:
    docs = local.store.list_documents()
    outlets = tuple({d.outlet for d in docs if d.outlet})[:1]
    dates = sorted(d.date for d in docs if d.date)
    return [
        Filter(regions=("河北省",)), Filter(regions=("岳池县", "廊坊市")), Filter(regions=("广安",), region_mentions=True),
        Filter(doc_ids=(docs[0].doc_id, docs[3].doc_id)), Filter(outlets=outlets), Filter(date_from=dates[-1]),
        Filter(date_to=dates[0]), Filter(regions=("四川省",), date_from=dates[0], date_to=dates[-1]),
        Filter(doc_ids=('x" or doc_id != "',)),  # a quote cannot widen the filter
    ]


@needs_milvus
def test_filters_select_the_same_chunks(pair):
    local, milvus, _, enc = pair
    vec = enc.encode_queries(["工业增加值增长"])[0]
    n = local.info.counts["chunks"]
    for flt in _filters(local):
        a = {c for c, _ in local.store.dense_top(vec, n, flt)}
        b = {c for c, _ in milvus.store.dense_top(vec, n, flt)}
        assert a == b, flt
        terms = ["工业", "增长", "增速", "%"]
        assert {c for c, _ in local.store.bm25_top(terms, n, flt)} == {c for c, _ in milvus.store.bm25_top(terms, n, flt)}
    assert milvus.store.dense_top(vec, n, Filter(doc_ids=('x" or doc_id != "',))) == []
    assert milvus.store.dense_top(vec, n, Filter(regions=("河北省",)))  # not vacuous


@needs_milvus
def test_incremental_add_change_and_delete_match_the_local_store(pair, lite):
    from retrieval.index import build_index, open_index

    local, milvus, corpus, enc = pair
    files = sorted(corpus.glob("*.txt"))
    extra = corpus / "005_extra.txt"
    extra.write_text(files[4].read_text(encoding="utf-8").replace("9.5%", "12%"), encoding="utf-8")
    files[0].unlink()
    changed = files[2].read_text(encoding="utf-8")
    files[2].write_text(changed[: len(changed) // 2], encoding="utf-8")
    for idx in (local, milvus):
        report = build_index(idx.settings, encoder=enc, progress=False)
        assert (report.added, report.changed, report.removed) == (1, 1, 1)
    local2 = open_index(local.settings.index, local.settings, encoder=enc)
    milvus2 = open_index(milvus.settings.index, milvus.settings, encoder=enc)
    assert milvus2.info.generation == 2
    assert milvus2.info.counts == {**local2.info.counts, "terms": milvus2.info.counts["terms"]}
    _legs_match(local2, milvus2)
    assert local2.store.list_documents() == milvus2.store.list_documents()
    assert local2.store.facts() == milvus2.store.facts() and local2.store.facets() == milvus2.store.facets()
    assert milvus2.search("增长12%", k=3, mode="bm25")[0].chunk.doc_id == "005_extra.txt"


@needs_milvus
def test_a_failed_build_leaves_the_published_generation(lite, tmp_path):
    from conftest import SEEDS, FakeEncoder

    from retrieval.index import build_index, open_index

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    s = Settings(corpus=corpus, index=Path(f"{lite.url}/failing"))
    enc = FakeEncoder()
    build_index(s, encoder=enc, progress=False)
    before = open_index(s.index, s, encoder=enc).search("工业", k=5)

    class Broken(FakeEncoder):
        def encode_passages(self, texts, progress=False):
            raise RuntimeError("embedding failed")

    (corpus / "new.txt").write_text("新的段落，关于工业。\n\n第二段。", encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_index(s, encoder=Broken(), progress=False)
    idx = open_index(s.index, s, encoder=enc)
    assert idx.info.generation == 1 and idx.search("工业", k=5) == before
    assert build_index(s, encoder=enc, progress=False).added == 1  # the lock was released


@needs_milvus
def test_missing_index_and_unreachable_server_are_one_line(lite):
    from retrieval.index import open_index

    with pytest.raises(UserError, match="policyqa build --store"):
        open_index(f"{lite.url}/nothing_here", encoder=None)
    from retrieval.store.milvus_lite import free_port

    with pytest.raises(UserError, match="cannot reach Milvus"):
        open_index(f"milvus://127.0.0.1:{free_port()}/x", Settings().with_(milvus_timeout_s=2.0))


@needs_milvus
def test_deletes_a_dead_commit_left_are_finished_by_the_next_build(lite, tmp_path, monkeypatch):
    from conftest import SEEDS, FakeEncoder

    from retrieval.index import build_index, open_index
    from retrieval.store.milvus import MilvusWriter

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    s = Settings(corpus=corpus, index=Path(f"{lite.url}/resume"))
    enc = FakeEncoder()
    build_index(s, encoder=enc, progress=False)
    gone = sorted(corpus.glob("*.txt"))[1]
    gone.unlink()
    real = MilvusWriter._delete_replaced
    calls = []

    def dies_once(self, gen, full, doc_ids):
        if doc_ids:
            calls.append(doc_ids)
            if len(calls) == 1:
                raise KeyboardInterrupt  # killed right after publishing
        return real(self, gen, full, doc_ids)

    monkeypatch.setattr(MilvusWriter, "_delete_replaced", dies_once)
    with pytest.raises(KeyboardInterrupt):
        build_index(s, encoder=enc, progress=False)
    idx = open_index(s.index, s, encoder=enc)
    assert idx.info.generation == 2 and gone.name in {d.doc_id for d in idx.store.list_documents()}  # not yet
    assert build_index(s, encoder=enc, progress=False).generation == 0  # up to date, and the deletes are done
    assert calls[1] == [gone.name]
    assert gone.name not in {d.doc_id for d in open_index(s.index, s, encoder=enc).store.list_documents()}


def test_a_missing_extra_is_one_line(monkeypatch):
    import sys

    from retrieval.index import open_index

    monkeypatch.setitem(sys.modules, "pymilvus", None)  # import fails as if not installed
    with pytest.raises(UserError, match=r"pip install 'policyqa\[milvus\]'"):
        open_index("milvus://127.0.0.1:19530/policyqa")


def test_cli_store_option_and_env_select_milvus(monkeypatch):
    from retrieval.cli import _settings, build_parser

    args = build_parser().parse_args(["search", "--store", "milvus://h:1/x", "q"])
    assert str(_settings(args).index) == "milvus:/h:1/x" and parse_url(_settings(args).index).name == "x"
    monkeypatch.setenv("POLICYQA_STORE", "milvus://h:2/y")
    assert parse_url(_settings(build_parser().parse_args(["ask", "q"])).index).port == 2
    monkeypatch.delenv("POLICYQA_STORE")
    assert str(_settings(build_parser().parse_args(["ask", "q"])).index) == "index"


@needs_milvus
def test_closing_another_client_of_the_same_server_leaves_an_open_index_working(pair):
    """A generation check (or a writer) opens and closes its own client: the reader's stays up."""
    from retrieval.store import published_generation

    _local, milvus, _corpus, _enc = pair
    before = [h.chunk.chunk_id for h in milvus.search("规上工业增加值", k=5)]
    for _ in range(2):
        assert published_generation(milvus.settings.index) == milvus.info.generation
    assert [h.chunk.chunk_id for h in milvus.search("规上工业增加值", k=5)] == before


@needs_milvus
def test_the_http_api_serves_a_milvus_index_as_the_local_one(pair):
    """`policyqa serve --store milvus://…`: the same answers, from the generation Milvus published."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from retrieval.serve.http import create_app
    from retrieval.serve.service import Service

    local, milvus, _corpus, _enc = pair
    # serve_reopen_s=0: every request looks for a new generation, as requests over 0.5 s apart do
    served = {name: TestClient(create_app(Service(idx.settings.with_(serve_reopen_s=0.0), index=idx)))
              for name, idx in (("local", local), ("milvus", milvus))}
    q = "哪些地区提出了9.5%的增长目标"
    got = {name: c.get("/ask", params={"q": q}) for name, c in served.items()}
    assert all(r.status_code == 200 for r in got.values()), {n: r.text[:300] for n, r in got.items()}
    items = {name: [i["region"] for i in r.json()["results"][0]["items"]] for name, r in got.items()}
    assert items["milvus"] == items["local"] and items["milvus"]
    assert got["milvus"].json()["generation"] == milvus.info.generation
    got = served["milvus"].get("/search", params={"q": "规上工业增加值", "k": 5})
    assert got.status_code == 200, got.text
    body = got.json()
    assert [h["chunk_id"] for h in body["results"][0]["hits"]] == \
        [h.chunk.chunk_id for h in milvus.search("规上工业增加值", k=5)]
    health = served["milvus"].get("/health").json()
    assert health["generation"] == milvus.info.generation
