"""Extractive answers: every statement is a verbatim quote with its source, never generated text."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from retrieval.answer.question import Question, analyze
from retrieval.search.searcher import Searcher as Index
from retrieval.store.base import FactQuery, Filter
from retrieval.text.figures import find_dates, find_figures, format_value
from retrieval.text.normalize import normalize
from retrieval.text.regions import Place, mentions
from retrieval.types import Answer, AnswerItem, Fact, Hit

EVIDENCE_K = 10
MIN_COVERAGE = 0.5  # share of a Chinese question's content terms a supporting sentence must contain
ENUMERATION = re.compile(r"^[、和及与,，\s]*$")
RANGE = re.compile(r"^\s*[至到~—-]\s*$")


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


def filter_facts(facts: list[Fact], region: str | None = None, unit: str | None = None) -> list[Fact]:
    """Facts in a region (any level, either script) and/or with a unit."""
    out = facts
    if region:
        places = mentions(normalize(region).text)
        if places:
            p = places[0]
            out = [f for f in out if _inside(f.province, f.city, f.county, f.region, p)]
        else:
            name = normalize(region).text
            out = [f for f in out if name in (f.region, f.province, f.city, f.county)]
    if unit:
        u = normalize(unit).text
        out = [f for f in out if f.unit == u]
    return out


def _inside(province: str, city: str, county: str, region: str, p: Place) -> bool:
    if p.county:
        return p.county in (county, region)
    if p.city:
        return city == p.city or region == p.city
    return province == p.province


def question_filter(q: Question) -> Filter | None:
    """Chunks in the region a question names, or naming it ("重庆工业" in a 武胜县 paragraph)."""
    if q.region is None:
        return None
    return Filter(regions=(q.region.name,), region_mentions=True)


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


def _sentences(index: Index, q: Question, hits: list[Hit]) -> list[Sentence]:
    """Sentences of the hits, scored by question-term coverage (dense similarity for English)."""
    out: list[Sentence] = []
    terms = [t for t in q.terms if not t.replace(".", "").isdigit()]
    stored = index.store.sentences([h.chunk.chunk_id for h in hits])  # split and normalized at build time
    for h in hits:
        c = h.chunk
        for st in stored.get(c.chunk_id, []):
            raw = c.text[st.start - c.start : st.end - c.start]
            norm = st.norm
            found = [t for t in terms if t in norm]
            coverage = len(found) / len(terms) if terms else 0.0
            weight = sum(len(t) for t in found)
            score = weight + 0.3 * (EVIDENCE_K - h.rank) / EVIDENCE_K
            out.append(Sentence(h, raw, norm, st.start, st.end, coverage, score))
    if q.lang == "en" and out:
        top = [s for s in out if s.hit.rank <= 3]
        vecs = index.encoder.encode_passages([s.norm for s in top])
        qv = index.encoder.encode_queries([q.norm])[0]
        sims = vecs @ qv
        rescored = [
            Sentence(s.hit, s.text, s.norm, s.start, s.end, 1.0, float(sim)) for s, sim in zip(top, sims, strict=True)
        ]
        return sorted(rescored, key=lambda s: -s.score)
    return sorted(out, key=lambda s: (-s.score, s.hit.rank, s.start))


def _item(index: Index, s: Sentence, region: str, period: str, value: str, q: Question, extra=()) -> AnswerItem:
    doc_text = index.documents[s.hit.chunk.doc_id]["text"]
    if doc_text[s.start : s.end] != s.text:  # a quote is verbatim or it is not shown
        raise ValueError(f"quote of {s.hit.chunk.chunk_id} does not match its source")
    return AnswerItem(
        region=region, period=period, value=value, quote=s.text, doc_id=s.hit.chunk.doc_id,
        chunk_id=s.hit.chunk.chunk_id, span=(s.start, s.end),
        highlights=_highlights(doc_text, s.start, s.end, q.terms, extra),
    )


def _fact_item(index: Index, f: Fact, q: Question) -> AnswerItem:
    doc_text = index.documents[f.doc_id]["text"]
    if doc_text[f.start : f.end] != f.sentence:
        raise ValueError(f"fact {f.fact_id} does not quote its source verbatim")
    return AnswerItem(
        region=f.region, period=f.period, value=format_value(f.value, f.unit) if f.unit != "日期" else f.raw,
        quote=f.sentence, doc_id=f.doc_id, chunk_id=f.chunk_id, span=(f.start, f.end),
        highlights=_highlights(doc_text, f.start, f.end, q.terms, [(f.value_start, f.value_end)]),
        subject=f.subject,
    )


def _same_figure(f: Fact, q: Question) -> bool:
    return any(f.unit == g.unit and abs(f.value - g.value) < 1e-9 for g in q.figures)


def _in_paragraph(index: Index, f: Fact) -> bool:
    c = index.chunks[index.by_id[f.chunk_id]]
    return c.start <= f.start < c.end


def _regions_with_figure(index: Index, q: Question, hits: list[Hit]) -> Answer:
    """Exhaustive over the figures table, grouped by region."""
    facts = [f for g in q.figures for f in index.facts_where(FactQuery(units=(g.unit,), value=g.value))]
    if q.region is not None:
        facts = [f for f in facts if _inside(f.province, f.city, f.county, f.region, q.region)]
    if q.period:
        facts = [f for f in facts if f.period == q.period] or facts
    facts.sort(key=lambda f: (not _in_paragraph(index, f), f.doc_id, f.start))  # paragraphs before subtitles
    chosen: dict[tuple[str, str], Fact] = {}
    for f in facts:
        chosen.setdefault((f.region, f.period), f)
    ordered = sorted(chosen.values(), key=lambda f: (f.doc_id, f.start))
    if not ordered:
        return _unsupported(q, hits, f"语料中没有地区提出{'、'.join(g.raw for g in q.figures)}")
    items = tuple(_fact_item(index, f, q) for f in ordered)
    line = "；".join(
        f"{f.region or '（地区不明）'}（{'，'.join(x for x in (f.period, f.phrase) if x)}）" for f in ordered
    )
    return Answer(q.text, q.kind, line, items, tuple(hits), True)


def _enumerated(places: list[Place], norm: str) -> list[Place]:
    """Places listed together ("廊坊、沧州、张家口"): adjacent, separated only by 、/和."""
    best: list[Place] = []
    run: list[Place] = []
    for p in places:
        if run and ENUMERATION.match(norm[run[-1].end : p.start]):
            run.append(p)
        else:
            run = [p]
        if len(run) > len(best):
            best = list(run)
    return best if len(best) >= 2 else []


def _regions_by_text(index: Index, q: Question, hits: list[Hit]) -> Answer:
    sents = _sentences(index, q, hits)
    if not sents or (q.lang == "zh" and sents[0].coverage < MIN_COVERAGE):
        return _unsupported(q, hits, "没有找到说明这一点的句子")
    best = sents[0]
    places = [p for p in mentions(best.norm) if q.region is None or (p.name != q.region.name and _inside(
        p.province, p.city, p.county, p.name, q.region))]
    listed = _enumerated(places, best.norm)
    c = best.hit.chunk
    names = [p.name for p in listed] if listed else [c.region or "（地区不明）"]
    item = _item(index, best, "、".join(names), q.period, "", q)
    return Answer(q.text, q.kind, "、".join(names) + f"（{best.norm}）", (item,), tuple(hits), True)


def _figure_answer(index: Index, q: Question, hits: list[Hit]) -> Answer:
    sents = _sentences(index, q, hits)
    for s in sents[:8]:
        if q.lang == "zh" and s.coverage < MIN_COVERAGE:
            break
        figs = find_dates(s.norm) if q.kind == "when" else find_figures(s.norm)
        if q.unit and q.kind != "when":
            figs = [f for f in figs if f.unit == q.unit] or ([] if q.unit != "亿元" else [
                f for f in figs if f.unit in ("亿元", "万元")])
        figs = [f for f in figs if not any(f.unit == g.unit and f.value == g.value for g in q.figures)]
        if not figs:
            continue
        terms = [t for t in q.terms if t in s.norm]
        anchor = max((s.norm.find(t) + len(t) for t in terms), default=0)
        fig = min(figs, key=lambda f: (f.start < anchor - 40, abs(f.start - anchor)))
        nz = normalize(s.text)
        if q.kind == "when":
            value = fig.raw
        else:  # a range ("2万元至20万元") is one answer
            same = figs if fig in figs else [fig]
            i = same.index(fig)
            lo, hi = i, i
            while lo > 0 and RANGE.match(s.norm[same[lo - 1].end : same[lo].start]):
                lo -= 1
            while hi < len(same) - 1 and RANGE.match(s.norm[same[hi].end : same[hi + 1].start]):
                hi += 1
            value = format_value(same[lo].value, fig.unit)
            if hi > lo:
                value += "至" + format_value(same[hi].value, fig.unit)
            fig = replace(same[lo], end=same[hi].end)
        a, b = nz.original_span(fig.start, fig.end)
        region = s.hit.chunk.region
        item = _item(index, s, region, "", value, q, [(s.start + a, s.start + b)])
        return Answer(q.text, q.kind, f"{region}：{value}（{s.norm}）", (item,), tuple(hits), True)
    return _unsupported(q, hits, "没有找到给出这个数字的句子")


def _passages_answer(index: Index, q: Question, hits: list[Hit]) -> Answer:
    sents = _sentences(index, q, hits)
    if not sents or (q.lang == "zh" and sents[0].coverage < MIN_COVERAGE):
        return _unsupported(q, hits, "没有找到直接回答这个问题的句子")
    best = [s for s in sents[:3] if q.lang == "en" or s.coverage >= MIN_COVERAGE]
    items = tuple(_item(index, s, s.hit.chunk.region, "", "", q) for s in best)
    return Answer(q.text, q.kind, best[0].norm, items, tuple(hits), True)


def _unsupported(q: Question, hits: list[Hit], why: str) -> Answer:
    line = f"语料中找不到可以支持回答的内容（{why}）。以下是最接近的段落。"
    return Answer(q.text, q.kind, line, (), tuple(hits), False)


def answer_question(index: Index, question: str, mode: str = "hybrid", alpha: float | None = None) -> Answer:
    """Answer from the index alone: quoted, sourced, or plainly unsupported."""
    q = analyze(question)
    where = question_filter(q)
    hits = index.search(question, k=EVIDENCE_K, mode=mode, alpha=alpha, where=where)
    if not hits and q.region is not None:
        nearest = index.search(question, k=EVIDENCE_K, mode=mode, alpha=alpha)
        return _unsupported(q, nearest, f"语料中没有{q.region.name}的内容")
    if not hits:
        return _unsupported(q, [], "问题里没有可检索的内容")
    if q.kind == "which_regions" and q.figures:
        return _regions_with_figure(index, q, hits)
    if q.kind == "which_regions":
        return _regions_by_text(index, q, hits)
    if q.kind in ("how_many", "when"):
        return _figure_answer(index, q, hits)
    return _passages_answer(index, q, hits)


def regions_of(answer: Answer) -> list[str]:
    """Region names an answer gives (split on 、)."""
    out: list[str] = []
    for item in answer.items:
        out.extend(r for r in item.region.split("、") if r)
    return list(dict.fromkeys(out))
