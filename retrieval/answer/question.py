"""Question analysis: kind, figures, expected unit, region and period constraints."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.text.facts import PERIODS
from retrieval.text.figures import Figure, find_figures
from retrieval.text.normalize import norm_text
from retrieval.text.regions import Place, mentions
from retrieval.text.tokens import tokenize_normalized

KINDS = ("which_regions", "how_many", "when", "how", "open")
_ZH = {
    "which_regions": re.compile(r"哪些(?:地区|地方|城市|市|县|区|县区|县市|区县|省份|省|园区|开发区|新区)|"
                                r"哪个(?:地区|地方|城市|市|县|区|省|省份|园区)|哪(?:几个)?(?:地区|城市|省份)|哪些省"),
    "when": re.compile(r"什么时候|何时|哪天|哪一天|几月|什么时间|哪个月"),
    "how_many": re.compile(r"多少|几(?:个|家|项|户|场|天|条|亿|万|大|成)|多大|多高|多快|是几"),
    "how": re.compile(r"如何|怎么|怎样|什么措施|哪些措施|多久|采取"),
}
_EN = {
    "which_regions": re.compile(r"\bwhich (?:regions?|cities|city|counties|county|districts?|provinces?|areas?|places?"
                                r"|zones?|localities)\b|\bwhere\b"),
    "when": re.compile(r"^when\b|\bwhat date\b|\bon which day\b"),
    "how_many": re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|rate|amount)\b|\bto how many\b"),
    "how": re.compile(r"^how\b|\bwhat measures\b|\bin what way\b"),
}
# The unit asked for: first a measure word bound to the question word ("多少家"), then the topic.
_UNIT_ZH = (
    (re.compile(r"多少个?工作日|几个工作日"), "工作日"), (re.compile(r"多少家|几家"), "家"),
    (re.compile(r"多少户|几户"), "户"), (re.compile(r"多少场|几场"), "场"), (re.compile(r"多少项|几项"), "项"),
    (re.compile(r"多少条|几条"), "条"), (re.compile(r"多少亿|几亿"), "亿元"), (re.compile(r"多少万元|几万元"), "万元"),
    (re.compile(r"多少天|几天"), "天"), (re.compile(r"多少个|几个|几大"), "个"),
    (re.compile(r"百分之|%|增速|增长|比重|占比"), "%"),
    (re.compile(r"资金|产值|投资|规模|税收|奖励"), "亿元"),
)
_UNIT_EN = (
    (re.compile(r"working days?"), "工作日"), (re.compile(r"enterprises|companies|firms|businesses"), "家"),
    (re.compile(r"percent|%|growth rate"), "%"),
    (re.compile(r"output|investment|yuan|funds?|capital|revenue"), "亿元"),
    (re.compile(r"projects|tasks|items"), "个"), (re.compile(r"days"), "天"),
)
_PERIOD_EN = ((re.compile(r"first quarter|\bq1\b"), "一季度"), (re.compile(r"full[- ]year|whole year|annual"), "全年"))
_STOP_EN = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class Question:
    """What the answerer needs to know about a question."""

    text: str
    norm: str
    lang: str  # "zh" or "en"
    kind: str
    figures: tuple[Figure, ...]
    unit: str  # expected unit of the answer ("" when unknown)
    region: Place | None
    period: str
    terms: tuple[str, ...]  # content tokens for matching sentences


def analyze(question: str) -> Question:
    """Analyze a question in Simplified or Traditional Chinese, or English."""
    norm = norm_text(question).strip()
    low = norm.lower()
    lang = "zh" if re.search(r"[\u4e00-\u9fff]", norm) else "en"
    rules = _ZH if lang == "zh" else _EN
    kind = next((k for k in ("which_regions", "when", "how_many", "how") if rules[k].search(low)), "open")
    figures = tuple(find_figures(norm))
    unit = ""
    if kind == "how_many":  # the unit asked for ("多少家"), not one of a figure given as context
        unit = next((u for pat, u in (_UNIT_ZH if lang == "zh" else _UNIT_EN) if pat.search(low)), "")
    elif figures:
        unit = figures[0].unit
    places = mentions(norm) if lang == "zh" else ()
    region = places[0] if places else None
    period_m = PERIODS.search(norm)
    period = period_m.group(0) if period_m else ""
    if lang == "en" and not period:
        period = next((p for pat, p in _PERIOD_EN if pat.search(low)), "")
    skip = {p.name for p in places} | {norm[p.start : p.end] for p in places}
    terms = tuple(t for t in dict.fromkeys(tokenize_normalized(norm)) if t not in skip)
    return Question(question, norm, lang, kind, figures, unit, region, period, terms)
