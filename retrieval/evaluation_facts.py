"""The unseen facts gold (eval/gold/facts_unseen): extraction precision and recall per split.

A gold row is one fact of one sentence for one region (``facts.tsv``, annotated by hand; the
guide is the folder's README). An extracted fact is judged when its sentence is a gold sentence
of a document of the set; it matches a gold row of that sentence with the same quantity (value,
range end and unit, in base units: 300万吨 is 3,000,000 吨) and the same region (全国 and none
are one: a national figure), one to one. Dates are not facts here (the guide), so the date
facts the build keeps for "when" questions are not judged. Matched facts are then compared
field by field: subject (sharing half its characters with the gold subject), direction,
qualifier, period and year.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from retrieval.text.facts import fact_year
from retrieval.text.figures import DIMENSIONS, quantity
from retrieval.text.normalize import norm_text
from retrieval.types import Fact

FIELDS = ("subject", "direction", "qualifier", "period", "year")
NATIONAL = {"", "全国", "中国", "我国"}
SAME_UNIT = {"个工作日": "工作日", "百分点": "个百分点", "％": "%"}  # one unit written two ways


@dataclass(frozen=True)
class GoldFact:
    """One hand-annotated fact (see eval/gold/facts_unseen/README.md)."""

    sid: str
    region: str
    subject: str
    value: float
    high: float | None
    unit: str
    direction: str
    qualifier: str
    period: str
    year: str


@dataclass(frozen=True)
class FactsGold:
    """Sentences (sid -> split, doc_id, normalized text) and their facts."""

    sentences: dict[str, tuple[str, str, str]]
    facts: dict[str, list[GoldFact]]

    def split_of_doc(self) -> dict[str, str]:
        return {doc: split for split, doc, _ in self.sentences.values()}


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split("\t") for ln in lines if ln.strip() and not ln.startswith("#")]


def load_facts_gold(folder: Path) -> FactsGold:
    """Read ``sentences.tsv`` and ``facts.tsv`` of a facts gold folder."""
    sentences = {r[0]: (r[1], r[2], norm_text(r[3]).strip()) for r in _rows(Path(folder) / "sentences.tsv")}
    facts: dict[str, list[GoldFact]] = defaultdict(list)
    for r in _rows(Path(folder) / "facts.tsv"):
        if len(r) < 2 or r[1] == "NONE":
            facts.setdefault(r[0], [])
            continue
        r = (r + [""] * 10)[:10]
        facts[r[0]].append(GoldFact(r[0], r[1], r[2], float(r[3]), float(r[4]) if r[4] else None, r[5], r[6],
                                    r[7], r[8], r[9]))
    return FactsGold(sentences, dict(facts))


def base_quantity(value: float, unit: str) -> tuple[str, float]:
    """(dimension, value in base units), a 万/亿 written into a unit included ("300万吨" -> 吨, 3e6)."""
    unit = norm_text(unit)
    unit = SAME_UNIT.get(unit, unit)
    if unit not in DIMENSIONS and len(unit) > 1 and unit[0] in "万亿" and unit not in ("万亿元",):
        mult = 1e4 if unit[0] == "万" else 1e8
        rest = unit[1:]
        if rest in DIMENSIONS or rest not in ("元", "美元"):
            dim, v = quantity(value * mult, rest)
            return _people(dim), v
    dim, v = quantity(value, unit)
    return _people(dim), v


def _people(dim: str) -> str:
    return "people" if dim in ("名", "人", "people") else dim


def _same(a: tuple[str, float], b: tuple[str, float]) -> bool:
    return a[0] == b[0] and abs(a[1] - b[1]) <= 1e-6 * max(1.0, abs(a[1]), abs(b[1]))


def gold_doc(doc_id: str) -> str:
    """The gold's document id of an index's: the file name without its extension."""
    return doc_id.rsplit(".", 1)[0]


def region_key(name: str) -> str:
    """A region's canonical name: 全国 and none are one; "浙江" and "浙江省" are one."""
    from retrieval.text.regions import mentions

    name = norm_text(name).strip()
    if name in NATIONAL:
        return ""
    places = mentions(name)
    return places[0].name if places and places[0].start == 0 else name


def _qualifiers(text: str) -> frozenset[str]:
    words = {w for w in re.split(r"[、,，\s]+", norm_text(text)) if w}
    words = {"以内" if w == "内" else w for w in words}
    return frozenset(w for w in words if w not in ("达", "达到"))  # a verb, not a bound


def _subject_ok(got: str, want: str) -> bool:
    got, want = norm_text(got), norm_text(want)
    if not got or not want:
        return got == want
    return got in want or want in got or len(set(got) & set(want)) >= 0.5 * len(set(want))


def score_extraction(facts: list[Fact], gold: FactsGold, dates: dict[str, str] | None = None) -> dict:
    """split -> counts, precision, recall (figure and region), and per-field agreement of matches."""
    dates = dates or {}
    split_of = gold.split_of_doc()
    by_sentence: dict[tuple[str, str], str] = {(doc, text): sid for sid, (_, doc, text) in gold.sentences.items()}
    extracted: dict[str, list[Fact]] = defaultdict(list)
    outside: dict[str, int] = defaultdict(int)
    for f in facts:
        doc = gold_doc(f.doc_id)
        if f.unit == "日期" or doc not in split_of:
            continue
        sid = by_sentence.get((doc, norm_text(f.sentence).strip()))
        if sid is None:
            outside[split_of[doc]] += 1
            continue
        extracted[sid].append(f)
    out: dict[str, dict] = {}
    for split in ("dev", "test"):
        sids = [s for s, (sp, _, _) in gold.sentences.items() if sp == split]
        n_gold = n_pred = strict = figure = 0
        right = dict.fromkeys(FIELDS, 0)
        for sid in sids:
            want = gold.facts.get(sid, [])
            got = extracted.get(sid, [])
            n_gold += len(want)
            n_pred += len(got)
            # figures alone (a multiset): what was read, whoever it is about
            free = list(want)
            for f in got:
                q = base_quantity(f.value, f.unit)
                hit = next((g for g in free if _same(q, base_quantity(g.value, g.unit))
                            and _high_ok(f, g)), None)
                if hit is not None:
                    free.remove(hit)
                    figure += 1
            free = list(want)
            for f in got:
                q = base_quantity(f.value, f.unit)
                key = region_key(f.region)
                hit = next((g for g in free if _same(q, base_quantity(g.value, g.unit)) and _high_ok(f, g)
                            and region_key(g.region) == key), None)
                if hit is None:
                    continue
                free.remove(hit)
                strict += 1
                right["subject"] += _subject_ok(f.subject, hit.subject)
                right["direction"] += (f.direction or "") == hit.direction
                right["qualifier"] += _qualifiers(f.qualifier) == _qualifiers(hit.qualifier)
                right["period"] += norm_text(f.period) == norm_text(hit.period)
                right["year"] += fact_year(f, dates.get(gold_doc(f.doc_id), "")) == hit.year
        out[split] = {
            "sentences": len(sids), "gold": n_gold, "extracted": n_pred, "matched": strict,
            "precision": strict / n_pred if n_pred else 0.0, "recall": strict / n_gold if n_gold else 0.0,
            "figure precision": figure / n_pred if n_pred else 0.0, "figure recall": figure / n_gold if n_gold else 0.0,
            "outside gold sentences": outside[split],
            **{f"{k} agreement": (v / strict if strict else 0.0) for k, v in right.items()},
        }
    return out


def _high_ok(f: Fact, g: GoldFact) -> bool:
    if g.high is None:
        return f.value_high is None
    if f.value_high is None:
        return False
    return _same(base_quantity(f.value_high, f.unit), base_quantity(g.high, g.unit))


def _show(region: str, subject: str, value: float, high: float | None, unit: str) -> str:
    return f"{region or '-'}|{subject}|{value:g}{'-' + format(high, 'g') if high else ''}{unit}"


def failures(facts: list[Fact], gold: FactsGold, split: str = "dev", limit: int = 40) -> list[str]:
    """Dev sentences whose extracted facts differ from the gold: what to look at while tuning."""
    out: list[str] = []
    for sid, (sp, doc, text) in gold.sentences.items():
        if sp != split:
            continue
        got = sorted(_show(f.region, f.subject, f.value, f.value_high, f.unit) for f in facts
                     if gold_doc(f.doc_id) == doc and f.unit != "日期" and norm_text(f.sentence).strip() == text)
        want = sorted(_show(g.region, g.subject, g.value, g.high, g.unit) for g in gold.facts.get(sid, []))
        if got != want:
            out.append(f"{sid} {text[:50]}\n    gold: {'; '.join(want) or '-'}\n    got:  {'; '.join(got) or '-'}")
        if len(out) >= limit:
            break
    return out


def markdown(scores: dict, gold: str = "eval/gold/facts_unseen") -> list[str]:
    """Report lines for a facts gold."""
    out = ["", f"## Facts against {gold} (annotated by hand; test never read for tuning)", "",
           "| | dev | test |", "|---|---|---|"]
    keys = ["sentences", "gold", "extracted", "matched", "precision", "recall", "figure precision", "figure recall",
            "outside gold sentences", *(f"{k} agreement" for k in FIELDS)]
    for k in keys:
        cells = [scores[s][k] for s in ("dev", "test")]
        out.append(f"| {k} | " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in cells) + " |")
    return out


def score_region_questions(index, queries, paraphrases=(), split_of: dict[str, str] | None = None,
                           splits: tuple[str, ...] = ("dev", "test")) -> dict:
    """Which-regions questions with expected regions: recall and precision of the regions listed
    (micro-averaged), and the share refused, per split and language group (zh: either script; en;
    paraphrases). A listed region is right when it is an expected one (canonical names). Only the
    questions of ``splits`` are asked (tuning asks dev alone)."""
    from retrieval.answer.extractive import answer_question, regions_of

    split_of = split_of or {}
    asked = [(q.query, split_of.get(q.qid, "test"), "en" if q.lang == "en" else "zh", q.answer["regions"])
             for q in queries if q.kind == "which_regions" and q.answer and "regions" in q.answer]
    by_id = {q.qid: q for q in queries}
    for p in paraphrases:
        src = by_id.get(p.para_of)
        if src is not None and src.answer and "regions" in src.answer:
            asked.append((p.query, split_of.get(src.qid, "test"), "paraphrases", src.answer["regions"]))
    out: dict[str, dict[str, float]] = {}
    misses: list[str] = []
    for query, split, group, want in asked:
        if split not in splits:
            continue
        ans = answer_question(index, query)
        got = {region_key(r) for r in regions_of(ans)} if ans.supported else set()
        wanted = {region_key(r) for r in want}
        for g in (f"{split} {group}", f"{split} all"):
            cell = out.setdefault(g, {"questions": 0.0, "expected": 0.0, "listed": 0.0, "right": 0.0, "refused": 0.0})
            cell["questions"] += 1
            cell["expected"] += len(wanted)
            cell["listed"] += len(got)
            cell["right"] += len(got & wanted)
            cell["refused"] += not got
        if got != wanted and split == "dev":  # the test side is not read while tuning
            misses.append(f"{query} -> {sorted(got)} (want {sorted(wanted)})")
    for cell in out.values():
        cell["recall"] = cell["right"] / cell["expected"] if cell["expected"] else 0.0
        cell["precision"] = cell["right"] / cell["listed"] if cell["listed"] else 1.0
        cell["refusal"] = cell["refused"] / cell["questions"] if cell["questions"] else 0.0
    return {"groups": out, "misses": misses}


def question_splits(queries, gold: FactsGold) -> dict[str, str]:
    """qid -> the split of the documents its answer is stated in."""
    split_of = gold.split_of_doc()
    return {q.qid: split_of.get(q.relevant[0][0], "test") for q in queries if q.relevant}


def region_markdown(scores: dict) -> list[str]:
    """Report lines for the which-regions questions of the facts gold."""
    out = ["", "## Which-regions questions over eval/gold/facts_unseen (test: from the test side's facts)", "",
           "| split | group | questions | expected | listed | recall | precision | refused |",
           "|---|---|---|---|---|---|---|---|"]
    for split in ("dev", "test"):
        for g in ("zh", "en", "paraphrases", "all"):
            c = scores["groups"].get(f"{split} {g}")
            if c:
                out.append(f"| {split} | {g} | {int(c['questions'])} | {int(c['expected'])} | {int(c['listed'])} | "
                           f"{c['recall']:.3f} | {c['precision']:.3f} | {c['refusal']:.3f} |")
    if scores["misses"]:
        out += ["", "Dev questions answered otherwise: " + "; ".join(scores["misses"])]
    return out
