"""Issue #5 figure: time from a question to its answer in the app, first question after start-up.

    .venv/bin/python scripts/bench_app.py [--index index]

Runs app.py under streamlit.testing.v1.AppTest: the first run loads the model and the index
(st.cache_resource, as a served app does when it starts); then the 9.5% question is typed and
the page rerun is timed, answer and passages drawn.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench_app")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ["POLICYQA_INDEX"], os.environ["POLICYQA_CORPUS"] = args.index, args.corpus
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    t0 = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    log.info("app start-up (model + index load, or build if missing): %.2f s", time.perf_counter() - t0)
    questions = (
        "哪些地区提出了9.5%的增长目标?",
        "河北哪些城市一季度预期增速低于全年目标",
        "Which regions set 9.5% targets?",
    )
    for q in questions:
        t = time.perf_counter()
        at.text_input(key="question").input(q).run()
        ok = not at.exception and any("岳池县" in e.proto.body or "廊坊" in e.proto.body for e in at.get("html"))
        log.info("answer drawn in %.0f ms: %s (%s)", (time.perf_counter() - t) * 1000, q, "ok" if ok else "MISSING")


if __name__ == "__main__":
    main()
