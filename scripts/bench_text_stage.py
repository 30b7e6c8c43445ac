"""Time the text stage of a build (read, chunk, regions, facts; no model) over a corpus folder.

    .venv/bin/python scripts/bench_text_stage.py [eval/.cache/pd1998/corpus]

Prints documents, facts and seconds (the best of three runs). Run it with nothing else busy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.build import _prepare  # noqa: E402
from retrieval.reading import doc_id_for, read_bytes  # noqa: E402
from retrieval.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=str(ROOT / "eval" / ".cache" / "pd1998" / "corpus"))
    args = ap.parse_args()
    corpus = Path(args.corpus)
    docs = [read_bytes(p.read_bytes(), doc_id_for(p, corpus), str(p)) for p in sorted(corpus.glob("*.txt"))]
    settings = Settings()
    _prepare(docs[0], settings)  # load cpca, jieba and the tables outside the timing
    best, facts = float("inf"), 0
    for _ in range(3):
        t = time.perf_counter()
        facts = sum(len(_prepare(d, settings)[1]) for d in docs)
        best = min(best, time.perf_counter() - t)
    print(f"{len(docs)} documents, {facts} facts, text stage {best:.1f} s (best of 3)")


if __name__ == "__main__":
    main()
