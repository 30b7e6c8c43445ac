"""Question analysis: kind, figures, measured phrase, direction, comparison, level, region, period."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.text.facts import PERIODS
from retrieval.text.figures import Figure, find_figures
from retrieval.text.normalize import norm_text
from retrieval.text.regions import COUNTRY, Place, mentions
from retrieval.text.tokens import tokenize_normalized

NATION = r"国家(?![级重点标准机关部委政策队])"  # countries; "国家级开发区" asks for no country
KINDS = ("which_regions", "how_many", "when", "how", "open")
_ZH = {
    "which_regions": re.compile(rf"哪些(?:地区|地方|{NATION}|城市|市|县|区|县区|县市|区县|"
                                r"省份|省|园区|开发区|新区)|"
                                rf"哪个(?:地区|地方|{NATION}|城市|市|县|区|省|省份|园区)|"
                                rf"哪(?:几个)?(?:地区|{NATION}|城市|省份)|哪些省|"
                                # the place word before the question ("…的县有哪些", "…的地区是哪几个")
                                r"(?:地区|地方|国家|城市|县区|区县|县市|省份|县|区|省|市)(?:都|分别)?(?:有|是)哪(?:些|几个)"
                                r"(?=[?？。!！\s]*$)"),
    "when": re.compile(r"什么时候|何时|哪天|哪一天|几月|什么时间|哪个月"),
    "how_many": re.compile(r"多少|几(?:个|家|项|户|场|天|条|亿|万|大|成)|多大|多高|多快|是几"),
    "how": re.compile(r"如何|怎么|怎样|什么措施|哪些措施|多久|采取"),
}
_EN = {
    "which_regions": re.compile(r"\bwhich (?:regions?|cities|city|counties|county|districts?|provinces?|areas?|places?"
                                r"|zones?|localities|countries|country|nations?)\b|\bwhere\b"),
    "when": re.compile(r"^when\b|\bwhat date\b|\bon which day\b"),
    # one rule: "how many/much/…", or "what is/was …" asking for a measurable noun
    "how_many": re.compile(r"\bhow (?:many|much|large|big|long|high)\b|\bwhat (?:percentage|share|rate|amount)\b|"
                           r"\bwhat (?:is|was|were|are)\b.*\b(?:output|value|investment|amount|number|total|rate|"
                           r"share|percentage|population|revenue|income|profit|size|scale|time limit|deadline)s?\b"),
    "how": re.compile(r"^how\b|\bwhat measures\b|\bin what way\b"),
}
# The unit asked for: first a measure word bound to the question word ("多少家"), then the topic.
_UNIT_ZH = (
    (re.compile(r"多少个?工作日|几个工作日"), "工作日"), (re.compile(r"多少家|几家"), "家"),
    (re.compile(r"多少户|几户"), "户"), (re.compile(r"多少场|几场"), "场"), (re.compile(r"多少项|几项"), "项"),
    (re.compile(r"多少条|几条"), "条"), (re.compile(r"多少亿|几亿"), "亿元"), (re.compile(r"多少万元|几万元"), "万元"),
    (re.compile(r"多少天|几天|时限|期限|多长时间"), "天"), (re.compile(r"多少个|几个|几大"), "个"),
    (re.compile(r"多少钱|资金|产值|投资|规模|税收|奖励|基金"), "亿元"),
    (re.compile(r"百分之|%|增速|增长|比重|占比|增幅|降幅|下降|减少"), "%"),
)
_UNIT_EN = (
    (re.compile(r"working days?|\bdays?\b"), "工作日"),
    (re.compile(r"enterprises|companies|firms|businesses"), "家"),
    (re.compile(r"percent|per cent|%|growth rate"), "%"),
    (re.compile(r"output|investment|yuan|funds?|capital|revenue|how large|how big"), "亿元"),
    (re.compile(r"projects|tasks|items|events|areas"), "个"),
)
_PERIOD_EN = ((re.compile(r"first quarter|\bq1\b"), "一季度"), (re.compile(r"full[- ]year|whole year|annual|this year"),
                                                                  "全年"))
# a comparison bounds the figure it is bound to ("增速超过10%"); the bound is inclusive unless strict
_CMP_ZH = ((re.compile(r"(?<!不)(?:超过|高于|多于|大于|突破)$"), ">"), (re.compile(r"(?:不低于|不少于|至少)$"), ">="),
           (re.compile(r"(?<!不)(?:低于|少于|小于)$"), "<"), (re.compile(r"(?:不超过|不高于|至多)$"), "<="))
_CMP_ZH_AFTER = ((re.compile(r"^(?:以上)"), ">="), (re.compile(r"^(?:以下|以内)"), "<="))
_CMP_EN = ((re.compile(r"(?:more than|over|above|exceed(?:s|ed|ing)?|higher than|greater than)\s*$"), ">"),
           (re.compile(r"at least\s*$"), ">="), (re.compile(r"(?:below|under|less than|lower than)\s*$"), "<"),
           (re.compile(r"at most\s*$"), "<="))
_DOWN_ZH = re.compile(r"下降|减少|降低|回落|下滑|压缩|缩短|降幅|亏损")
_UP_ZH = re.compile(r"增长|增加|提高|提升|上升|增速|增幅")
_DOWN_EN = re.compile(r"\b(?:fall|fell|drop|dropped|declin\w*|decreas\w*|cut|reduc\w*|shrank|los[st]\w*)\b")
_UP_EN = re.compile(r"\b(?:grow\w*|grew|growth|increas\w*|ris[ei]\w*|rose|raise\w*)\b")
# the level a which-regions question asks for: 0 province, 1 city, 2 county/district, COUNTRY a
# foreign country (asked for by name only: "哪些国家")
_LEVEL_ZH = ((re.compile(rf"哪(?:些|个|几个)?{NATION}|的国家(?:有|是)哪"), COUNTRY),
             (re.compile(r"哪(?:些|个|几个)?(?:省份|省)|的(?:省份|省)(?:有|是)哪"), 0),
             (re.compile(r"哪(?:些|个|几个)?(?:城市|市)(?!县)|的(?:城市|市)(?:有|是)哪"), 1),
             (re.compile(r"哪(?:些|个|几个)?(?:县区|区县|县市|县|区)|的(?:县区|区县|县市|县|区)(?:有|是)哪"), 2))
_LEVEL_EN = ((re.compile(r"\bwhich (?:countries|country|nations?)\b"), COUNTRY),
             (re.compile(r"\bwhich provinces?\b"), 0), (re.compile(r"\bwhich (?:cities|city)\b"), 1),
             (re.compile(r"\bwhich (?:counties|county|districts?)\b"), 2))
# words that name the question, the region level or a policy act, not what is measured
GENERIC = frozenset(
    """
    地区 地方 国家 城市 省份 省 市 县 区 县区 区县 县市 园区 全省 全市 全县 全区 提出 目标 设定 明确 要求 力争 实现
    达到 达
    计划 打算 想 希望 预期 是 多少 几 有 拥有 共 一共 还 要 今年 全年 期间 完成 目标值 为 了 增长 增速 下降 减少 降低
    数量
    超过 高于 低于 不低于 不少于 以上 以下 以内 百分之
    """.split()
)
# words that ask rather than state ("几家", "多久", "什么时候" -> 时候, "一共"): a sentence never holds them
QUESTION_WORD = re.compile(r"^(?:几|多少|多久|多长|多大|多高|多快|哪|什么|啥|怎|如何|何时|为何|为什么)"
                           r"|^(?:时候|一共|总共|共有)$")


def asks(term: str) -> bool:
    """True for a word that asks ("几家", "怎么办", "时候" of 什么时候), not content a sentence states."""
    return bool(QUESTION_WORD.search(term))


# a question about the newest state of things: among matching documents the newest answers
RECENT_ZH = re.compile(r"最新|最近|近期|目前|当前|眼下")
RECENT_EN = re.compile(r"\b(?:latest|newest|most recent(?:ly)?|recently|currently)\b")
LEAD_REGION = 3  # a region named within this many characters of the start is the question's subject


@dataclass(frozen=True)
class Question:
    """What the answerer needs to know about a question."""

    text: str
    norm: str
    lang: str  # "zh" or "en"
    kind: str
    figures: tuple[Figure, ...]
    unit: str  # expected unit of the answer ("" when unknown)
    region: Place | None  # a constraint: the place the question is about ("广安区…", "河北哪些城市")
    period: str
    terms: tuple[str, ...]  # content tokens for matching sentences (Chinese questions)
    measure: tuple[str, ...] = ()  # what is measured: terms less question, level and policy words
    direction: str = ""  # "up" / "down" / "": the change the question asks about
    comparison: tuple[str, Figure] | None = None  # (">", 10%) for "增速超过10%"
    level: int | None = None  # the level of the regions asked for
    year: str = ""  # "2022" when the question names a year
    places: tuple[Place, ...] = ()  # every place named, constraint or content
    latest: bool = False  # asks for the newest state ("最新", "latest"): the newest matching document answers


# English amounts in the Chinese figure reader's terms: the unit written after the number, or the
# measure word of what is counted ("more than 10 loss-making enterprises" -> 10家)
_EN_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_EN_UNITS = (
    (r"yuan|rmb", "元"), (r"us dollars?|dollars?|usd", "美元"), (r"mu", "亩"), (r"tonnes?|tons?", "吨"),
    (r"kilowatts?|kw", "千瓦"), (r"kilograms?|kg", "公斤"), (r"square (?:metres?|meters?)", "平方米"),
    (r"square kilometres?|square kilometers?", "平方公里"), (r"kilometres?|kilometers?|km", "公里"),
    (r"percentage points?", "个百分点"), (r"percent|per cent|pct|%", "%"),
)
_EN_COUNTED = (
    (r"enterprises?|compan(?:y|ies)|firms?|factor(?:y|ies)|plants?|businesses", "家"),
    (r"households?|families", "户"), (r"schools?", "所"), (r"projects?|items?|measures?|tasks?", "项"),
    (r"people|persons?|workers?|residents?|users?|farmers?|migrants?|staff|employees?|students?|teachers?",
     "人"), (r"sets?|pieces?|machines?|units?", "台"), (r"vehicles?|cars?", "辆"), (r"ships?|vessels?", "艘"),
    (r"times", "次"), (r"years?", "年"), (r"days?", "天"), (r"months?", "个月"), (r"hours?", "小时"),
    (r"markets?|bases?|zones?|parks?|villages?|towns?|counties|cities", "个"),
)
_EN_AMOUNT = re.compile(
    r"(?<![\w.])(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<scale>thousand|million|billion|trillion)?\b\s*"
    r"(?:(?P<unit>" + "|".join(p for p, _ in _EN_UNITS) + r")\b|(?P<words>(?:[a-z-]+\s+){0,3}?)"
    r"(?P<counted>" + "|".join(p for p, _ in _EN_COUNTED) + r")\b)?"
)


def english_figures(low: str) -> str:
    """English amounts as the Chinese figure reader reads them: '9.5 percent' -> '9.5%',
    '5 billion yuan' -> '5000000000元', 'more than 10 loss-making enterprises' -> 'more than
    10家 loss-making enterprises' (the words stay for the measured phrase)."""

    def one(m: re.Match) -> str:
        value = float(m.group("num").replace(",", "")) * _EN_SCALE.get(m.group("scale") or "", 1.0)
        num = f"{value:.6f}".rstrip("0").rstrip(".")
        if m.group("unit"):
            unit = next(u for p, u in _EN_UNITS if re.fullmatch(p, m.group("unit")))
            return f"{num}{unit} "
        if m.group("counted"):
            unit = next(u for p, u in _EN_COUNTED if re.fullmatch(p, m.group("counted")))
            return f"{num}{unit} {m.group('words')}{m.group('counted')}"
        return m.group(0) if not m.group("scale") else f"{num} "

    return _EN_AMOUNT.sub(one, low)


def _comparison(norm: str, figures: tuple[Figure, ...], lang: str) -> tuple[str, Figure] | None:
    for f in figures:
        before, after = norm[max(0, f.start - 12) : f.start], norm[f.end : f.end + 3]
        for pat, op in _CMP_ZH if lang == "zh" else _CMP_EN:
            if pat.search(before):
                return op, f
        if lang == "zh":
            for pat, op in _CMP_ZH_AFTER:
                if pat.search(after):
                    return op, f
    return None


def _direction(low: str, lang: str) -> str:
    down, up = (_DOWN_ZH, _UP_ZH) if lang == "zh" else (_DOWN_EN, _UP_EN)
    if down.search(low):
        return "down"
    return "up" if up.search(low) else ""


def _constraint(norm: str, places: tuple[Place, ...]) -> Place | None:
    """The place the question is about: named at its start or right before 哪些/哪个; others are content."""
    for p in places:
        if p.start <= LEAD_REGION or re.match(r"(?:的|有|里|内)?哪", norm[p.end : p.end + 3]):
            return p
    return None


def analyze(question: str) -> Question:
    """Analyze a question in Simplified or Traditional Chinese, or English."""
    norm = norm_text(question).strip()
    low = norm.lower()
    lang = "zh" if re.search(r"[\u4e00-\u9fff]", norm) else "en"
    rules = _ZH if lang == "zh" else _EN
    kind = next((k for k in ("which_regions", "when", "how_many", "how") if rules[k].search(low)), "open")
    fig_text = norm if lang == "zh" else english_figures(low)
    figures = tuple(find_figures(fig_text))
    unit = ""
    if kind == "how_many":  # the unit asked for ("多少家"), not one of a figure given as context
        unit = next((u for pat, u in (_UNIT_ZH if lang == "zh" else _UNIT_EN) if pat.search(low)), "")
    elif figures:
        unit = figures[0].unit
    places = mentions(norm) if lang == "zh" else ()
    region = _constraint(norm, places)
    period_m = PERIODS.search(norm)
    period = period_m.group(0) if period_m else ""
    if lang == "en" and not period:
        period = next((p for pat, p in _PERIOD_EN if pat.search(low)), "")
    year_m = re.search(r"(?<!\d)((?:19|20)\d{2})(?:年|\b)", norm)
    written = [norm[p.start : p.end] for p in places]
    skip = {p.name for p in places} | set(written)
    raws = [f.raw for f in figures]  # "百分之九点五" is a figure, not words to find
    recent = (RECENT_ZH if lang == "zh" else RECENT_EN).search(low)
    skip |= set(RECENT_ZH.findall(norm))  # "最新" asks when, it is not content a sentence must state
    terms = tuple(t for t in dict.fromkeys(tokenize_normalized(norm))
                  if t not in skip and not any(t in w for w in written if len(t) >= 2)
                  and not any(t in r for r in raws if not t.isascii()))
    periods = [m.group(0) for m in PERIODS.finditer(norm)]
    measure = tuple(t for t in terms if len(t) >= 2 and t not in GENERIC and not re.search(r"\d", t)
                    and not t.startswith(("几", "多少")) and not any(t in w for w in written + periods))
    level = next((lv for pat, lv in (_LEVEL_ZH if lang == "zh" else _LEVEL_EN) if pat.search(low)), None)
    return Question(
        question, norm, lang, kind, figures, unit, region, period, terms, measure,
        _direction(low, lang), _comparison(fig_text, figures, lang), level,
        year_m.group(1) if year_m else "", places, bool(recent),
    )
