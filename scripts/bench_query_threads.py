"""Question encoding time by torch thread count, on a quiet machine and beside a busy process.

Prints the per-question p50/p95 (ms) of `Embedder.encode_queries` for 20 gold questions with
torch on 1 thread and on every core, first with nothing else running, then while another process
keeps one core busy (as a build, a second server or the browser tests' app does). This is the
measurement behind `Settings.query_threads` (1). Run it with nothing else busy:

    .venv/bin/python scripts/bench_query_threads.py
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def burn(stop) -> None:
    """Keep one core busy until told to stop."""
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def timings(threads: int, questions: list[str], rounds: int) -> list[float]:
    from retrieval.embedding.encoder import Embedder

    enc = Embedder(query_threads=threads)
    enc.encode_queries(["预热"])
    out = []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            enc.encode_queries([q])
            out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    gold = (ROOT / "eval" / "gold" / "seed" / "gold.tsv").read_text(encoding="utf-8").splitlines()[1:21]
    questions = [line.split("\t")[3] for line in gold]
    cores = torch.get_num_threads()
    print(f"{len(questions)} questions x {args.rounds}, torch default threads {cores}")
    print("| neighbour | threads | p50 ms | p95 ms |\n|---|---|---|---|")
    for busy in (False, True):
        stop = multiprocessing.Event()
        proc = multiprocessing.Process(target=burn, args=(stop,), daemon=True) if busy else None
        if proc:
            proc.start()
        try:
            for threads in (1, cores):
                t = sorted(timings(threads, questions, args.rounds))
                p95 = t[int(0.95 * (len(t) - 1))]
                print(f"| {'one core busy' if busy else 'none'} | {threads} | {statistics.median(t):.1f} | {p95:.1f} |")
        finally:
            if proc:
                stop.set()
                proc.join()


if __name__ == "__main__":
    main()
