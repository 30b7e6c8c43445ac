"""Load and fault test of the HTTP API (`policyqa serve`) on 127.0.0.1, mixing search, ask and facts.

    .venv/bin/python scripts/load.py --index index --corpus corpus            # 16 clients 60 s, 64 clients 30 s
    .venv/bin/python scripts/load.py --rebuild --phases 16x60                 # with builds beside the load
    .venv/bin/python scripts/load.py --overload                               # + a server with a tiny queue
    .venv/bin/python scripts/load.py --index eval/.cache/pd1998/index --corpus eval/.cache/pd1998/corpus \\
        --gold eval/gold/pd1998                                               # the People's Daily index

Starts its own server on a free loopback port (never any other address) with the model loaded
once, runs each phase (N concurrent clients for S seconds; each client sends its next request
when the last one is answered), stops by itself and prints, per phase and kind, requests/s and
p50/p95/p99 latency, with errors (any answer but 200 and 503), dropped connections (transport
errors: refused, reset, timed out) and 503s.

``--rebuild`` serves a copy of the index and corpus (the originals are never written) and, for
as long as the load runs, adds a copy of a corpus file and runs `policyqa build`, then removes
it and builds again. Each answer names the generation it was computed from; the script checks
that every document it cites is in that generation's document set (the copy is in every other
generation only), so an answer from a mix of two builds would be counted as "mixed".

``--overload`` then starts a second server with 1 worker and a queue of 2 and drives it with
32 clients for 10 s: the calls beyond the queue must get 503 with Retry-After, at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, by design
MARKER = "zz-load-marker.txt"
FALLBACK = ["哪些地区提出了9.5%的增长目标", "Which regions set 9.5% targets?", "河北哪些城市一季度预期增速低于全年目标",
            "规上工业增加值", "工业投资", "福建如何推动重点工业项目投产"]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    overloaded: int = 0
    overload_latency: list[float] = field(default_factory=list)
    retry_after_missing: int = 0
    cited: list[tuple[int, frozenset[str]]] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def policyqa() -> str:
    exe = Path(sys.executable).with_name("policyqa")
    return str(exe) if exe.exists() else "policyqa"


def questions(gold: Path) -> list[str]:
    """The gold folder's questions (gold.tsv, regions.tsv or queries.jsonl), as bench_app.py reads them."""
    from bench_app import gold_questions  # this folder is on sys.path when a script runs

    try:
        return gold_questions(gold)
    except SystemExit:
        return FALLBACK


def start_server(index: Path, corpus: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [policyqa(), "serve", "--index", str(index), "--corpus", str(corpus), "--host", HOST, "--port", str(port),
           *extra]
    # every question encoded, as if each were new: the worst case, not the question cache's hits
    env = {**os.environ, "POLICYQA_QUERY_CACHE": "0"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"load.py: the server exited ({proc.returncode}): {proc.stderr.read().strip()}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("load.py: the server did not answer /health in 300 s")


def stop_server(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return err


def doc_ids(kind: str, body: dict) -> frozenset[str]:
    if kind == "facts":
        return frozenset(f["doc_id"] for f in body["facts"])
    ids = set()
    for r in body["results"]:
        ids.update(h["doc_id"] for h in r.get("hits", ()))
        ids.update(i["doc_id"] for i in r.get("items", ()))
        ids.update(h["doc_id"] for h in r.get("evidence", ()))
    return frozenset(ids)


async def client_loop(http: httpx.AsyncClient, base: str, qs: list[str], deadline: float, stats: Stats,
                      rng: random.Random, mix: tuple[float, float]) -> None:
    while time.monotonic() < deadline:
        x = rng.random()
        q = rng.choice(qs)
        if x < mix[0]:
            kind, url, params = "search", "/search", {"q": q, "k": 10}
        elif x < mix[0] + mix[1]:
            kind, url, params = "ask", "/ask", {"q": q}
        else:
            kind, url, params = "facts", "/facts", {"region": rng.choice(["广安市", "四川省", "河北省", "福建省"]),
                                                    "limit": 50}
        t0 = time.perf_counter()
        try:
            r = await http.get(base + url, params=params)
        except httpx.TransportError as exc:
            stats.dropped += 1
            if len(stats.error_samples) < 5:
                stats.error_samples.append(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        took = time.perf_counter() - t0
        if r.status_code == 503:
            stats.overloaded += 1
            stats.overload_latency.append(took)
            stats.retry_after_missing += "retry-after" not in r.headers
            await asyncio.sleep(float(r.headers.get("retry-after", "1")) * rng.random())
            continue
        if r.status_code != 200:
            stats.errors[kind] = stats.errors.get(kind, 0) + 1
            if len(stats.error_samples) < 5:
                stats.error_samples.append(f"{kind} {r.status_code}: {r.text[:200]}")
            continue
        stats.latencies.setdefault(kind, []).append(took)
        body = r.json()
        stats.cited.append((body["generation"], doc_ids(kind, body)))


async def phase(base: str, clients: int, seconds: float, qs: list[str], mix: tuple[float, float]) -> Stats:
    stats = Stats()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as http:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client_loop(http, base, qs, deadline, stats, random.Random(i), mix)
                               for i in range(clients)))
    return stats


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000 if s else float("nan")


def report(name: str, stats: Stats, seconds: float) -> None:
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(stats.errors.values())
    print(f"\n## {name}: {total + errors + stats.overloaded} requests in {seconds:.0f} s = "
          f"{(total + errors + stats.overloaded) / seconds:.1f} req/s; errors {errors}, dropped connections "
          f"{stats.dropped}, 503 {stats.overloaded}")
    print(f"{'kind':<7} {'ok':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for kind in ("search", "ask", "facts"):
        xs = stats.latencies.get(kind, [])
        print(f"{kind:<7} {len(xs):>6} {len(xs) / seconds:>7.1f} {pct(xs, 50):>8.0f} {pct(xs, 95):>8.0f} "
              f"{pct(xs, 99):>8.0f} {stats.errors.get(kind, 0):>6}")
    if stats.overloaded:
        print(f"503 answered in p50 {pct(stats.overload_latency, 50):.0f} ms, max "
              f"{max(stats.overload_latency) * 1000:.0f} ms; without Retry-After: {stats.retry_after_missing}")
    for line in stats.error_samples:
        print(f"  e.g. {line}")


def rebuilder(index: Path, corpus: Path, source: Path, docsets: dict[int, frozenset[str]], base: frozenset[str],
              stop: asyncio.Event, log: list[str]) -> None:
    """Add the marker file, build, remove it, build; until stopped (runs in a thread)."""
    marker = corpus / MARKER
    while not stop.is_set():
        for add in (True, False):
            if add:
                shutil.copyfile(source, marker)
            else:
                marker.unlink(missing_ok=True)
            p = subprocess.run([policyqa(), "build", "--json", "--index", str(index), "--corpus", str(corpus)],
                               capture_output=True, text=True)
            if p.returncode != 0:
                log.append(f"build failed: {p.stderr.strip()[:300]}")
                return
            report_ = json.loads(p.stdout.strip().splitlines()[-1])
            docsets[report_["generation"]] = base | {MARKER} if add else base
            log.append(f"generation {report_['generation']}: {'+' if add else '-'}{MARKER} "
                       f"in {report_['seconds']} s")


def mixed(stats: Stats, docsets: dict[int, frozenset[str]]) -> tuple[int, int]:
    """(answers whose generation is unknown, answers citing a document not in their generation)."""
    unknown = sum(1 for g, _ in stats.cited if g not in docsets)
    bad = sum(1 for g, ids in stats.cited if g in docsets and not ids <= docsets[g])
    return unknown, bad


async def run_phases(args: argparse.Namespace, base: str, qs: list[str], index: Path, corpus: Path,
                     docsets: dict[int, frozenset[str]]) -> int:
    failures = 0
    mix = (args.search_share, args.ask_share)
    for spec in args.phases.split(","):
        clients, seconds = (int(x) for x in spec.lower().split("x"))
        stop = asyncio.Event()
        log: list[str] = []
        builds = None
        if args.rebuild:
            source = sorted(p for p in corpus.iterdir() if p.is_file() and p.name != MARKER)[0]
            base_docs = docsets[min(docsets)]
            builds = asyncio.get_running_loop().run_in_executor(
                None, rebuilder, index, corpus, source, docsets, base_docs, stop, log)
        t0 = time.monotonic()
        stats = await phase(base, clients, seconds, qs, mix)
        took = time.monotonic() - t0
        stop.set()
        if builds is not None:
            await builds
        report(f"{clients} clients, {seconds} s" + (" with rebuilds beside" if args.rebuild else ""), stats, took)
        if args.rebuild:
            unknown, bad = mixed(stats, docsets)
            gens = sorted({g for g, _ in stats.cited})
            with_copy = sum(1 for _g, ids in stats.cited if MARKER in ids)
            print(f"rebuilds: {len([x for x in log if x.startswith('generation')])} builds published during the "
                  f"phase; answers came from generations {gens[0]}..{gens[-1]} ({len(gens)} of them); "
                  f"{with_copy} answers cite the added copy; answers citing a document outside their generation "
                  f"(mixed): {bad}; of an unknown generation: {unknown}")
            for line in log:
                if not line.startswith("generation"):
                    print(f"  {line}")
            failures += bad + unknown
        failures += sum(stats.errors.values()) + stats.dropped + (stats.overloaded if not args.allow_503 else 0)
    return failures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--index", default="index", help="index folder (default: index)")
    p.add_argument("--corpus", default="corpus", help="its corpus folder (default: corpus)")
    p.add_argument("--gold", default="eval/gold/seed",
                   help="questions from GOLD: gold.tsv, regions.tsv or queries.jsonl (default: eval/gold/seed)")
    p.add_argument("--phases", default="16x60,64x30", help="CLIENTSxSECONDS,... (default: 16x60,64x30)")
    p.add_argument("--search-share", type=float, default=0.4, help="share of search requests (default 0.4)")
    p.add_argument("--ask-share", type=float, default=0.4, help="share of ask requests (default 0.4); facts: the rest")
    p.add_argument("--rebuild", action="store_true", help="build beside the load (on a copy) and check generations")
    p.add_argument("--overload", action="store_true", help="then drive a server with 1 worker and a queue of 2")
    p.add_argument("--allow-503", action="store_true", help="do not count 503s in the main phases as failures")
    p.add_argument("--workers", type=int, default=None, help="server's --workers (default: Settings.serve_workers)")
    args = p.parse_args()
    if max(int(spec.lower().split("x")[0]) for spec in args.phases.split(",")) > 256:
        sys.exit("load.py: at most 256 clients")
    index, corpus = Path(args.index).resolve(), Path(args.corpus).resolve()
    qs = questions(ROOT / args.gold if not Path(args.gold).is_absolute() else Path(args.gold))
    print(f"load.py on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; index {args.index}; "
          f"{len(qs)} questions; mix search {args.search_share} / ask {args.ask_share} / facts "
          f"{1 - args.search_share - args.ask_share:.1f}; phases {args.phases}"
          + (", rebuilding" if args.rebuild else ""))
    with tempfile.TemporaryDirectory(prefix="policyqa-load-") as tmp:
        if args.rebuild:  # serve and rebuild a copy: the user's index and corpus are never written
            shutil.copytree(index, Path(tmp) / "index", ignore=shutil.ignore_patterns("write.lock"))
            shutil.copytree(corpus, Path(tmp) / "corpus")
            index, corpus = Path(tmp) / "index", Path(tmp) / "corpus"
            # in step with the corpus first, so the served generation's documents are the corpus's files
            subprocess.run([policyqa(), "build", "--index", str(index), "--corpus", str(corpus)], check=True,
                           capture_output=True)
        extra = ["--workers", str(args.workers)] if args.workers else []
        proc, base = start_server(index, corpus, extra)
        try:
            first = httpx.get(base + "/documents", timeout=60).json()
            docsets = {first["generation"]: frozenset(d["doc_id"] for d in first["documents"])}
            failures = asyncio.run(run_phases(args, base, qs, index, corpus, docsets))
        finally:
            err = stop_server(proc)
        if "Traceback" in err:
            print("the server logged a traceback:\n" + err[-2000:])
            failures += 1
        if args.overload:
            proc, base = start_server(index, corpus, ["--workers", "1", "--queue", "2"])
            try:
                stats = asyncio.run(phase(base, 32, 10, qs, (0.4, 0.4)))
            finally:
                stop_server(proc)
            report("overload: 32 clients, 10 s, server with 1 worker and a queue of 2", stats, 10)
            if not stats.overloaded or stats.retry_after_missing or stats.dropped or sum(stats.errors.values()):
                failures += 1
    print(f"\n{'PASS' if failures == 0 else 'FAIL'}: {failures} failed requests, dropped connections or mixed answers")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
