"""The subject-match thresholds of which-regions answers, chosen on dev questions only.

    .venv/bin/python scripts/subject_threshold.py [--gold eval/gold/facts_unseen] [--pd eval/gold/pd1998]

Asks, with every combination of the grid, the **dev** which-regions questions of the facts gold
(and their paraphrases: recall and precision of the regions listed) and the People's Daily
which-regions questions r01-r24 (`regions.tsv`; hand-written criteria: precision of the regions
listed, most of them with no answer in the corpus, so they measure what a threshold lists
wrongly). Prints the rows best first by the mean of the facts gold's F1 and the People's Daily
precision. The test questions (facts gold test side, r25-r34) are not asked: ``policyqa eval``
reports them with the thresholds Settings keeps. Both indexes are built on first use.
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
from retrieval.evaluation_answers import load_paraphrases, score_regions  # noqa: E402
from retrieval.evaluation_facts import load_facts_gold, question_splits, score_region_questions  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

log = logging.getLogger("subject_threshold")
FLOORS = (0.92, 0.94, 0.96)  # Chinese questions
FLOORS_EN = (0.78, 0.80)
MARGINS = (0.02,)
NEED = (0.0,)  # characters a Chinese subject must share with the question's phrase (0.3 changed nothing)
NEED_EN = (0.1,)  # ... with an English phrase's CC-CEDICT glosses (0.0 and 0.3 lost on every row before)
OVERLAP, GLOSS = 0.8, 0.1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(ROOT / "eval" / "gold" / "facts_unseen"))
    ap.add_argument("--pd", default=str(ROOT / "eval" / "gold" / "pd1998"))
    ap.add_argument("--top", type=int, default=15, help="rows of the grid to print, best first")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    folder = Path(args.gold)
    gs = load_gold(folder)
    index = ensure_index(gs, Settings())
    splits = question_splits(gs.queries, load_facts_gold(folder))
    dev = [q for q in gs.queries if splits.get(q.qid) == "dev"]
    paraphrases = [p for p in load_paraphrases(folder) if splits.get(p.para_of) == "dev"]
    pd_folder = Path(args.pd)
    pd_index = ensure_index(load_gold(pd_folder), Settings())
    pd_dev = [r for r in (pd_folder / "regions.tsv").read_text(encoding="utf-8").splitlines()
              if r.strip() and not r.startswith("#") and not r.rstrip().endswith("held out")]
    dev_rows = pd_folder / ".dev-regions.tsv"
    rows = []
    try:
        dev_rows.write_text("\n".join(pd_dev) + "\n", encoding="utf-8")
        for floor, floor_en, margin, need, need_en in itertools.product(FLOORS, FLOORS_EN, MARGINS, NEED, NEED_EN):
            change = {"subject_min_cosine": floor, "subject_min_cosine_en": floor_en, "subject_margin": margin,
                      "subject_need_overlap": need, "subject_need_overlap_en": need_en,
                      "subject_min_overlap": OVERLAP, "subject_gloss_weight": GLOSS}
            idx = dataclasses.replace(index, settings=index.settings.with_(**change))
            g = score_region_questions(idx, dev, paraphrases, splits)["groups"]
            cell = g["dev all"]
            f1 = 2 * cell["recall"] * cell["precision"] / (cell["recall"] + cell["precision"] or 1)
            pidx = dataclasses.replace(pd_index, settings=pd_index.settings.with_(**change))
            pd = score_regions(pidx, dev_rows, [])
            rows.append(((f1 + pd["all precision"]) / 2, (floor, floor_en, margin, need_en), f1, cell, pd))
    finally:
        dev_rows.unlink(missing_ok=True)
    print("| zh floor | en floor | margin | en shared | score | facts F1 | recall | precision | refused "
          "| PD listed | PD precision |")
    print("|---" * 11 + "|")
    for score, (floor, floor_en, margin, need_en), f1, c, pd in sorted(rows, key=lambda r: -r[0])[:args.top]:
        print(f"| {floor:.2f} | {floor_en:.2f} | {margin:.2f} | {need_en:.1f} | {score:.3f} | {f1:.3f} "
              f"| {c['recall']:.3f} | {c['precision']:.3f} | {c['refusal']:.3f} | {int(pd['all listed'])} "
              f"| {pd['all precision']:.3f} |")


if __name__ == "__main__":
    main()
