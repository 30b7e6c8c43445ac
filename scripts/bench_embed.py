"""Embedding throughput of the bundled model on 1,000 People's Daily paragraphs (issue #2 figures).

    .venv/bin/python scripts/bench_embed.py [--n 1000] [--batch-sizes 8,32,64] [--device auto|cpu|cuda]

Each batch size runs in a fresh process so peak RSS is its own. On a GPU (fp16) the peak GPU
memory is printed too, and the texts/s there is what ``Settings.gpu_batch_size`` is chosen by.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench")


def one(n: int, bs: int, device: str = "cpu") -> dict:
    from eval.datasets import peoples_daily_lines
    from retrieval.embedding.encoder import Embedder

    paras = [p for p in peoples_daily_lines() if len(p) >= 20][:n]
    emb = Embedder(batch_size=bs, gpu_batch_size=bs, device=device)
    emb.warm_up()
    emb.encode_passages(paras[:16])  # warm
    tok = emb._model.tokenizer
    tokens = sum(len(tok("passage: " + p)["input_ids"]) for p in paras)
    t0 = time.perf_counter()
    emb.encode_passages(paras)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_mb = 0.0
    if emb.device != "cpu":
        import torch

        gpu_mb = torch.cuda.max_memory_allocated() / 2**20
    return {
        "device": emb.device, "peak_gpu_mb": round(gpu_mb),
        "batch_size": bs, "passages": len(paras), "seconds": round(dt, 2),
        "passages_per_s": round(len(paras) / dt, 1), "tokens_per_s": round(tokens / dt),
        "peak_rss_mb": round(rss), "mean_chars": round(sum(map(len, paras)) / len(paras)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch-sizes", default="8,32,64")
    ap.add_argument("--device", default="cpu", help="auto, cpu, cuda or cuda:N (default: cpu)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.one:
        sys.stdout.write(json.dumps(one(args.n, args.one, args.device)) + "\n")
        return
    from retrieval.settings import Settings

    rows = []
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--one", str(bs), "--device", args.device],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    log.info("| device | batch | passages/s | tokens/s | peak RSS MB | peak GPU MB | seconds | passages (mean chars) |")
    log.info("|---|---|---|---|---|---|---|---|")
    for r in rows:
        log.info("| %s | %d | %.1f | %d | %d | %d | %.1f | %d (%d) |", r["device"], r["batch_size"],
                 r["passages_per_s"], r["tokens_per_s"], r["peak_rss_mb"], r["peak_gpu_mb"], r["seconds"],
                 r["passages"], r["mean_chars"])
    s = Settings()
    log.info("the embedder uses batch_size=%d on the CPU, gpu_batch_size=%d on a GPU (Settings)", s.batch_size,
             s.gpu_batch_size)


if __name__ == "__main__":
    main()
