"""Extractive answers: every statement is a verbatim quote with its source, never generated text.

A figure question is answered from the facts of the retrieved paragraphs whose measured
subject (by the question's words or by meaning), unit, direction, period and place agree with
the question. A which-regions question with a figure lists the regions of the retrieved
sentences that name all that the question measures; where none does, the facts of the whole
index (built once, at index time) that state the figure or satisfy its comparison, for a subject
that means what the question measures (retrieval/answer/subjects.py), one region each. A
sentence's region is the places it names, then its paragraph's (subject, section heading,
article). When nothing supports an answer, the answer says so and keeps the closest passages
as evidence.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from retrieval.answer.evidence import Support, english_region, inside, support_for, where_for
from retrieval.answer.question import Question, analyze
from retrieval.answer.subjects import measured_phrase, subject_matches
from retrieval.errors import StaleQuote
from retrieval.index import Index
from retrieval.store import FactQuery, Filter
from retrieval.text.facts import enumerated
from retrieval.text.figures import DIMENSIONS, format_value, quantity, same_quantity, unit_fits
from retrieval.text.normalize import normalize, split_sentences
from retrieval.text.regions import COUNTRY, mentions, region_level, subject_region
from retrieval.types import Answer, AnswerItem, Chunk, Fact, Hit

log = logging.getLogger(__name__)

EVIDENCE_K = 10
REGIONS_K = 20  # a which-regions answer lists every region: it reads more of the ranking
MIN_COVERAGE = 0.5  # share of a question's content units a supporting sentence must contain
MIN_INFORMATION = 0.3  # ... and share of their idf weight (Support.information): not only its common words
MIN_MEASURED = 0.5  # share of what the question measures that a fact's sentence must name
LIST_MEASURED = 1.0  # ... for a region listed by a which-regions answer: all of it ("旅游收入" is not "税收收入")
LOCAL_WEIGHT = 2.0  # question words next to the figure count twice
LEVEL_BONUS = 3.0  # a statement at the level of the place asked about ("四川全省" -> the province's figure)
UNIT_BONUS = 1.0  # the very unit asked for ("多少家" -> 家 over 个)
CLAUSE = re.compile(r"[,，;；。!?！？]")
RANGE = re.compile(r"^\s*[至到~—-]\s*$")
QUARTER = {"首季": "一季度", "第一季度": "一季度", "第二季度": "二季度", "第三季度": "三季度", "第四季度": "四季度"}
FULL_YEAR = {"全年", "今年", "年内", "年底", "年底前"}


@dataclass(frozen=True)
class Sentence:
    """A sentence of a hit, with its place in the source document."""

    hit: Hit
    text: str  # original
    norm: str
    start: int  # in the document text
    end: int
    coverage: float
    score: float


@dataclass(frozen=True)
class Candidate:
    """A fact of the evidence with how well it answers the question."""

    fact: Fact
    hit: Hit
    score: float


def facts_for(index: Index, where: Filter | None = None, unit: str | None = None,
              limit: int | None = None, units: tuple[str, ...] = ()) -> list[Fact]:
    """Facts the filter selects (regions at any level, in either script or short as 广安; documents,
    outlets, dates) and/or with a unit (or any of ``units``), selected by the store."""
    where = where or Filter()
    regions = []
    for region in where.regions:
        name = normalize(region).text
        places = mentions(name)
        regions.append(places[0].name if places else name)
    return index.facts_where(FactQuery(
        regions=tuple(regions), units=((normalize(unit).text,) if unit else ()) + units, doc_ids=where.doc_ids,
        outlets=where.outlets, date_from=where.date_from, date_to=where.date_to, limit=limit))


def _level(province: str, city: str, county: str) -> int | None:
    return 2 if county else 1 if city else 0 if province else None


def _fact_level(f: Fact) -> int | None:
    """A fact's region level (``region_level``: a foreign country COUNTRY, a village 3)."""
    return region_level(f.region, f.province, f.city, f.county)


def _level_fits(level: int | None, name: str, asked: int | None) -> bool:
    """A region at the level asked for; a county-level city (华蓥市) and a province-level
    municipality (天津市) are cities too."""
    if COUNTRY in (level, asked):  # a foreign country only where countries are asked for
        return level == asked
    if asked is None:
        return True
    if level == asked:
        return True
    return asked == 1 and level in (0, 2) and name.endswith("市")


def _period_fits(asked: str, stated: str) -> bool:
    """Same period, a year and its full year, or one side a frequency (每月) or unstated."""
    if not asked or not stated or asked == stated or asked.startswith("每") or stated.startswith("每"):
        return True
    a, s = QUARTER.get(asked, asked), QUARTER.get(stated, stated)
    if a == s:
        return True
    years = [p for p in (a, s) if re.fullmatch(r"\d{4}年(?:底|末)?", p)]
    if len(years) == 1 and ({a, s} - set(years)) <= FULL_YEAR:
        return True  # "2023年" and "全年"
    return a in FULL_YEAR and s in FULL_YEAR


def _year_fits(index: Index, q: Question, sentence: str, chunk: Chunk) -> bool:
    """A year named in the question is stated by the sentence, its paragraph or its article."""
    if not q.year:
        return True
    for text in (sentence, chunk.norm):
        years = re.findall(r"((?:19|20)\d{2})年", text)
        if years:
            return q.year in years
    doc = index.documents[chunk.doc_id]
    return q.year in normalize(doc["text"]).text or (doc.get("date") or "").startswith(q.year)


def _local(sentence_norm: str, at: int, end: int, after: bool) -> str:
    """The clause holding a figure (and for a date the clause after it, where its event is)."""
    start = max((m.end() for m in CLAUSE.finditer(sentence_norm, 0, at)), default=0)
    stops = [m.start() for m in CLAUSE.finditer(sentence_norm, end)]
    stop = stops[1] if after and len(stops) > 1 else stops[0] if stops else len(sentence_norm)
    return sentence_norm[start:stop]


def _fact_text(f: Fact) -> tuple[str, int, int]:
    """The fact's sentence normalized, with the figure's span in it."""
    nz = normalize(f.sentence)
    rel = f.value_start - f.start
    at = next((i for i, s in enumerate(nz.source) if s >= rel), 0)
    end = next((i for i, s in enumerate(nz.source) if s >= f.value_end - f.start), len(nz.text))
    return nz.text, at, end


def _evidence_facts(index: Index, hits: list[Hit]) -> list[tuple[Fact, Hit]]:
    by_chunk = {h.chunk.chunk_id: h for h in hits}
    facts = index.facts_where(FactQuery(chunk_ids=tuple(by_chunk))) if by_chunk else []
    return [(f, by_chunk[f.chunk_id]) for f in facts]


def _agrees(q: Question, f: Fact, sentence: str) -> bool:
    """Direction and period agree; a fall is asked about only where one is stated."""
    if q.direction == "down" and f.direction != "down":
        return False
    if q.direction == "up" and f.direction == "down":
        return False
    return _period_fits(q.period, f.period)


def _figure_candidates(index: Index, q: Question, sup: Support, hits: list[Hit]) -> list[Candidate]:
    """Facts of the evidence that answer a figure or date question, best first.

    A fact qualifies by the question's words in its sentence (support), or by its subject meaning
    what the question measures (retrieval/answer/subjects.py): "四川全省新增规上工业企业多少家" is
    answered by "全省新入规工业企业1200家" though the two share few words. A fact of the very
    place asked about, at its level, comes before a fact of a place inside it.
    """
    out: list[Candidate] = []
    evidence = _evidence_facts(index, hits)
    meaning = subject_matches(index, q, [f.subject for f, _ in evidence]) if q.kind != "when" else {}
    for f, h in evidence:
        if (q.kind == "when") != (f.unit == "日期"):
            continue
        if q.kind != "when":
            if q.unit and not unit_fits(q.unit, f.unit):
                continue
            if any(same_quantity((g.value, g.unit), (f.value, f.unit)) for g in q.figures):
                continue  # a figure the question gives as context ("10亿元以上企业")
        text, at, end = _fact_text(f)
        if not _agrees(q, f, text) or not _year_fits(index, q, text, h.chunk):
            continue
        supported = (sup.coverage(text, context_of(index, h.chunk)) >= MIN_COVERAGE
                     and sup.measured(text) >= MIN_MEASURED and sup.information(text) >= MIN_INFORMATION)
        if not supported and f.subject not in meaning:
            continue
        local = _local(text, at, end, after=f.unit == "日期") + f.subject
        score = LOCAL_WEIGHT * sup.weight(local) + sup.weight(text) + 0.3 * (EVIDENCE_K - h.rank) / EVIDENCE_K
        if q.region is not None and _fact_level(f) == q.region.level:
            score += LEVEL_BONUS
        if q.unit and f.unit == q.unit:
            score += UNIT_BONUS
        out.append(Candidate(f, h, score))

    def own(c: Candidate) -> bool:  # the very place asked about states it (not a place inside it)
        return q.region is not None and c.fact.region == q.region.name

    # the place's own statement first, then the measure word asked for ("多少家": 家 over 户), then support
    return sorted(out, key=lambda c: (not own(c), not (q.unit and c.fact.unit == q.unit), -c.score, c.hit.rank,
                                      c.fact.start))


def context_of(index: Index, c: Chunk) -> str:
    """Who a paragraph speaks for: its region, section heading and article title."""
    return " ".join((c.region, normalize(c.section).text, normalize(index.documents[c.doc_id].get("title") or "").text))


def _provenance(index: Index, doc_id: str) -> dict[str, str]:
    doc = index.documents[doc_id]
    return {"title": normalize(doc.get("title") or "").text, "outlet": doc.get("outlet") or "",
            "date": doc.get("date") or ""}


def _newest_first(index: Index, q: Question, items: list, chunk_of) -> list:
    """For a question about the latest state or a year: the newest source document first.

    A stable sort on the document date, so the best-supported item of each date keeps its
    place; undated documents come after dated ones. Other questions keep the given order.
    """
    if not (q.latest or q.year):
        return items
    return sorted(items, key=lambda x: index.documents[chunk_of(x).doc_id].get("date") or "", reverse=True)


def _highlights(doc_text: str, start: int, end: int, terms: tuple[str, ...], extra=()) -> tuple[tuple[int, int], ...]:
    """Spans (document coordinates) of question terms inside the quote, plus extra spans."""
    quote = doc_text[start:end]
    nz = normalize(quote)
    spans = set(extra)
    for t in terms:
        if len(t) < 2 and not t[:1].isdigit():
            continue
        for m in re.finditer(re.escape(t), nz.text):
            a, b = nz.original_span(*m.span())
            spans.add((start + a, start + b))
    return tuple(sorted(spans))


def _fact_item(index: Index, f: Fact, sup: Support, value: str = "", span: tuple[int, int] | None = None) -> AnswerItem:
    doc_text = index.documents[f.doc_id]["text"]
    if doc_text[f.start : f.end] != f.sentence:
        raise StaleQuote(f.doc_id)
    shown = value or (format_value(f.value, f.unit, f.value_high) if f.unit != "日期" else f.raw)
    return AnswerItem(
        region=f.region, period=f.period, value=shown, quote=f.sentence, doc_id=f.doc_id, chunk_id=f.chunk_id,
        span=(f.start, f.end), highlights=_highlights(doc_text, f.start, f.end, sup.terms(),
                                                      [span or (f.value_start, f.value_end)]),
        subject=f.subject, **_provenance(index, f.doc_id),
    )


def _sentence_item(index: Index, s: Sentence, region: str, sup: Support, period: str = "") -> AnswerItem:
    doc_text = index.documents[s.hit.chunk.doc_id]["text"]
    if doc_text[s.start : s.end] != s.text:  # a quote is verbatim or it is not shown
        raise StaleQuote(s.hit.chunk.doc_id)
    return AnswerItem(
        region=region, period=period, value="", quote=s.text, doc_id=s.hit.chunk.doc_id,
        chunk_id=s.hit.chunk.chunk_id, span=(s.start, s.end),
        highlights=_highlights(doc_text, s.start, s.end, sup.terms()), **_provenance(index, s.hit.chunk.doc_id),
    )


def _sentences(index: Index, q: Question, sup: Support, hits: list[Hit]) -> list[Sentence]:
    """Sentences of the hits that the question's content supports, best first."""
    out: list[Sentence] = []
    stored = index.store.sentences([h.chunk.chunk_id for h in hits])  # split and normalized at build time
    for h in hits:
        c = h.chunk
        for st in stored.get(c.chunk_id, []):
            raw = c.text[st.start - c.start : st.end - c.start]
            norm = st.norm
            coverage = sup.coverage(norm, context_of(index, c)) if _year_fits(index, q, norm, c) else 0.0
            score = sup.weight(norm) + 0.3 * (EVIDENCE_K - h.rank) / EVIDENCE_K
            out.append(Sentence(h, raw, norm, st.start, st.end, coverage, score))
    out = [s for s in out if s.coverage >= MIN_COVERAGE and sup.information(s.norm) >= MIN_INFORMATION]
    if q.lang == "en" and out:  # rank the supported sentences by meaning, the gloss being coarse
        sims = _meaning(index, q, out)
        return [s for _, s in sorted(zip(sims, out, strict=True), key=lambda p: -(p[0] + p[1].coverage))]
    return sorted(out, key=lambda s: (-s.score, s.hit.rank, s.start))


def _meaning(index: Index, q: Question, sents: list[Sentence]) -> list[float]:
    """Each sentence's cosine to the question, from the vectors the build stored (no embedding here).

    A sentence's vector is the part whose text (a sentence of the chunk's normalized text) equals
    the sentence's; a paragraph embedded whole (one sentence, or by the sentence-vector policy)
    scores its sentences with the paragraph's vector.
    """
    qv = index.encoder.encode_queries([q.norm])[0]
    parts = index.store.part_scores(qv, [s.hit.chunk.chunk_id for s in sents])
    part_of: dict[str, dict[str, int]] = {}
    sims = []
    for s in sents:
        c = s.hit.chunk
        if c.chunk_id not in part_of:
            part_of[c.chunk_id] = {}
            for i, (a, b) in enumerate(split_sentences(c.norm)[:63], start=1):
                part_of[c.chunk_id].setdefault(c.norm[a:b].strip(), i)
        scores = parts.get(c.chunk_id, {})
        part = part_of[c.chunk_id].get(s.norm.strip(), 0)
        sims.append(scores.get(part, scores.get(0, 0.0)))
    return sims


def _sentence_regions(index: Index, q: Question, s: Sentence) -> list[str]:
    """Regions a sentence speaks for: places it lists or opens with, else its paragraph's,
    section heading's or article's; at the level asked, within the question's region."""
    content = {p.name for p in q.places if p is not q.region}

    def ok(name: str, level: int | None, province: str, city: str, county: str) -> bool:
        if name in content or (q.region is not None and name == q.region.name and q.level is not None):
            return False
        if q.region is not None and not inside(province, city, county, name, q.region):
            return False
        return _level_fits(level, name, q.level)

    places = [p for p in mentions(s.norm) if ok(p.name, p.level, p.province, p.city, p.county)]
    listed = enumerated(places, s.norm)
    if listed:
        return [p.name for p in listed]
    subject = subject_region(s.norm)
    if subject is not None and ok(subject.name, subject.level, subject.province, subject.city, subject.county):
        return [subject.name]
    c = s.hit.chunk
    if c.region and ok(c.region, _level(c.province, c.city, c.county), c.province, c.city, c.county):
        return [c.region]
    for text in (normalize(c.section).text, normalize(index.documents[c.doc_id].get("title") or "").text):
        found = [p for p in mentions(text) if ok(p.name, p.level, p.province, p.city, p.county)]
        if found:
            return [found[0].name]
    if q.level is None and q.region is None and places:
        return [places[0].name]
    return []


def _region_of(index: Index, s: Sentence) -> str:
    """Whose statement a sentence is: the place it opens with, else its paragraph's."""
    subject = subject_region(s.norm)
    return subject.name if subject is not None else s.hit.chunk.region


# a figure stated as more than itself ("10万多人次", "超过10万") passes "more than" its own value and
# fails "at most" it; 以上/以下 include the number (as the law reads them), so they decide nothing here
ABOVE = frozenset({"多", "余", "超过"})


def _figure_matches(q: Question, f: Fact) -> bool:
    if q.comparison is not None:
        op, g = q.comparison
        dim_f, vf = quantity(f.value, f.unit)
        dim_g, vg = quantity(g.value, g.unit)
        if dim_f != dim_g:
            return False
        bound = set(f.qualifier.split("、")) if f.qualifier else set()
        above = f.approx or bool(bound & ABOVE)  # approx: 余 or 多 written into the figure
        if vf == vg and f.value_high is None and above and op in (">", "<="):
            return op == ">"
        return {">": vf > vg, ">=": vf >= vg, "<": vf < vg, "<=": vf <= vg}[op]
    return any(same_quantity((f.value, f.unit), (g.value, g.unit)) for g in q.figures)


def _regions_with_figure(index: Index, q: Question, sup: Support, hits: list[Hit]) -> list[Fact]:
    """Facts of the evidence that state the question's figure for what it measures, one per region."""
    chosen: dict[str, tuple[Fact, Hit]] = {}
    # the change the question binds to its figure ("增长超过20%"; not the 增长 of a campaign's name)
    asked = q.comparison[1] if q.comparison is not None else q.figures[0] if q.figures else None
    bound = q.direction if q.lang == "en" else asked.direction if asked is not None else ""
    for f, h in sorted(_evidence_facts(index, hits), key=lambda p: (p[0].doc_id, p[0].start)):
        if f.unit == "日期" or not _figure_matches(q, f):
            continue
        text, _, _ = _fact_text(f)
        if not _agrees(q, f, text) or not _year_fits(index, q, text, h.chunk) or sup.measured(text) < LIST_MEASURED:
            continue
        if bound and f.direction != bound:
            continue  # a listed region states the change asked about ("增长超过20%" is not "占30%")
        if not sup.named(text + "\n" + context_of(index, h.chunk)):
            continue  # an English name of the question ("GDP") is stated
        if q.region is not None and not inside(f.province, f.city, f.county, f.region, q.region):
            continue
        if not f.region or not _level_fits(_fact_level(f), f.region, q.level):
            continue
        in_paragraph = h.chunk.start <= f.start < h.chunk.end
        key = f"{f.region}|{f.period}"
        if key not in chosen or (in_paragraph and not chosen[key][1].chunk.start <= chosen[key][0].start
                                 < chosen[key][1].chunk.end):
            chosen[key] = (f, h)  # a paragraph's sentence over its section's subtitle
    return sorted((f for f, _ in chosen.values()), key=lambda f: (f.doc_id, f.start))


def _regions_answer(index: Index, q: Question, sup: Support, hits: list[Hit], facts: list[Fact]) -> Answer:
    """Each region once, quoted with the sentence that states its figure."""
    if not facts:
        return _unsupported(q, hits, "语料中没有地区对这一项给出这个数字")
    items = tuple(_fact_item(index, f, sup) for f in facts)
    line = "；".join(f"{f.region}（{'，'.join(x for x in (f.period, f.phrase) if x)}）" for f in facts)
    return Answer(q.text, q.kind, line, items, tuple(hits), True)


def _dimension_units(unit: str) -> tuple[str, ...]:
    """The units of a figure's dimension (a 亿元 question is answered by facts in 万元 too)."""
    dim = quantity(1.0, unit)[0]
    return tuple(u for u, (d, _) in DIMENSIONS.items() if d == dim) or (unit,)


def _regions_from_facts(index: Index, q: Question, where: Filter | None) -> list[Fact]:
    """Regions whose facts state the question's figure (or satisfy its comparison) for a subject that
    means what the question measures; each region quoted with its sentence.

    Facts of the whole index are read (not only the retrieved passages'): the figure and its unit
    narrow them in the store, the subject's meaning picks among what is left.
    """
    asked = q.comparison[1] if q.comparison is not None else q.figures[0]
    facts = facts_for(index, where, units=_dimension_units(asked.unit))  # the store narrows by unit
    cands = [f for f in facts if unit_fits(asked.unit, f.unit) and _figure_matches(q, f)]
    # the change bound to the figure: in Chinese the verb before it ("增长超过20%"); in English
    # the question's verb when the figure is a rate or a change "by" an amount ("grew by more than
    # 20%"), not a verb of collecting or producing ("raised 1.5 billion yuan")
    if q.lang == "en":
        rate = asked.unit in ("%", "个百分点") or re.search(r"\bby\s+(?:more than |over |at least |about |nearly )?\d",
                                                             q.norm.lower())
        bound = q.direction if rate else ""
    else:
        bound = asked.direction
    kept: list[Fact] = []
    for f in cands:
        if f.region in ("", "全国") or not _level_fits(_fact_level(f), f.region, q.level):
            continue
        if q.region is not None and not inside(f.province, f.city, f.county, f.region, q.region):
            continue
        if bound and f.direction != bound:
            continue  # a listed region states the change asked about ("增长超过20%" is not "占30%")
        if q.direction == "down" and f.direction != "down":
            continue
        if not _period_fits(q.period, f.period):
            continue
        kept.append(f)
    if measured_phrase(q):  # what is measured picks among the facts with the figure
        good = subject_matches(index, q, [f.subject for f in kept])
    else:  # the figure alone is asked ("哪些地区提出了9.5%的增长目标")
        good = dict.fromkeys((f.subject for f in kept), 1.0)
    best: dict[str, tuple[float, Fact]] = {}
    for f in kept:
        m = good.get(f.subject, 0.0)
        if m > 0 and (f.region not in best or m > best[f.region][0]):
            best[f.region] = (m, f)
    if q.year:
        chunks = index.store.chunks([f.chunk_id for _, f in best.values()])
        best = {r: (m, f) for r, (m, f) in best.items() if f.chunk_id in chunks
                and _year_fits(index, q, normalize(f.sentence).text, chunks[f.chunk_id])}
    return sorted((f for _, f in best.values()), key=lambda f: (f.doc_id, f.start, f.region))


def _regions_by_text(index: Index, q: Question, sup: Support, hits: list[Hit]) -> Answer:
    for s in _newest_first(index, q, _sentences(index, q, sup, hits)[:5], lambda s: s.hit.chunk):
        names = _sentence_regions(index, q, s)
        if names:
            item = _sentence_item(index, s, "、".join(names), sup, q.period)
            return Answer(q.text, q.kind, "、".join(names) + f"（{s.norm}）", (item,), tuple(hits), True)
    return _unsupported(q, hits, "没有找到说明这一点的句子")


def _figure_answer(index: Index, q: Question, sup: Support, hits: list[Hit]) -> Answer:
    cands = _newest_first(index, q, _figure_candidates(index, q, sup, hits), lambda c: c.hit.chunk)
    if not cands:
        return _unsupported(q, hits, "检索到的段落中没有给出这个数字的句子")
    f = cands[0].fact
    if f.unit == "日期":
        value, span = f.raw, None
    else:  # a range ("2万元至20万元") is one answer
        same = sorted((c.fact for c in cands if c.fact.start == f.start and c.fact.unit == f.unit),
                      key=lambda x: x.value_start)
        doc = index.documents[f.doc_id]["text"]
        i = next(k for k, x in enumerate(same) if x.fact_id == f.fact_id)
        lo, hi = i, i
        while lo > 0 and RANGE.match(normalize(doc[same[lo - 1].value_end : same[lo].value_start]).text):
            lo -= 1
        while hi < len(same) - 1 and RANGE.match(normalize(doc[same[hi].value_end : same[hi + 1].value_start]).text):
            hi += 1
        value = format_value(same[lo].value, f.unit) + (f"至{format_value(same[hi].value, f.unit)}" if hi > lo else "")
        f, span = same[lo], (same[lo].value_start, same[hi].value_end)
    item = _fact_item(index, f, sup, value, span)
    return Answer(q.text, q.kind, f"{f.region}：{value}（{normalize(f.sentence).text}）", (item,), tuple(hits), True)


def _passages_answer(index: Index, q: Question, sup: Support, hits: list[Hit]) -> Answer:
    best = _newest_first(index, q, _sentences(index, q, sup, hits), lambda s: s.hit.chunk)[:3]
    if not best:
        return _unsupported(q, hits, "没有找到直接回答这个问题的句子")
    items = tuple(_sentence_item(index, s, _region_of(index, s), sup) for s in best)
    return Answer(q.text, q.kind, best[0].norm, items, tuple(hits), True)


def _unsupported(q: Question, hits: list[Hit], why: str) -> Answer:
    if q.lang == "en":
        line = f"Nothing in the corpus supports an answer ({why}). The closest passages follow."
    else:
        line = f"语料中找不到可以支持回答的内容（{why}）。以下是最接近的段落。"
    return Answer(q.text, q.kind, line, (), tuple(hits), False)


def answer_question(index: Index, question: str, mode: str = "hybrid", alpha: float | None = None,
                    where: Filter | None = None, k: int | None = None) -> Answer:
    """Answer from the index alone: quoted, sourced, or plainly unsupported.

    Args:
        index: the open index.
        question: Chinese in either script, or English.
        mode: "hybrid", "dense" or "bm25".
        alpha: the dense share of hybrid fusion (default: the settings').
        where: limits the evidence (regions, documents, outlets, dates) as it limits a search.
        k: passages to return as ``Answer.evidence`` (default: the ones the answer read). The
            answer itself always reads the same top hits, so ``k`` never changes it; one search
            serves both, so a page showing the answer and its passages retrieves once.
    """
    q = analyze(question)
    read = REGIONS_K if q.kind == "which_regions" else EVIDENCE_K
    depth = max(read, k or 0)  # a deeper search ranks its first `read` hits exactly as a shallow one
    # figures as the corpus writes them ("百分之九点五" -> "9.5%", "9.5 percent" -> "9.5%")
    shown = [format_value(f.value, f.unit) for f in q.figures]
    query = " ".join([question, *(v for v in shown if v not in question)])
    where = where if where is not None and not where.is_empty() else None
    hits: list[Hit] | None = None
    if q.lang == "en":
        first = index.search(query, k=depth, mode=mode, alpha=alpha, where=where)
        q = replace(q, region=english_region(q, first[:read]))
        hits = first if q.region is None else None  # no region found: the same search serves
    if hits is None:
        hits = index.search(query, k=depth, mode=mode, alpha=alpha, where=where_for(q.region, where))
    ans = _answer(index, q, query, hits[:read], mode, alpha, where)
    shown_k = k if k else read
    if ans.evidence == tuple(hits[:read]):
        return replace(ans, evidence=tuple(hits[:shown_k]))
    return replace(ans, evidence=ans.evidence[:shown_k]) if k else ans


def _answer(index: Index, q: Question, query: str, hits: list[Hit], mode: str, alpha: float | None,
            where: Filter | None) -> Answer:
    """The answer the question's kind asks for, from its top hits."""
    if not hits and q.region is not None:
        nearest = index.search(query, k=EVIDENCE_K, mode=mode, alpha=alpha, where=where)
        return _unsupported(q, nearest, f"语料中没有{q.region.name}的内容")
    if not hits and where is not None:
        return _unsupported(q, [], "筛选条件下没有匹配的段落")
    if not hits:
        return _unsupported(q, [], "问题里没有可检索的内容")
    sup = support_for(q, hits, index.store.term_df, int(index.store.info().counts.get("chunks", 0)))
    if q.kind == "which_regions" and (q.figures or q.comparison):
        # the retrieved sentences that name all that is measured first (precise where they exist);
        # else the facts of the whole index whose subject means it (chosen so on dev questions:
        # scripts/subject_threshold.py, README "Measured")
        listed = _regions_with_figure(index, q, sup, hits)
        named = {f.region for f in listed}
        more = [f for f in _regions_from_facts(index, q, where) if f.region not in named]
        return _regions_answer(index, q, sup, hits, listed + more)
    if q.kind == "which_regions":
        return _regions_by_text(index, q, sup, hits)
    if q.kind in ("how_many", "when"):
        return _figure_answer(index, q, sup, hits)
    return _passages_answer(index, q, sup, hits)


def regions_of(answer: Answer) -> list[str]:
    """Region names an answer gives (split on 、)."""
    out: list[str] = []
    for item in answer.items:
        out.extend(r for r in item.region.split("、") if r)
    return list(dict.fromkeys(out))
