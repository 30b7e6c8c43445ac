"""Extraction against the unseen facts gold without building an index (no model): read, chunk, extract.

    .venv/bin/python scripts/facts_dev.py [--split dev] [--failures 30] [--questions]

Prints the same extraction table ``policyqa eval --gold eval/gold/facts_unseen`` prints, and the
sentences of the chosen split whose facts differ from the gold. With ``--questions`` it also asks
the chosen split's which-regions questions (the index is built on first use, with the model) and
prints their scores and the questions answered otherwise. Tuning looks at dev only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.build import _prepare  # noqa: E402
from retrieval.evaluation import ensure_index, load_gold  # noqa: E402
from retrieval.evaluation_answers import load_paraphrases  # noqa: E402
from retrieval.evaluation_facts import (  # noqa: E402
    failures,
    load_facts_gold,
    markdown,
    question_splits,
    score_extraction,
    score_region_questions,
)
from retrieval.reading import doc_id_for, read_bytes  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

log = logging.getLogger("facts_dev")


def _shown_path(folder: Path) -> str:
    try:
        return str(folder.resolve().relative_to(ROOT))
    except ValueError:
        return str(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(ROOT / "eval" / "gold" / "facts_unseen"))
    ap.add_argument("--split", default="dev", choices=["dev", "test"])
    ap.add_argument("--failures", type=int, default=0)
    ap.add_argument("--questions", action="store_true", help="ask the split's which-regions questions too")
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
    shown = {s: scores[args.split] if s == args.split else dict.fromkeys(scores[s], "") for s in scores}
    print("\n".join(markdown(shown, _shown_path(folder))))
    if args.failures:
        lines = failures(facts, gold, args.split, args.failures)
        print("\n".join(["", f"## {args.split} sentences whose facts differ", "", *lines]))
    if args.questions:
        goldset = load_gold(folder)
        index = ensure_index(goldset, Settings())
        scores = score_region_questions(index, goldset.queries, load_paraphrases(folder),
                                        question_splits(goldset.queries, gold), splits=(args.split,))
        for group, cell in sorted(scores["groups"].items()):
            print(f"{group}: questions {int(cell['questions'])} recall {cell['recall']:.3f} "
                  f"precision {cell['precision']:.3f} refused {cell['refusal']:.3f}")
        print("\n".join(scores["misses"]) if args.split == "dev" else "")


if __name__ == "__main__":
    main()
