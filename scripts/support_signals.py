"""Can meaning decide support where words do not? The evidence behind issue 12's open figures.

    .venv/bin/python scripts/support_signals.py [--index index] [--gold eval/gold/seed]

An answer is supported when a retrieved sentence holds at least half of the question's content
words (``MIN_COVERAGE``). Questions written to share no word with their passage are then
abstained on. This script asks whether the stored vectors could tell those questions from
unanswerable ones, on the dev split only (the test split is never read for tuning). For each
dev question it prints whether it was answered, the best lexical coverage among the retrieved
sentences, and three semantic signals of the best retrieved sentence (a sentence's stored
vector, or its paragraph's):

- ``cos``: its cosine to the question;
- ``z``: that cosine as a z-score among the question's cosines to every vector of the index
  (a cohort score, as in speaker verification);
- ``over p99``: its margin over the 99th percentile of those cosines.

It also prints, for Chinese questions, the idf share (``Support.information``) of the sentence each
would quote without the information rule (``MIN_INFORMATION`` = 0): where the rule's cut lies
between answerable questions and unanswerable ones that word count alone answers.

Then, per signal, every cut that would answer k of the wrongly abstained questions, and how many
unanswerable questions that cut answers as well: all of them, then those whose answer a
supporting sentence decides (open, how and which-regions-by-text questions; a figure, date or
listed region decides the others). A usable signal answers the abstained ones before any
unanswerable one. Run with nothing else busy (one encoder).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("support_signals")
SIGNALS = ("cos", "z", "over_p99")
MAX_COHORT = 20_000  # paragraphs whose vectors form a question's cohort (sampled above this)


@dataclass(frozen=True)
class Row:
    """One dev question with its support decision and signals."""

    qid: str
    answerable: bool
    supported: bool
    path: str  # "facts": a figure, date or listed region decides; "sentences": a supporting sentence does
    coverage: float
    cos: float
    z: float
    over_p99: float
    info: float | None  # Chinese: the idf share of the quote without the information rule
    text: str


def dev_questions(index, folder: Path) -> list[tuple[str, bool, str]]:
    """(qid, answerable, text) of the dev split: gold questions, their paraphrases, negatives."""
    from retrieval.evaluation import load_gold
    from retrieval.evaluation_answers import load_negatives, load_paraphrases, side, splits

    gold = load_gold(folder)
    side_of = splits(index.documents, gold.queries)
    out = [(q.qid, True, q.query) for q in gold.queries if side_of[q.qid] == "dev"]
    out += [(p.qid, True, p.query) for p in load_paraphrases(folder) if side_of.get(p.para_of) == "dev"]
    out += [(n.qid, False, n.query) for n in load_negatives(folder) if side(n.query) == "dev"]
    return out


def measure(index, qid: str, answerable: bool, text: str, cohort: list[str]) -> Row:
    """The support decision and signals of one question."""
    from retrieval.answer import extractive
    from retrieval.answer.evidence import support_for
    from retrieval.answer.extractive import EVIDENCE_K, answer_question, context_of
    from retrieval.answer.question import analyze
    from retrieval.text.normalize import normalize

    ans = answer_question(index, text)
    q = analyze(text)
    hits = index.search(text, k=EVIDENCE_K)
    sup = support_for(q, hits)
    info = None
    if q.lang == "zh":
        rule, extractive.MIN_INFORMATION = extractive.MIN_INFORMATION, 0.0
        try:
            loose = answer_question(index, text)
        finally:
            extractive.MIN_INFORMATION = rule
        if loose.items:
            weighed = support_for(q, list(loose.evidence), index.store.term_df,
                                  int(index.store.info().counts.get("chunks", 0)))
            info = weighed.information(normalize(loose.items[0].quote).text)
    stored = index.store.sentences([h.chunk.chunk_id for h in hits])
    coverage = max((sup.coverage(st.norm, context_of(index, h.chunk)) for h in hits
                    for st in stored.get(h.chunk.chunk_id, [])), default=0.0)
    qv = index.encoder.encode_queries([q.norm])[0]
    scores = index.store.part_scores(qv, cohort)
    allv = np.array([s for parts in scores.values() for s in parts.values()], dtype=np.float64)
    hit_ids = {h.chunk.chunk_id for h in hits}
    top = max((max(p.values()) for c, p in scores.items() if c in hit_ids and p), default=0.0)
    z = float((top - allv.mean()) / allv.std()) if allv.size > 1 and allv.std() > 0 else 0.0
    p99 = float(np.quantile(allv, 0.99)) if allv.size else 0.0
    facts = q.kind in ("how_many", "when") or (q.kind == "which_regions" and bool(q.figures or q.comparison))
    return Row(qid, answerable, ans.supported, "facts" if facts else "sentences", coverage, float(top), z,
               float(top - p99), info, text)


def cuts(rows: list[Row], signal: str, path: str = "") -> list[str]:
    """For k = 1.. wrongly abstained questions: the cut that answers them, and the negatives it answers
    (all of them, or those of one answer path)."""
    missed = sorted((getattr(r, signal) for r in rows if r.answerable and not r.supported), reverse=True)
    negatives = [getattr(r, signal) for r in rows if not r.answerable and path in ("", r.path)]
    lines = []
    for k, cut in enumerate(missed, start=1):
        wrong = sum(v >= cut for v in negatives)
        lines.append(f"  {signal} >= {cut:.3f}: answers {k}/{len(missed)} abstained answerable questions "
                     f"and {wrong}/{len(negatives)} unanswerable ones{f' ({path} path)' if path else ''}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", default="index")
    parser.add_argument("--gold", default="eval/gold/seed", type=Path)
    parser.add_argument("--seed", type=int, default=0, help="sampling of the cohort above MAX_COHORT paragraphs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from retrieval.index import open_index

    index = open_index(args.index)
    docs = [d.doc_id for d in index.store.list_documents()]
    cohort = [c.chunk_id for c in index.store.chunks_of(docs)]
    if len(cohort) > MAX_COHORT:
        cohort = list(np.random.default_rng(args.seed).choice(cohort, MAX_COHORT, replace=False))
    rows = [measure(index, qid, ok, text, cohort) for qid, ok, text in dev_questions(index, args.gold)]
    log.info("dev split of %s: %d questions (%d unanswerable), cohort of %d paragraphs", args.gold, len(rows),
             sum(not r.answerable for r in rows), len(cohort))
    log.info("| qid | answerable | answered | path | coverage | cos | z | over p99 | question |")
    log.info("|---|---|---|---|---|---|---|---|---|")
    shown = [r for r in rows if not r.answerable or not r.supported]
    for r in sorted(shown, key=lambda r: (r.answerable, -r.cos)):
        log.info("| %s | %s | %s | %s | %.2f | %.3f | %.2f | %.3f | %s |", r.qid, "yes" if r.answerable else "no",
                 "yes" if r.supported else "no", r.path, r.coverage, r.cos, r.z, r.over_p99, r.text[:40])
    for kind in ("answered", "abstained"):
        group = [r for r in rows if r.answerable and (r.supported == (kind == "answered"))]
        if group:
            log.info("answerable and %s (%d): cos %.3f-%.3f, z %.2f-%.2f, over p99 %.3f-%.3f", kind, len(group),
                     min(r.cos for r in group), max(r.cos for r in group), min(r.z for r in group),
                     max(r.z for r in group), min(r.over_p99 for r in group), max(r.over_p99 for r in group))
    for ok in (True, False):
        infos = sorted((r.info, r.qid) for r in rows if r.info is not None and r.answerable == ok)
        log.info("%s Chinese questions answered without the information rule (%d): idf share of the quote %s",
                 "answerable" if ok else "unanswerable", len(infos),
                 ", ".join(f"{q} {v:.2f}" for v, q in infos[: 6 if ok else None]) + (" ..." if ok else ""))
    for path in ("", "sentences"):
        for signal in SIGNALS:
            for line in cuts(rows, signal, path):
                log.info(line)


if __name__ == "__main__":
    main()
