"""Extraction against the unseen facts gold without building an index (no model): read, chunk, extract.

    .venv/bin/python scripts/facts_dev.py [--split dev] [--failures 30]

Prints the same extraction table ``policyqa eval --gold eval/gold/facts_unseen`` prints, and the
sentences of the chosen split whose facts differ from the gold. Tuning looks at dev only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.build import _prepare  # noqa: E402
from retrieval.evaluation_facts import failures, load_facts_gold, markdown, score_extraction  # noqa: E402
from retrieval.reading import doc_id_for, read_bytes  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

log = logging.getLogger("facts_dev")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(ROOT / "eval" / "gold" / "facts_unseen"))
    ap.add_argument("--split", default="dev", choices=["dev", "test"])
    ap.add_argument("--failures", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = Path(args.gold)
    corpus = folder / "corpus"
    facts = []
    for path in sorted(corpus.glob("*.txt")):
        doc = read_bytes(path.read_bytes(), doc_id_for(path, corpus), str(path))
        facts += _prepare(doc, Settings())[1]
    gold = load_facts_gold(folder)
    scores = score_extraction(facts, gold)
    # only the split asked for: tuning looks at dev and nothing of test
    print("\n".join(markdown({s: scores[args.split] if s == args.split else dict.fromkeys(scores[s], "")
                              for s in scores})))
    if args.failures:
        lines = failures(facts, gold, args.split, args.failures)
        print("\n".join(["", f"## {args.split} sentences whose facts differ", "", *lines]))


if __name__ == "__main__":
    main()
