"""Issue #3 and #4 figures on the seed corpus: build time, chunks, warm query and ask latency, hit@1/recall@5.

    .venv/bin/python scripts/bench_search.py

Builds a fresh index of corpus/ in a temporary folder (the model load is outside the build
time only if the model was used before in this process: the first build pays for it and
says so), then times 50 warm hybrid queries (the seed gold questions, query encoding
included) and `ask` on the same questions.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench_search")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("sentence_transformers", "transformers", "jieba"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    from retrieval.answer.extractive import answer_question
    from retrieval.embedding.encoder import Embedder
    from retrieval.evaluation import evaluate_runs, load_gold, qrels_for
    from retrieval.index import build_index, open_index
    from retrieval.settings import Settings

    enc = Embedder()
    t0 = time.perf_counter()
    enc.warm_up()
    log.info("model load: %.1f s", time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings(corpus=ROOT / "corpus", index=Path(tmp) / "index")
        rep = build_index(s, encoder=enc, progress=False)
        log.info("build (model already loaded): %.1f s, %d files, %d chunks, %d facts",
                 rep.seconds, rep.files, rep.chunks, rep.facts)
        idx = open_index(s.index, s, encoder=enc)
        gold = load_gold(ROOT / "eval" / "gold" / "seed")
        queries = [q.query for q in gold.queries][:50]
        idx.search("预热", k=10)
        for mode in ("hybrid", "bm25", "dense"):
            ms = []
            for q in queries:
                t = time.perf_counter()
                idx.search(q, k=10, mode=mode)
                ms.append((time.perf_counter() - t) * 1000)
            log.info("%-6s warm query latency over %d queries: p50 %.1f ms, p95 %.1f ms", mode, len(ms),
                     statistics.median(ms), float(np.percentile(ms, 95)))
        ms = []
        for q in queries:
            t = time.perf_counter()
            answer_question(idx, q)
            ms.append((time.perf_counter() - t) * 1000)
        log.info("ask latency over %d questions: p50 %.1f ms, p95 %.1f ms", len(ms), statistics.median(ms),
                 float(np.percentile(ms, 95)))
        qrels = qrels_for(idx, gold)
        for mode in ("bm25", "dense", "hybrid"):
            run, hit1 = {}, []
            for q in gold.queries:
                hits = idx.search(q.query, k=10, mode=mode)
                run[q.qid] = {h.chunk.chunk_id: 11.0 - h.rank for h in hits}
                hit1.append(bool(hits) and hits[0].chunk.chunk_id in qrels[q.qid])
            m = evaluate_runs(qrels, run)
            log.info("%-6s on %d dev questions: hit@1 %.3f, recall@5 %.3f", mode, len(gold.queries),
                     sum(hit1) / len(hit1), m["recall@5"])


if __name__ == "__main__":
    main()
