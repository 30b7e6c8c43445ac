"""The figures table: every sentence that states a figure gives a Fact."""

from __future__ import annotations

import hashlib
import re

from retrieval.text.figures import find_dates, find_figures
from retrieval.text.normalize import normalize, split_sentences
from retrieval.text.regions import Place, mentions, subject_region
from retrieval.types import Chunk, Document, Fact

PERIODS = re.compile(
    r"一季度|二季度|三季度|四季度|第[一二三四]季度|首季|上半年|下半年|全年|年底前|年内|今年|明年|"
    r"前\d+个月|\d{1,2}-\d{1,2}月份?|\d{1,2}月份|\d{4}年(?:底|末)?|每月|每周|每年|每半月|每半个月|年底"
)
QUALIFIERS_BEFORE = (
    "不少于", "不低于", "不超过", "超过", "突破", "达到", "至少", "力争", "确保", "争取", "约", "近", "达",
)
QUALIFIERS_AFTER = ("以上", "以内", "以下", "左右", "多")
CLAUSE_BREAK = re.compile(r"[,，;；:：、“”\"()（）\s]")
SUBJECT_TRIM_HEAD = re.compile(
    r"^(?:力争|确保|争取|要|将|实现|完成|推动|全年|一季度|首季|今年|同比|累计|" + PERIODS.pattern + r")+"
)
SUBJECT_TRIM_TAIL = re.compile(
    r"(?:达到|达|实现|增长|增加|提高|提升|下降|减少|超过|突破|不少于|不低于|至少|约|为|是|以上|压缩至|控制在|在)+$"
)


def _table_clause(row: str, pos: int) -> str:
    """A table row's clause for the figure at pos: its own cell's words, else the cell before.

    Rows are cells joined with '｜' (NFKC '|'): "规上工业增加值增速|9.5%" is about the first cell.
    """
    cells = row[:pos].split("|")
    if cells[-1].strip() or len(cells) == 1:
        return cells[-1]
    return cells[-2]


def _qualifier(clause: str, after: str) -> str:
    q = [w for w in QUALIFIERS_BEFORE if w in clause]
    # keep the most specific ("达到" over "达")
    q = [w for w in q if not any(w != o and w in o for o in q)]
    q += [w for w in QUALIFIERS_AFTER if after.startswith(w)]
    return "、".join(q)


def _period(sentence: str, start: int, end: int) -> str:
    """The time phrase nearest before the figure; else one after it in the same clause."""
    before = [m for m in PERIODS.finditer(sentence) if m.end() <= start]
    if before:
        return before[-1].group(0)
    clause_end = next((m.start() for m in CLAUSE_BREAK.finditer(sentence, end) if sentence[m.start()] != " "), None)
    after = PERIODS.search(sentence, end, clause_end if clause_end is not None else len(sentence))
    return after.group(0) if after else ""


def subject_of(clause: str) -> str:
    """The phrase a figure is about: its clause without time words, verbs and qualifiers."""
    s = SUBJECT_TRIM_HEAD.sub("", clause.strip())
    s = SUBJECT_TRIM_TAIL.sub("", s)
    return s.strip()


COUNT_UNITS = frozenset({"家", "个", "户", "项", "条", "场", "台", "套"})
NOUN_AFTER = re.compile(r"^(?:以上|左右|多)?的?([^,，;；。、:：“”()（）\s]{2,16})")


def counted_noun(text: str, fig) -> str:
    """What a count is of: "36家10亿元以上重点工业企业" -> the noun after the figure."""
    if fig.unit not in COUNT_UNITS:
        return ""
    m = NOUN_AFTER.match(text[fig.end :])
    if not m:
        return ""
    noun = m.group(1)
    if noun in ("以上", "左右", "以内", "以下") or re.search(r"\d", noun):
        return ""  # "1200家以上。", "36家10亿元以上…": fall back to the words before the figure
    return noun


def _phrase(clause: str, figure: str) -> str:
    """Subject, verb and figure: '规上工业增加值增速达9.5%' from '力争一季度实现规上工业增加值增速达'."""
    return SUBJECT_TRIM_HEAD.sub("", clause.strip()) + figure


ENUMERATION = re.compile(r"^[、和及与,，\s]*$")


def enumerated(places: list[Place], norm: str) -> list[Place]:
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


def sentence_places(text: str, before: int, chunk_level: int) -> list[Place]:
    """The places a sentence states a figure for: a list of places, the sentence's subject, or a
    place in the figure's own clause more specific than the paragraph's; [] leaves it to the paragraph."""
    named = [p for p in mentions(text) if p.end <= before]
    listed = enumerated(named, text)
    if listed:
        return listed
    subject = subject_region(text)
    if subject is not None and subject.end <= before:
        return [subject]
    clause_start = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, before)), default=0)
    local = [p for p in named if p.start >= clause_start]
    return [local[-1]] if local and local[-1].level > chunk_level else []


def _chunk_for(chunks: list[Chunk], pos: int) -> Chunk | None:
    for c in chunks:
        if c.start <= pos < c.end:
            return c
    after = [c for c in chunks if c.start >= pos]
    return after[0] if after else (chunks[-1] if chunks else None)


def facts_of_document(doc: Document, chunks: list[Chunk]) -> list[Fact]:
    """Facts of one document's body, subtitle and table lines (a subtitle's facts belong to its section).

    A table row that restates a figure the text states (same quantity, the row's words in the
    text's sentence) is one statement, not two: the sentence, with its context, is kept.
    """
    facts: list[Fact] = []
    table_clauses: dict[int, str] = {}  # index in facts -> the row's words for the figure
    for line in doc.lines:
        if line.kind not in ("body", "subtitle", "table"):
            continue
        for a, b in split_sentences(line.text):
            raw_sentence = line.text[a:b]
            lead = len(raw_sentence) - len(raw_sentence.lstrip())
            raw_sentence = raw_sentence.strip()
            s_start = line.start + a + lead
            nz = normalize(raw_sentence)
            text = nz.text
            found = find_figures(text) + find_dates(text)
            if not found:
                continue
            chunk = _chunk_for(chunks, s_start)
            if chunk is None:
                continue
            for fig in found:
                if line.kind == "table":
                    clause = _table_clause(text, fig.start)
                else:
                    breaks = [m.end() for m in CLAUSE_BREAK.finditer(text, 0, fig.start)]
                    clause = text[(breaks[-1] if breaks else 0) : fig.start]
                # the sentence's own places, then the paragraph's (its subject, heading, article)
                chunk_level = 2 if chunk.county else 1 if chunk.city else 0 if chunk.province else -1
                places = sentence_places(text, fig.start, chunk_level) if fig.unit != "日期" else []
                place = places[0] if places else None
                o_start, o_end = nz.original_span(fig.start, fig.end)
                key = f"{chunk.chunk_id}:{s_start + o_start}:{fig.raw}"
                if line.kind == "table":
                    table_clauses[len(facts)] = re.sub(r"[\s｜|]+", "", clause)
                facts.append(Fact(
                    fact_id=hashlib.sha1(key.encode()).hexdigest()[:16],
                    doc_id=doc.doc_id,
                    chunk_id=chunk.chunk_id,
                    region="、".join(p.name for p in places) if place else chunk.region,
                    province=place.province if place else chunk.province,
                    city=place.city if place else chunk.city,
                    county=place.county if place else chunk.county,
                    subject=counted_noun(text, fig) or subject_of(clause),
                    phrase=_phrase(clause, text[fig.start : fig.end]),
                    value=fig.value,
                    value_high=fig.high,
                    unit=fig.unit,
                    raw=fig.raw,
                    qualifier=_qualifier(clause, text[fig.end : fig.end + 3]),
                    period=_period(text, fig.start, fig.end),
                    sentence=raw_sentence,
                    start=s_start,
                    end=s_start + len(raw_sentence),
                    value_start=s_start + o_start,
                    value_end=s_start + o_end,
                    direction=fig.direction,
                    approx=fig.approx,
                ))
    if not table_clauses:
        return facts
    stated = [f for i, f in enumerate(facts) if i not in table_clauses]

    def restated(f: Fact, words: str) -> bool:
        return bool(words) and any(g.value == f.value and g.unit == f.unit and words in normalize(g.sentence).text
                                   for g in stated)

    return [f for i, f in enumerate(facts) if i not in table_clauses or not restated(f, table_clauses[i])]


def extract_facts(docs: list[Document], chunks: list[Chunk]) -> list[Fact]:
    """Facts of every document, in document order."""
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    out: list[Fact] = []
    for d in docs:
        out.extend(facts_of_document(d, by_doc.get(d.doc_id, [])))
    return out
