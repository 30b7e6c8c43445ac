"""Figures in Simplified text: numbers with units, Chinese numerals read with cn2an.

A figure keeps what a reader needs to compare it with another: its value as written, its
unit, whether it is approximate ("1200余家"), the direction of the change it states
("下降3.2%" and "增长-3.2%" are both falls) and, through ``quantity``, a value in base
units ("1.2万亿元" and "12000亿元" are the same amount of 元).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

UNIT_ALIASES = {
    "％": "%", "%": "%", "百分点": "个百分点", "个百分点": "个百分点",
    "个工作日": "工作日", "工作日": "工作日", "万亿": "万亿元", "亿": "亿元", "万": "万",
    "个人": "人", "个多月": "个月", "个多小时": "个小时", "口人": "口",
}
UNITS = ("个百分点|百分点|%|％|亿美元|万美元|美元|万亿元|万亿|亿元|万元|千元|元|家|个工作日|工作日|户|场|项|天|"
         "个多月|个月|个多小时|个小时|小时|分钟|个人(?![民才口])|个|口人|条|台|套|倍|人次|人|名|吨|千瓦时|千瓦|平方公里|平方米|亩|公里|公斤|册|所|座|辆|件|次|张|"
         "艘|架|栋|港元|港币|日元|欧元|亿|万|千米|厘米|米")
# measure words that are figures after digits only: in words they are mostly idiom or names
# ("两头跑", "三门峡")
DIGIT_UNITS = "门|头|只|本|棵|株|块|处|排|包|份|种|部|期|位|趟|锭|点"
CN_DIGITS = "零〇一二两三四五六七八九十百千万亿点"
# what a 万/亿 may multiply ("1.6万户", "8012万平方米"); money has its own units (万元, 亿美元)
COUNTED = ("家|户|个|项|场|人次|人|名|台|套|条|千瓦时|千瓦|吨|平方公里|平方米|公里|公斤|亩|册|所|座|辆|件|次|"
           "锭|部|份|种|张|本|头|只|艘|架|棵|株|栋|港元|港币|日元|欧元|美元")
# a number: "1,200" (thousands separators), "1200", "9.5"; a minus only right after a verb ("增长-3.2%").
# At most MAX_DIGITS digits before the point and MAX_DECIMALS after it: a longer run of digits
# (an id, a phone number, 310 nines) is not a figure at all, not even its tail (the look-behinds
# stop a match from starting inside a number, or a code of one letter: "G65"; "GDP100亿元" is a figure).
MAX_DIGITS = 15
MAX_DECIMALS = 6
# A decimal point may be written "·" (older Chinese print: "18·5万套").
NUMBER = (rf"(?:(?<=[增长速为至达是降幅:：])[-−])?(?<!\d)(?<!(?<![A-Za-z])[A-Za-z])(?<!\d[.·])"
          rf"(?:\d{{1,3}}(?:,\d{{3}}){{1,4}}(?![\d])|\d{{1,{MAX_DIGITS}}})(?:[.·]\d{{1,{MAX_DECIMALS}}})?(?![\d.·]\d)")
APPROX = r"(?P<approx>余|多)?"
# "1.6万户" is 16,000 户; "387.6亿元" stays 387.6 亿元 (the unit analysts read)
ARABIC = (
    rf"(?P<num>{NUMBER})(?:\s*[-—~至到]\s*(?P<num2>{NUMBER}))?\s*"
    rf"(?:(?P<mult>万|亿){APPROX}(?P<munit>{COUNTED})"
    rf"|{APPROX.replace('approx', 'approx2')}(?P<unit>{UNITS}|{DIGIT_UNITS}))"
)
MAX_CN_DIGITS = 12  # 一千二百三十四万五千六百 is 12; a longer run of numerals is not a figure
# one Chinese digit before 个 is mostly idiom ("五个一", "三个多月"), not a figure; 个月, 个工作日 and
# 个小时 are durations ("六个月")
# a round number alone when 余/多 follows ("千余元", "万余人"); two neighbouring numerals are a
# range ("两三年", "三四千亩": 3,000 to 4,000)
# days in words when bounded ("五日以上", "十五日内"): a time limit; else 日 is a day of the month
DAYS_BOUNDED = "日(?=以上|以下|以内|内|之内)"
CHINESE = (rf"(?<![{CN_DIGITS}])(?P<cnum>[{CN_DIGITS}]{{2,{MAX_CN_DIGITS}}}"
           rf"|[二三四五六七八九十两](?!个(?!月|工作日|小时|百分点))|一(?=倍)|[十百千万](?=[余多]))"
           # the measure words of DIGIT_UNITS after a numeral of two characters ("一千六百部")
           rf"(?P<capprox>余|多)?(?P<cunit>{UNITS}|{DAYS_BOUNDED}|(?<=[{CN_DIGITS}]{{2}})(?:{DIGIT_UNITS}))")
# a range in words with one unit ("一至二人", "三至五年")
CN_RANGE = (rf"(?<![{CN_DIGITS}])(?P<rlo>[{CN_DIGITS}]{{1,6}})(?:至|到)(?P<rhi>[{CN_DIGITS}]{{1,6}})"
            rf"(?P<runit>{UNITS}|年(?![\d月底末初代级度前后份])|{DAYS_BOUNDED})")
# a fraction ("三分之二", "三分之一"): a share with no unit
FRACTION = rf"(?<![{CN_DIGITS}])(?P<fden>[{CN_DIGITS}]{{1,3}})分之(?P<fnum>[{CN_DIGITS}]{{1,3}})(?![{CN_DIGITS}])"
NEIGHBOURS = re.compile(r"^(?P<a>[一二两三四五六七八])(?P<b>[二三四五六七八九])(?P<mult>[十百千万]|百万|千万)?$")
PERCENT_CN = rf"百分之(?P<pnum>[{CN_DIGITS}]{{1,{MAX_CN_DIGITS}}})(?![{CN_DIGITS}])"
# a short span of years ("3年", "两年以上", "五年内"); a year of the calendar ("1997年", "九七年") is not one
YEARS = (rf"(?<![\d{CN_DIGITS}.·])(?P<ynum>\d{{1,2}}|[一二三四五六七八九十两]{{2,3}}|[二三四五六七八九十两])"
         rf"(?P<yapprox>多|余)?(?P<yunit>年)(?![\d月底末初代级度前后份])")
FIGURE = re.compile(rf"{ARABIC}|{PERCENT_CN}|{FRACTION}|{CN_RANGE}|{CHINESE}|{YEARS}")
MAX_YEARS = 50  # "97年" is a year written short, not 97 years
DATE = re.compile(r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})日|(?P<end>底前|底|中旬|上旬|下旬))?(?:份)?")
DOWN = ("下降", "减少", "降低", "回落", "下滑", "压缩", "缩短", "缩减", "降幅", "降至", "降到", "减")
UP = ("增长", "增加", "提高", "提升", "上升", "上涨", "增速", "增幅", "扩大", "增")
SPANS = frozenset({"年", "个月", "个多月", "天", "日"})
SINCE = re.compile(r"以?来(?![到自看])")
SPAN_OPENS = re.compile(r"(?:^|[,，;；:：。!！?？、\s]|在|过去的?|近|这|\d{4}年)$")
DIRECTION_WINDOW = 6  # characters before a figure searched for its verb

# what each unit measures, and how many base units one of it is
DIMENSIONS: dict[str, tuple[str, float]] = {
    "元": ("money", 1.0), "千元": ("money", 1e3), "万元": ("money", 1e4), "亿元": ("money", 1e8),
    "万亿元": ("money", 1e12), "万美元": ("usd", 1e4), "亿美元": ("usd", 1e8),
    "天": ("days", 1.0), "日": ("days", 1.0), "工作日": ("days", 1.0), "个月": ("months", 1.0),
    "%": ("percent", 1.0), "个百分点": ("points", 1.0),
    "家": ("count", 1.0), "户": ("count", 1.0), "个": ("count", 1.0), "项": ("count", 1.0),
    "条": ("count", 1.0), "场": ("count", 1.0), "台": ("count", 1.0), "套": ("count", 1.0),
    "人": ("people", 1.0), "人次": ("people", 1.0), "名": ("people", 1.0), "口": ("people", 1.0),
    "港元": ("hkd", 1.0), "港币": ("hkd", 1.0), "日元": ("jpy", 1.0), "欧元": ("eur", 1.0), "美元": ("usd", 1.0),
    "公斤": ("mass", 1.0), "千克": ("mass", 1.0), "吨": ("mass", 1e3),
    "米": ("length", 1.0), "厘米": ("length", 0.01), "千米": ("length", 1e3), "公里": ("length", 1e3),
    "年": ("years", 1.0), "小时": ("hours", 1.0), "个小时": ("hours", 1.0), "分钟": ("hours", 1 / 60),
}


@dataclass(frozen=True)
class Figure:
    """A figure found in text; start/end index the text it was found in."""

    value: float  # as written, with its sign ("增长-3.2%" -> -3.2)
    unit: str
    raw: str
    start: int
    end: int
    approx: bool = False  # "1200余家", "1200多家"
    direction: str = ""  # "up" / "down" / "": the change the figure states, sign included
    high: float | None = None  # the upper bound of a range ("9-10家": value 9, high 10)

    @property
    def signed(self) -> float:
        """The change as a signed number: "下降3.2%" -> -3.2, "增长-3.2%" -> -3.2."""
        return -abs(self.value) if self.direction == "down" else self.value


def quantity(value: float, unit: str) -> tuple[str, float]:
    """(dimension, value in base units): 1.2 万亿元 -> ("money", 1.2e12); unknown units stand alone."""
    dim, scale = DIMENSIONS.get(unit, (unit, 1.0))
    return dim, value * scale


def same_quantity(a: tuple[float, str], b: tuple[float, str], tol: float = 1e-6) -> bool:
    """Equal amounts of the same dimension (45 工作日 == 45 天; 1.2 万亿元 == 12000 亿元)."""
    da, va = quantity(*a)
    db, vb = quantity(*b)
    return da == db and abs(va - vb) <= tol * max(1.0, abs(va), abs(vb))


FIRMS = frozenset({"家", "户"})


def unit_fits(asked: str, found: str) -> bool:
    """Does a figure in ``found`` answer a question asking in ``asked``? Same dimension; among
    counts, 个 is any count, 家/户 (firms) take 个 too, other measure words only themselves."""
    if asked == found:
        return True
    da, df = quantity(1.0, asked)[0], quantity(1.0, found)[0]
    if da != df:
        return False
    if da != "count":
        return True
    return asked == "个" or found == "个" or (asked in FIRMS and found in FIRMS)


def direction_before(text: str, start: int) -> str:
    """'up' or 'down' from the verb nearest before a figure ("下降3.2%"), '' when none."""
    window = text[max(0, start - DIRECTION_WINDOW) : start]
    best, where = "", -1
    for words, d in ((DOWN, "down"), (UP, "up")):
        for w in words:
            i = window.rfind(w)
            if i >= 0 and i + len(w) > where:
                best, where = d, i + len(w)
    return best


def _num(s: str) -> float:
    return float(s.replace(",", "").replace("−", "-").replace("·", "."))


def _cn_range(num: str) -> tuple[float, float] | None:
    """Two neighbouring numerals as a range: "两三" -> (2, 3), "三四千" -> (3000, 4000)."""
    m = NEIGHBOURS.match(num)
    if not m:
        return None
    a, b = (_cn(m.group(x)) for x in ("a", "b"))
    if a is None or b is None or b != a + 1:
        return None
    scale = _cn("一" + m.group("mult")) if m.group("mult") else 1.0
    return (a * scale, b * scale) if scale else None


def _cn(num: str) -> float | None:
    import cn2an

    if num in ("百", "千", "万"):
        num = "一" + num
    if "点" in num and num[-1] in "万亿" and len(num) > 2:  # "一点五万": cn2an reads 一点五, not its 万
        head = _cn(num[:-1])
        return head * (1e4 if num[-1] == "万" else 1e8) if head is not None else None
    try:
        value = float(cn2an.cn2an(num, "smart"))
    except (ValueError, KeyError, IndexError, TypeError, OverflowError):
        return None
    return value if math.isfinite(value) else None


BEFORE_NOUN = re.compile(r"[\u4e00-\u9fff](?<![的元多余])")


def find_figures(text: str) -> list[Figure]:
    """Numbers with units (9.5%, 1,200家, 1.2万亿元, 45个工作日, 三十六家, 百分之九点五).

    Every value is finite: numbers longer than MAX_DIGITS (MAX_CN_DIGITS numerals) are skipped.
    """
    out: list[Figure] = []
    for m in FIGURE.finditer(text):
        if text[max(0, m.start() - 1) : m.start()] == "第":
            continue  # an ordinal ("第三十三条", "第二次", "第347名"), not an amount
        around = text[max(0, m.start() - 1) : m.start() + 2]
        if re.match(rf"[{CN_DIGITS}]", m.group(0)) and "几" in around:
            continue  # a vague number ("十几亿", "几十万亩"): no value to state
        approx = bool(m.group("approx") or m.group("approx2") or m.group("capprox") or m.group("yapprox"))
        high = None
        if m.group("num") is not None:
            scale = {"万": 1e4, "亿": 1e8}.get(m.group("mult") or "", 1.0)
            value = _num(m.group("num")) * scale
            unit = m.group("munit") if m.group("mult") else m.group("unit")
            approx = approx or "多" in unit
            if m.group("num2") is not None:
                value, high = sorted((value, _num(m.group("num2")) * scale))
        elif m.group("ynum") is not None:
            ynum = m.group("ynum")
            span = None if ynum.isdigit() else _cn_range(ynum)
            v = float(ynum) if ynum.isdigit() else span[0] if span else _cn(ynum)
            if v is None or v > MAX_YEARS:
                continue
            value, unit = v, "年"
            high = span[1] if span else None
        elif m.group("fden") is not None:
            den, num = _cn(m.group("fden")), _cn(m.group("fnum"))
            if not den or num is None:
                continue
            value, unit = round(num / den, 6), ""
        elif m.group("rlo") is not None:
            lo, hi = m.group("rlo"), m.group("rhi")
            mult = re.search(r"[百千万亿]+$", hi)
            if mult and not re.search(r"[十百千万亿]$", lo):
                lo += mult.group(0)  # "一至二万元": 1万 to 2万, as "三四千亩" is 3000 to 4000
            value, high = _cn(lo), _cn(hi)
            unit = m.group("runit")
            if value is None or high is None or not value < high or (unit == "年" and high > MAX_YEARS):
                continue
        elif m.group("pnum") is not None:
            v = _cn(m.group("pnum"))
            if v is None:
                continue
            value, unit = v, "%"
        else:
            span = _cn_range(m.group("cnum"))
            v = span[0] if span else _cn(m.group("cnum"))
            if v is None:
                continue
            value, unit = v, m.group("cunit")
            high = span[1] if span else None
            approx = approx or "多" in unit
        if unit == "点" and not re.search(r"\d[.·]\d", m.group(0)):
            continue  # "9点", "十一点": a time of day; "598.84点": an index's points
        if unit in SPANS and SINCE.match(text, m.end()):
            continue  # "两年来", "6个多月来": since when (a time reference), not how long
        if unit in SPANS and re.match(r"[中里间]", text[m.end() : m.end() + 1]) and SPAN_OPENS.search(
                text[max(0, m.start() - 5) : m.start()]):
            continue  # "在过去的25年中", "5年中,…": the span a statement covers, not a figure of its own
        if not math.isfinite(value):  # unreachable with the digit bounds above; kept as the invariant
            continue
        if not (unit == "亿" and BEFORE_NOUN.match(text, m.end())):  # "10亿农民" is a count, not money
            approx = approx or (unit == "亿" and text[m.end() : m.end() + 1] in ("多", "余"))  # "2亿多元"
            unit = UNIT_ALIASES.get(unit, unit)
        end = m.end()
        money = re.match(r"[余多]?元", text[end:]) if unit == "万" else None
        if money:  # "3万余元": an amount of 万元, about
            unit, approx, end = "万元", approx or len(money.group(0)) > 1, end + money.end()
        direction = direction_before(text, m.start())
        if value < 0:
            direction = "down"
        out.append(Figure(value, unit, text[m.start() : end], m.start(), end, approx, direction, high))
    return _bounded_ranges(text, out)


BOUND_RANGE = re.compile(r"^(?:以上|及以上)(?:、|,|，)?(?:不满|不足|不到)?$")
RANGE_GAP = re.compile(r"^\s*(?:至|到|~|—|-|－)\s*$")  # "2万元至20万元": both ends with their unit


def _bounded_ranges(text: str, figs: list[Figure]) -> list[Figure]:
    """'二万元以上二十万元以下' and '2万元至20万元' are one range, not two figures."""
    out: list[Figure] = []
    i = 0
    while i < len(figs):
        a = figs[i]
        if i + 1 < len(figs):
            b = figs[i + 1]
            gap = text[a.end : b.start]
            bounded = BOUND_RANGE.match(gap) and text.startswith(("以下", "以内"), b.end)
            # a share to a multiple ("三分之一至一倍") is one scale: a fraction has no unit of its own
            (dim_a, lo), (dim_b, hi) = quantity(a.value, b.unit if a.unit == "" and b.unit == "倍" else a.unit), \
                quantity(b.value, b.unit)
            if (bounded or RANGE_GAP.match(gap)) and dim_a == dim_b and a.high is None and b.high is None and lo < hi:
                scale = quantity(1.0, b.unit)[1]
                out.append(Figure(lo / scale, b.unit, text[a.start : b.end], a.start, b.end, a.approx or b.approx,
                                  a.direction, hi / scale))
                i += 2
                continue
        out.append(a)
        i += 1
    return out


def find_dates(text: str) -> list[Figure]:
    """Calendar dates (2023年8月11日, 3月23日, 9-10月份 is left to periods)."""
    out = []
    for m in DATE.finditer(text):
        if m.group("d") is None and m.group("y") is None and m.group("end") is None:
            continue
        out.append(Figure(0.0, "日期", m.group(0), m.start(), m.end()))
    return out


def format_value(value: float, unit: str, high: float | None = None) -> str:
    """9.5 + '%' -> '9.5%'; 36.0 + '家' -> '36家'; 9.0 to 10.0 + '家' -> '9-10家'."""

    def num(v: float) -> str:
        return f"{v:g}" if v != int(v) else str(int(v))

    text = num(value) if high is None else f"{num(value)}-{num(high)}"
    return f"{text}个{unit}" if unit == "工作日" else f"{text}{unit}"
