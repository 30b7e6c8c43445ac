"""Fault injection figures for the local store (issues 9 and 13); prints counts, asserts nothing.

    .venv/bin/python scripts/faults.py [--kills 20] [--rebuilds 200] [--readers 2]

Kill test: builds (full and incremental, alternating, each in a child process slowed by pauses)
are SIGKILLed at random moments while another process opens the index and searches in a loop;
after each kill the index must answer as before or after the build, and a normal build must
recover it without leaving temp files. Snapshot test: reader threads open and check the index
while another process rebuilds it, alternating two corpus states. Fake encoder, no model.
See tests/faults_harness.py for what is checked.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one FAISS thread per process: the processes share the cores
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from faults_harness import PHASES, kill_test, snapshot_test  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="0 skips the kill test")
    ap.add_argument("--rebuilds", type=int, default=200, help="0 skips the snapshot test")
    ap.add_argument("--readers", type=int, default=2, help="reader threads in the snapshot test")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--verbose", action="store_true", help="print the first errors in full")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        errors: list[str] = []
        if args.kills:
            t0 = time.perf_counter()
            kills = kill_test(Path(tmp) / "kill", kills=args.kills, seed=args.seed)
            print(kills.line())
            print("  kills landed in: " + ", ".join(f"{k} {kills.phases[k]}" for k in PHASES if kills.phases[k]) +
                  f"; {kills.completed} builds finished before their kill; {kills.foreign} searches answered "
                  f"as neither state ({time.perf_counter() - t0:.0f} s)")
            errors += kills.errors
        if args.rebuilds:
            t0 = time.perf_counter()
            snaps = snapshot_test(Path(tmp) / "snap", rebuilds=args.rebuilds, readers=args.readers, seed=args.seed)
            print(snaps.line() + f" ({time.perf_counter() - t0:.0f} s)")
            errors += snaps.messages
        for msg in errors[: None if args.verbose else 3]:
            print("  " + msg.strip().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
