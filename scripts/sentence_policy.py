"""What sentence vectors cost and what they buy, on every gold set (issue 9, item 5a).

For each policy (every multi-sentence paragraph, only paragraphs of at least N characters,
none) the gold set's index is rebuilt in one folder, so vectors already embedded come from
the embedding cache, and hybrid / dense MRR@10 and Recall@5 and vectors per paragraph are
printed. Run with nothing else busy: the first policy embeds every text.

    .venv/bin/python scripts/sentence_policy.py [--gold eval/gold/seed eval/gold/pd1998]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLICIES = (("all", True, 0), ("min120", True, 120), ("min200", True, 200), ("none", False, 0))


def main() -> None:
    from retrieval.evaluation import load_gold, run_eval
    from retrieval.index import build_index, open_index
    from retrieval.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", nargs="+", default=["eval/gold/seed", "eval/gold/pd1998"])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print("| gold | policy | vectors/paragraph | hybrid MRR@10 | hybrid R@5 | dense MRR@10 | dense R@5 | build s |")
    print("|---|---|---|---|---|---|---|---|")
    for gold in args.gold:
        gs = load_gold(ROOT / gold)
        folder = ROOT / "eval" / ".cache" / f"policy-{gs.name}"
        for name, on, min_chars in POLICIES:
            s = Settings(corpus=gs.corpus, index=folder, sentence_vectors=on, sentence_min_chars=min_chars)
            t0 = time.perf_counter()
            build_index(s, progress=False)
            built = time.perf_counter() - t0
            idx = open_index(folder, s)
            rep = run_eval(ROOT / gold, s, ["hybrid", "dense"], write=False, index=idx)
            c = idx.info.counts
            h, d = rep.modes["hybrid"], rep.modes["dense"]
            print(f"| {gs.name} | {name} | {c['vectors'] / c['chunks']:.2f} | {h['mrr@10']:.3f} | "
                  f"{h['recall@5']:.3f} | {d['mrr@10']:.3f} | {d['recall@5']:.3f} | {built:.0f} |", flush=True)
            idx.close()


if __name__ == "__main__":
    main()
