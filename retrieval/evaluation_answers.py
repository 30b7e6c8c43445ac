"""Answer evaluation: accuracy per split, language and kind; paraphrase consistency; abstention
on unanswerable questions; facts-table precision per field against a hand-checked gold file.

Split: questions are grouped by the source paragraph of their first judgement (the document
line holding its quote), so a question, its translations and its paraphrases fall on one side;
a paragraph goes to the test split when the SHA-1 of its key is divisible by 3. Negative
questions have no paragraph: their own text is the key. The test split is never used for tuning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from retrieval.text.figures import find_figures
from retrieval.text.normalize import norm_text

log = logging.getLogger(__name__)

TEST_EVERY = 3
FACT_FIELDS = ("value", "unit", "region", "period", "subject")


@dataclass(frozen=True)
class Paraphrase:
    """A rewording of a gold question: same expected answer as its source."""

    qid: str
    para_of: str
    lang: str
    query: str


@dataclass(frozen=True)
class Negative:
    """A question the corpus cannot answer."""

    qid: str
    lang: str
    query: str
    why: str


@dataclass
class AnswerReport:
    """Everything measured about answers."""

    accuracy: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # split -> group -> n/correct
    consistency: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> n/consistent
    abstention: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # split -> lang -> n/abstained
    false_abstention: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> n/abstained
    facts: dict[str, float] = field(default_factory=dict)
    regions: dict[str, float] = field(default_factory=dict)  # the which-regions set (regions.tsv): precision
    failures: list[str] = field(default_factory=list)  # dev split only: the test split is not read for tuning


def _rows(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split("\t") for ln in lines if ln.strip() and not ln.startswith("#")]


def load_paraphrases(folder: Path) -> list[Paraphrase]:
    """``paraphrases.tsv``: qid, para_of, lang, query."""
    return [Paraphrase(*r[:4]) for r in _rows(Path(folder) / "paraphrases.tsv")]


def load_negatives(folder: Path) -> list[Negative]:
    """``negatives.tsv``: qid, lang, query, why."""
    return [Negative(*r[:4]) for r in _rows(Path(folder) / "negatives.tsv")]


def side(key: str) -> str:
    """'test' for one key in three (by SHA-1), else 'dev'."""
    return "test" if int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % TEST_EVERY == 0 else "dev"


def paragraph_key(documents: dict[str, dict], relevant: tuple[tuple[str, str], ...]) -> str:
    """'doc_id:line' of the first judgement's quote: the source paragraph of a question."""
    prefix, quote = relevant[0]
    nq = norm_text(quote)
    for doc_id in sorted(documents):
        if not doc_id.startswith(prefix):
            continue
        for i, line in enumerate(documents[doc_id]["text"].split("\n")):
            if nq and nq in norm_text(line):
                return f"{doc_id}:{i}"
        return f"{doc_id}:?"
    return f"{prefix}:?"


def splits(documents: dict[str, dict], queries) -> dict[str, str]:
    """qid -> 'dev' or 'test', by source paragraph."""
    return {q.qid: side(paragraph_key(documents, q.relevant)) for q in queries}


def answer_correct(ans, expected: dict) -> bool:
    """Does an Answer give the expected regions / value / date?"""
    from retrieval.answer.extractive import regions_of

    if not ans.supported or not ans.items:
        return False
    if "regions" in expected:
        got = [r for r in regions_of(ans)]
        want = expected["regions"]
        return len(got) == len(want) and all(any(g.startswith(w) for g in got) for w in want)
    if "value" in expected:
        figs = find_figures(ans.items[0].value)
        return bool(figs) and abs(figs[0].value - expected["value"]) < 1e-6 and figs[0].unit == expected["unit"]
    if "date" in expected:
        return ans.items[0].value == expected["date"]
    return False


def _add(table: dict, split: str, group: str, ok: bool) -> None:
    cell = table.setdefault(split, {}).setdefault(group, {"n": 0.0, "correct": 0.0})
    cell["n"] += 1
    cell["correct"] += bool(ok)


def evaluate_answers(index, gold, folder: Path, facts_gold: Path | None = None) -> AnswerReport:
    """Ask every gold question, paraphrase and negative; score the facts table."""
    from retrieval.answer.extractive import answer_question

    rep = AnswerReport()
    side_of = splits(index.documents, gold.queries)
    if (Path(folder) / "sentences.tsv").exists():  # a facts gold: its documents were split before annotation
        from retrieval.evaluation_facts import load_facts_gold, question_splits

        side_of = question_splits(gold.queries, load_facts_gold(Path(folder)))
    by_id = {q.qid: q for q in gold.queries}
    correct: dict[str, bool] = {}
    # a set without expected answers (the People's Daily headlines) asks nothing here: headlines are not questions
    for q in gold.queries if any(q.answer for q in gold.queries) else ():
        ans = answer_question(index, q.query)
        split = side_of[q.qid]
        _add(rep.false_abstention, split, "all", not ans.supported)
        if q.answer:
            _add(rep.false_abstention, split, "with answer", not ans.supported)
        if not q.answer:
            if not ans.supported and split == "dev":
                rep.failures.append(f"{q.qid} (answerable, abstained) {q.query}")
            continue
        ok = answer_correct(ans, q.answer)
        correct[q.qid] = ok
        for group in ("all", f"lang:{q.lang}", f"kind:{q.kind}"):
            _add(rep.accuracy, split, group, ok)
        if not ok and split == "dev":
            rep.failures.append(f"{q.qid} {q.query} -> {ans.answer[:60]}")
    paraphrased: dict[str, list[bool]] = defaultdict(list)
    for p in load_paraphrases(folder):
        src = by_id.get(p.para_of)
        if src is None or not src.answer:
            log.warning("paraphrase %s: source %s has no expected answer", p.qid, p.para_of)
            continue
        ans = answer_question(index, p.query)
        ok = answer_correct(ans, src.answer)
        split = side_of[src.qid]
        _add(rep.false_abstention, split, "all", not ans.supported)
        _add(rep.false_abstention, split, "with answer", not ans.supported)
        for group in ("paraphrases", f"paraphrases:{p.lang}"):
            _add(rep.accuracy, split, group, ok)
        paraphrased[src.qid].append(ok)
        if not ok and split == "dev":
            rep.failures.append(f"{p.qid} ({p.para_of}) {p.query} -> {ans.answer[:60]}")
    for qid, oks in paraphrased.items():
        cell = rep.consistency.setdefault(side_of[qid], {"n": 0.0, "consistent": 0.0})
        cell["n"] += 1
        cell["consistent"] += all(oks) and correct.get(qid, False)
    for neg in load_negatives(folder):
        ans = answer_question(index, neg.query)
        split = side(neg.query)
        for group in ("all", neg.lang):
            cell = rep.abstention.setdefault(split, {}).setdefault(group, {"n": 0.0, "abstained": 0.0})
            cell["n"] += 1
            cell["abstained"] += not ans.supported
        if ans.supported and split == "dev":
            rep.failures.append(f"{neg.qid} (unanswerable) {neg.query} -> {ans.answer[:60]}")
    if facts_gold is not None and facts_gold.exists():
        rep.facts = score_facts(index.facts, facts_gold)
    if (folder / "regions.tsv").exists():
        rep.regions = score_regions(index, folder / "regions.tsv", rep.failures)
    return rep


LEVELS = {"province": 0, "city": 1, "county": 2}


def _region_item_ok(item, level: str, subjects: list[str], op: str, bound: str) -> list[str]:
    """What a listed region gets wrong against the hand-written criteria ([] when right)."""
    from retrieval.text.figures import find_figures, quantity
    from retrieval.text.regions import mentions

    wrong = []
    if not any(norm_text(w) in norm_text(item.quote) for w in subjects):
        wrong.append("subject")
    if op:
        got, want = find_figures(item.value), find_figures(bound)
        if not got or not want:
            wrong.append("figure")
        else:
            (dg, vg), (dw, vw) = quantity(got[0].value, got[0].unit), quantity(want[0].value, want[0].unit)
            if dg != dw or not {">": vg > vw, ">=": vg >= vw, "<": vg < vw, "<=": vg <= vw}[op]:
                wrong.append("comparison")
    if level != "any":
        places = mentions(item.region)
        asked = LEVELS[level]
        lv = places[0].level if places else None
        if not (lv == asked or (asked == 1 and lv == 2 and item.region.endswith("市"))):
            wrong.append("level")
    return wrong


def score_regions(index, path: Path, failures: list[str]) -> dict[str, float]:
    """Precision of which-regions answers against regions.tsv: every listed region must quote the
    asked subject, satisfy the comparison and sit at the level asked."""
    from retrieval.answer.extractive import answer_question

    rows = [r for r in _rows(path) if len(r) >= 7]
    out: dict[str, float] = {}
    for group in ("all", "held out"):
        out.update({f"{group} {k}": 0.0 for k in ("questions", "answered", "listed", "right")})
    for row in rows:
        qid, _lang, question, level, subjects, op, bound = row[:7]
        groups = ["all", "held out"] if len(row) > 7 and row[7].strip() == "held out" else ["all"]
        ans = answer_question(index, question)
        for g in groups:
            out[f"{g} questions"] += 1
            out[f"{g} answered"] += bool(ans.items)
        for item in ans.items:
            for region in item.region.split("、"):
                wrong = _region_item_ok(replace(item, region=region), level, subjects.split("|"), op, bound)
                for g in groups:
                    out[f"{g} listed"] += 1
                    out[f"{g} right"] += not wrong
                if wrong and "held out" not in groups:
                    failures.append(f"{qid} {question} -> {region} ({', '.join(wrong)}): {item.quote[:40]}")
    for g in ("all", "held out"):
        out[f"{g} precision"] = out[f"{g} right"] / out[f"{g} listed"] if out[f"{g} listed"] else 1.0
    return out


def score_facts(facts, path: Path) -> dict[str, float]:
    """Extraction precision/recall and per-field precision over facts matched to gold rows.

    A fact matches a gold row of its document whose raw figure it has and whose quote its
    sentence contains (one to one, in document order).
    """
    gold = [dict(zip(("doc", "quote", "raw", "value", "unit", "region", "period", "subject"), r, strict=False))
            for r in _rows(path)]
    used: set[int] = set()
    right = dict.fromkeys(FACT_FIELDS, 0)
    matched = 0
    for f in sorted(facts, key=lambda f: (f.doc_id, f.start, f.value_start)):
        sentence = norm_text(f.sentence)
        i = next((i for i, g in enumerate(gold) if i not in used and f.doc_id.startswith(g["doc"])
                  and norm_text(g["raw"]) == f.raw and norm_text(g["quote"]) in sentence), None)
        if i is None:
            continue
        used.add(i)
        matched += 1
        g = gold[i]
        right["value"] += abs(float(g["value"]) - f.value) < 1e-6
        right["unit"] += g["unit"] == f.unit
        right["region"] += g["region"] == f.region
        right["period"] += g["period"] == f.period
        subject = f.subject or ""
        right["subject"] += bool(subject) and (g["subject"] in subject or subject in g["subject"])
    out = {"extracted": float(len(facts)), "gold": float(len(gold)), "matched": float(matched),
           "precision": matched / len(facts) if facts else 0.0, "recall": matched / len(gold) if gold else 0.0}
    out.update({f"{k} precision": (v / matched if matched else 0.0) for k, v in right.items()})
    return out


def markdown(rep: AnswerReport) -> list[str]:
    """Report lines: accuracy, consistency, abstention and facts tables."""
    out = ["", "## Answers by split (dev: used for tuning; test: held out by source paragraph)", "",
           "| split | group | n | correct | share |", "|---|---|---|---|---|"]
    for split in ("dev", "test"):
        for group, c in sorted(rep.accuracy.get(split, {}).items()):
            out.append(f"| {split} | {group} | {int(c['n'])} | {int(c['correct'])} | {c['correct'] / c['n']:.2f} |")
    out += ["", "| split | paraphrase consistency (source and all its paraphrases right) | "
            "abstained on unanswerable (all / zh-Hans / zh-Hant / en) | false abstention: questions with an expected "
            "answer and their paraphrases | false abstention: every answerable question |",
            "|---|---|---|---|---|"]
    for split in ("dev", "test"):
        c = rep.consistency.get(split, {"n": 0.0, "consistent": 0.0})
        cons = f"{int(c['consistent'])}/{int(c['n'])} = {c['consistent'] / c['n']:.2f}" if c["n"] else "n/a"
        ab = rep.abstention.get(split, {})
        parts = []
        for g in ("all", "zh-Hans", "zh-Hant", "en"):
            a = ab.get(g)
            parts.append(f"{int(a['abstained'])}/{int(a['n'])}" if a else "0/0")
        share = ab.get("all", {"n": 0.0, "abstained": 0.0})
        abst = " / ".join(parts) + (f" = {share['abstained'] / share['n']:.2f}" if share["n"] else "")
        false_ab = []
        for group in ("with answer", "all"):
            fa = rep.false_abstention.get(split, {}).get(group, {"n": 0.0, "correct": 0.0})
            n, wrong = int(fa["n"]), int(fa["correct"])
            false_ab.append(f"{wrong}/{n} = {wrong / n:.2f}" if n else "n/a")
        out.append(f"| {split} | {cons} | {abst} | {false_ab[0]} | {false_ab[1]} |")
    if rep.facts:
        f = rep.facts
        out += ["", "## Facts table against eval/gold/facts (hand-checked)", "",
                f"{int(f['extracted'])} extracted, {int(f['gold'])} gold, {int(f['matched'])} matched: "
                f"precision {f['precision']:.2f}, recall {f['recall']:.2f}.", "",
                "| field | precision (of matched facts) |", "|---|---|"]
        out += [f"| {k} | {f[f'{k} precision']:.2f} |" for k in FACT_FIELDS]
    if rep.regions:
        r = rep.regions
        out += ["", "## Which-regions answers against regions.tsv (subject, comparison, level; hand-written criteria)",
                "", "| questions | n | answered with regions | regions listed | right | precision |",
                "|---|---|---|---|---|---|"]
        for g in ("all", "held out"):
            out.append(f"| {g} | {int(r[f'{g} questions'])} | {int(r[f'{g} answered'])} | {int(r[f'{g} listed'])} | "
                       f"{int(r[f'{g} right'])} | {r[f'{g} precision']:.2f} |")
    if rep.failures:
        out += ["", "Dev split, wrong or unanswered: " + "; ".join(rep.failures)]
    return out


def summary(rep: AnswerReport) -> dict:
    return json.loads(json.dumps({"accuracy": rep.accuracy, "consistency": rep.consistency,
                                  "abstention": rep.abstention, "false_abstention": rep.false_abstention,
                                  "facts": rep.facts, "regions": rep.regions}))
