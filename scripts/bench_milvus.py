"""Milvus store beside the local store on one machine: insert rate, hybrid latency, parity per gold set.

Embeds nothing for the index: chunks, terms and vectors come from an already built local index.

    .venv/bin/python scripts/bench_milvus.py --index index [--gold eval/gold/seed --gold eval/gold/pd1998]

Insert rate: paragraphs/s of MilvusWriter.add + commit (rows, BM25 terms and statistics, facets),
after the rows are prepared (reading the local store and tokenizing are timed apart).
Latency: p50/p95 of ``search(mode="hybrid")`` per gold query (query embedding included, the
same for both stores) and of the store's three leg calls alone (vector precomputed).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench_milvus")


def prepared_items(local, batch_docs: int = 200):
    """DocumentData of every document of a local index, vectors taken from its FAISS file, in batches."""
    from retrieval.build import bm25_tokens
    from retrieval.store import DocumentData, FactQuery
    from retrieval.store.dense import PARTS
    from retrieval.text.regions import mentions

    store = local.store
    g = store.generation
    ids, vecs = store.vectors.all_vectors()
    cid_of = dict(store._q("SELECT cid, chunk_id FROM chunks WHERE gen_from <= ? AND (gen_to IS NULL OR gen_to > ?)",
                           (g, g)))
    by_chunk: dict[str, list[tuple[int, int]]] = {}
    for row, vid in enumerate(ids):
        cid = cid_of.get(int(vid) // PARTS)
        if cid is not None:
            by_chunk.setdefault(cid, []).append((int(vid) % PARTS, row))
    hashes = dict(store._q("SELECT doc_id, file_hash FROM documents WHERE gen_from <= ? AND (gen_to IS NULL OR "
                           "gen_to > ?)", (g, g)))
    doc_ids = [d.doc_id for d in store.list_documents()]
    for i in range(0, len(doc_ids), batch_docs):
        part = doc_ids[i:i + batch_docs]
        docs = store.documents(part)
        chunks = store.chunks_of(part)
        sents = store.sentences([c.chunk_id for c in chunks])
        facts = store.facts(FactQuery(doc_ids=tuple(part)))
        items = []
        for d in part:
            cs = [c for c in chunks if c.doc_id == d]
            owner, vpart, rows = [], [], []
            for n, c in enumerate(cs):
                for p, row in sorted(by_chunk.get(c.chunk_id, [])):
                    owner.append(n)
                    vpart.append(p)
                    rows.append(row)
            items.append(DocumentData(
                docs[d], hashes.get(d, ""), tuple(cs), tuple(f for f in facts if f.doc_id == d),
                tuple(s for c in cs for s in sents[c.chunk_id]), tuple(tuple(bm25_tokens(c)) for c in cs),
                tuple(tuple(dict.fromkeys(p.name for p in mentions(c.norm))) for c in cs),
                vecs[rows] if rows else np.zeros((0, vecs.shape[1]), np.float32),
                np.asarray(owner, np.int64), np.asarray(vpart, np.int64)))
        yield items


def load_into_milvus(local, url: str, settings) -> dict:
    from retrieval.build import _readings, index_settings
    from retrieval.store.milvus import MilvusWriter
    from retrieval.store.milvus_expr import parse_url

    t0 = time.perf_counter()
    batches = list(prepared_items(local))
    prep = time.perf_counter() - t0
    readings = _readings({t for items in batches for d in items for ts in d.terms for t in ts})
    with MilvusWriter(parse_url(url), local.info.model, index_settings(settings), full=True, config=settings) as w:
        t1 = time.perf_counter()
        for items in batches:
            w.add(items, readings)
        t2 = time.perf_counter()
        man = w.commit({"corpus": local.info.corpus, "build_seconds": 0.0})
        t3 = time.perf_counter()
    n = man["counts"]["chunks"]
    return {"paragraphs": n, "vectors": man["counts"]["vectors"], "prepare_s": prep, "add_s": t2 - t1,
            "commit_s": t3 - t2, "rate": n / max(1e-9, t3 - t1)}


def latency(variants: dict, queries: list[str], repeats: int) -> dict[str, dict]:
    """p50/p95 per store; the stores take turns on each query, so a busy machine slows them alike."""
    from retrieval.text.tokens import tokenize

    full: dict[str, list[float]] = {n: [] for n in variants}
    legs: dict[str, list[float]] = {n: [] for n in variants}
    for index in variants.values():
        index.search("预热", k=1)
    for _ in range(repeats):
        for q in queries:
            for name, index in variants.items():
                t = time.perf_counter()
                index.search(q, k=10, mode="hybrid")
                full[name].append((time.perf_counter() - t) * 1000)
                vec = index.encoder.encode_queries([q])[0]
                terms = tokenize(q)
                t = time.perf_counter()
                index.store.dense_top(vec, index.settings.depth)
                index.store.bm25_top(terms, index.settings.depth)
                index.store.bm25_max(terms)
                legs[name].append((time.perf_counter() - t) * 1000)

    def pct(xs: list[float], p: float) -> float:
        return float(np.percentile(xs, p))

    return {n: {"p50": statistics.median(full[n]), "p95": pct(full[n], 95), "legs_p50": statistics.median(legs[n]),
                "legs_p95": pct(legs[n], 95)} for n in variants}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True, help="an already built local index folder (the source of everything)")
    ap.add_argument("--gold", action="append", help="gold folder judged on that index's corpus (repeatable; "
                                                    "default eval/gold/seed)")
    ap.add_argument("--data", default=None, help="milvus-lite data file (default: a temporary one)")
    ap.add_argument("--repeats", type=int, default=3, help="passes over the gold queries for the latency")
    ap.add_argument("--bm25", default="own,builtin", help="Milvus BM25 legs to compare (own, builtin)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from retrieval.errors import UserError
    from retrieval.evaluation import load_gold, run_eval
    from retrieval.index import open_index
    from retrieval.settings import Settings
    from retrieval.store.milvus_lite import LiteServer

    settings = Settings(index=Path(args.index))
    local = open_index(args.index, settings)
    golds = [Path(g) for g in (args.gold or [str(ROOT / "eval" / "gold" / "seed")])]
    with tempfile.TemporaryDirectory(prefix="bench-milvus-") as tmp, \
            LiteServer(Path(args.data) if args.data else Path(tmp) / "bench.db") as srv:
        url = f"{srv.url}/bench"
        load = load_into_milvus(local, url, settings)
        print(f"\n## Insert into milvus-lite ({srv.url}, one process on this machine)\n")
        print(f"{load['paragraphs']} paragraphs, {load['vectors']} vectors: add {load['add_s']:.1f} s + commit "
              f"{load['commit_s']:.1f} s = **{load['rate']:.0f} paragraphs/s** (rows prepared from the local "
              f"index in {load['prepare_s']:.1f} s, not counted)")
        variants = {"local": local}
        for mode in args.bm25.split(","):
            s = settings.with_(index=Path(url), milvus_bm25=mode.strip())
            variants[f"milvus ({mode.strip()} BM25)"] = open_index(url, s, encoder=local.encoder)
        queries = [q.query for g in golds for q in load_gold(g).queries]
        print(f"\n## Hybrid query latency, {len(queries)} gold queries x {args.repeats}\n")
        print("| store | search p50 ms | search p95 ms | legs only p50 ms | legs only p95 ms |\n|---|---|---|---|---|")
        for name, lat in latency(variants, queries, args.repeats).items():
            print(f"| {name} | {lat['p50']:.1f} | {lat['p95']:.1f} | {lat['legs_p50']:.1f} | {lat['legs_p95']:.1f} |")
        print("\n## Parity: MRR@10 / Recall@5 per gold set (hybrid; BM25 leg alone)\n")
        print("| gold | mode | " + " | ".join(variants) + " |\n|---|---|" + "---|" * len(variants))
        for g in golds:
            rows: dict[str, list[str]] = {"hybrid": [], "bm25": []}
            for idx in variants.values():
                try:
                    r = run_eval(g, idx.settings, list(rows), write=False, index=idx).modes
                    for m in rows:
                        rows[m].append(f"{r[m]['mrr@10']:.3f} / {r[m]['recall@5']:.3f}")
                except UserError as exc:  # a gold set judged on another corpus
                    for m in rows:
                        rows[m].append(f"n/a ({exc})")
            for m, cells in rows.items():
                print(f"| {g.name} | {m} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
