"""The subject-match thresholds of which-regions answers, chosen on dev questions only.

    .venv/bin/python scripts/subject_threshold.py [--gold eval/gold/facts_unseen]

Builds (or opens) the gold set's index, asks its **dev** which-regions questions (and their
paraphrases) with every pair of thresholds of the grid, and prints recall, precision and the
share refused per pair, best F1 first. The test questions are not asked: ``policyqa eval``
reports them with the thresholds Settings keeps.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.evaluation import ensure_index, load_gold  # noqa: E402
from retrieval.evaluation_answers import load_paraphrases  # noqa: E402
from retrieval.evaluation_facts import load_facts_gold, question_splits, score_region_questions  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

log = logging.getLogger("subject_threshold")
FLOORS = (0.76, 0.78, 0.80, 0.82)
MARGINS = (0.01, 0.02, 0.04, 0.06)
OVERLAPS = (0.6, 0.8, 1.01)  # 1.01: characters alone never match
GLOSS = (0.0, 0.1, 0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(ROOT / "eval" / "gold" / "facts_unseen"))
    ap.add_argument("--top", type=int, default=15, help="rows of the grid to print, best F1 first")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    folder = Path(args.gold)
    gs = load_gold(folder)
    index = ensure_index(gs, Settings())
    splits = question_splits(gs.queries, load_facts_gold(folder))
    dev = [q for q in gs.queries if splits.get(q.qid) == "dev"]
    paraphrases = [p for p in load_paraphrases(folder) if splits.get(p.para_of) == "dev"]
    rows = []
    for floor, margin, overlap, gloss in itertools.product(FLOORS, MARGINS, OVERLAPS, GLOSS):
        idx = dataclasses.replace(index, settings=index.settings.with_(
            subject_min_cosine=floor, subject_margin=margin, subject_min_overlap=overlap, subject_gloss_weight=gloss))
        g = score_region_questions(idx, dev, paraphrases, splits)["groups"]
        cell = g["dev all"]
        f1 = 2 * cell["recall"] * cell["precision"] / (cell["recall"] + cell["precision"] or 1)
        rows.append((f1, (floor, margin, overlap, gloss), cell, g.get("dev zh", {}), g.get("dev en", {})))
    print("| floor | margin | overlap | gloss | F1 | recall | precision | refused | zh recall | zh precision "
          "| en recall | en precision |")
    print("|---" * 12 + "|")
    for f1, (floor, margin, overlap, gloss), c, zh, en in sorted(rows, key=lambda r: -r[0])[:args.top]:
        print(f"| {floor:.2f} | {margin:.2f} | {overlap:.2f} | {gloss:.1f} | {f1:.3f} | {c['recall']:.3f} "
              f"| {c['precision']:.3f} | {c['refusal']:.3f} | {zh.get('recall', 0):.3f} | {zh.get('precision', 0):.3f} "
              f"| {en.get('recall', 0):.3f} | {en.get('precision', 0):.3f} |")


if __name__ == "__main__":
    main()
