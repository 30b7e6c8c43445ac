"""The app's figures: page time to the answer and to its charts, and a 50-question batch.

    .venv/bin/python scripts/bench_app.py [--index index] [--gold eval/gold/seed]

Runs app.py under streamlit.testing.v1.AppTest (the same script a served app runs, without
the browser's drawing). The first run loads the model and the index (st.cache_resource, as a
served app does when it starts); then 3 questions warm up and 20 are timed, each a rerun of
the page after typing it: "to the answer" and "to the charts" are measured inside the page
(from the top of the script to the answer drawn, then to the bar chart and the map drawn),
"page" is the whole rerun as AppTest sees it (passages, exports and document view included;
only the open tab runs).
Then a file of 50 questions is uploaded to the Batch tab and answered, timed the same way.
Questions are the gold set's (``gold.tsv`` of the seed gold, ``queries.jsonl`` or
``regions.tsv`` of the People's Daily one), cycled when there are fewer than needed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench_app")


def gold_questions(gold: Path) -> list[str]:
    """Questions of a gold folder: which-regions and figure questions first (they draw charts)."""
    out: list[str] = []
    for name in ("gold.tsv", "regions.tsv"):
        path = gold / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                cols = line.split("\t")
                if line.startswith("#") or len(cols) < 4:
                    continue
                out.append(cols[3] if name == "gold.tsv" else cols[1])
    queries = gold / "queries.jsonl"
    if queries.exists():
        out += [json.loads(ln)["query"] for ln in queries.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not out:
        raise SystemExit(f"no questions in {gold} (gold.tsv, regions.tsv or queries.jsonl)")
    return list(dict.fromkeys(q.strip() for q in out if q.strip()))


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--gold", default=str(ROOT / "eval" / "gold" / "seed"))
    ap.add_argument("--questions", type=int, default=20, help="timed questions (default 20)")
    ap.add_argument("--batch", type=int, default=50, help="questions in the batch file (default 50)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ["POLICYQA_INDEX"], os.environ["POLICYQA_CORPUS"] = args.index, args.corpus
    os.environ["POLICYQA_QUERY_CACHE"] = "0"  # every question encoded, as the README's figures were
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    pool = gold_questions(Path(args.gold))
    t0 = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    log.info("index %s: app start-up (model + index load, or build if missing) %.2f s", args.index,
             time.perf_counter() - t0)
    cycle = itertools.cycle(pool)
    for q in (next(cycle) for _ in range(3)):  # warm-up
        at.text_input(key="question").input(q).run()
    page, answer, charts, drawn = [], [], [], 0
    for _ in range(args.questions):
        q = next(cycle)
        t = time.perf_counter()
        at.text_input(key="question").input(q).run()
        page.append((time.perf_counter() - t) * 1000)
        if at.exception:
            raise SystemExit(f"the page failed on {q!r}: {at.exception[0].value}")
        timing = at.session_state["_timings"]
        answer.append(timing["answer_ms"])
        charts.append(timing["charts_ms"])
        drawn += bool(timing["charts"])
    n = len(page)
    log.info("%d questions after warm-up (%d of the answers drawn on a chart):", n, drawn)
    for name, values in (("to the answer", answer), ("to the charts", charts), ("page (whole rerun)", page)):
        log.info("  %-19s p50 %4.0f ms  p95 %4.0f ms", name, statistics.median(values), pct(values, 95))
    batch = [next(cycle) for _ in range(args.batch)]
    at.session_state["tab"] = "Batch"  # only the open tab runs
    at.run()
    at.file_uploader(key="batch_file").upload("questions.txt", "\n".join(batch).encode(), "text/plain")
    at.run()
    t = time.perf_counter()
    at.button(key="batch_run").click().run()
    took = time.perf_counter() - t
    rows = at.tabs[2].dataframe[0].value if at.tabs[2].dataframe else []
    ok = not at.exception and not at.error
    log.info("batch of %d questions: %.1f s (%.0f ms a question), %d rows%s", len(batch), took,
             took * 1000 / len(batch), len(rows), "" if ok else " FAILED")
    log.info("load average at the end (1/5/15 min, %d cores): %.2f / %.2f / %.2f", os.cpu_count() or 0,
             *os.getloadavg())


if __name__ == "__main__":
    main()
