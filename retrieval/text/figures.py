"""Figures in Simplified text: numbers with units, Chinese numerals read with cn2an."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

UNIT_ALIASES = {
    "％": "%", "%": "%", "百分点": "个百分点", "个百分点": "个百分点",
    "个工作日": "工作日", "工作日": "工作日",
}
UNITS = ("个百分点|百分点|%|％|亿美元|万美元|亿元|万元|千元|元|家|个工作日|工作日|户|场|项|天|个月|个|条|台|套|倍|人次|"
         "吨|千瓦|平方米|亩|公里|亿|万")
CN_DIGITS = "零〇一二两三四五六七八九十百千万亿点"
COUNTED = "家|户|个|项|场|人|人次|台|套|条|吨|亩"
# A figure has at most MAX_DIGITS digits before the point and MAX_DECIMALS after it; a longer
# run of digits (an id, a phone number, 310 nines) is not a figure at all, not even its tail:
# the look-behinds stop a match from starting inside a number.
MAX_DIGITS = 15
MAX_DECIMALS = 6
NUMBER = rf"(?<!\d)(?<!\d\.)\d{{1,{MAX_DIGITS}}}(?:\.\d{{1,{MAX_DECIMALS}}})?(?![\d.]\d)"
# "1.6万户" is 16,000 户; "387.6亿元" stays 387.6 亿元 (the unit analysts read)
ARABIC = (
    rf"(?P<num>{NUMBER})(?:\s*[-—~至到]\s*(?P<num2>{NUMBER}))?\s*"
    rf"(?:(?P<mult>万|亿)(?P<munit>{COUNTED})|(?P<unit>{UNITS}))"
)
MAX_CN_DIGITS = 12  # 一千二百三十四万五千六百 is 12; a longer run of numerals is not a figure
# one Chinese digit before 个 is mostly idiom ("三个多月", "五个一"), not a figure
CHINESE = (rf"(?<![{CN_DIGITS}])(?P<cnum>[{CN_DIGITS}]{{2,{MAX_CN_DIGITS}}}|[二三四五六七八九十两](?!个))"
           rf"(?P<cunit>{UNITS})")
PERCENT_CN = rf"百分之(?P<pnum>[{CN_DIGITS}]{{1,{MAX_CN_DIGITS}}})(?![{CN_DIGITS}])"
FIGURE = re.compile(rf"{ARABIC}|{PERCENT_CN}|{CHINESE}")
DATE = re.compile(r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})日|(?P<end>底前|底|中旬|上旬|下旬))?(?:份)?")


@dataclass(frozen=True)
class Figure:
    """A figure found in text; start/end index the text it was found in."""

    value: float
    unit: str
    raw: str
    start: int
    end: int


def _cn(num: str) -> float | None:
    import cn2an

    try:
        value = float(cn2an.cn2an(num, "smart"))
    except (ValueError, KeyError, IndexError, TypeError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def find_figures(text: str) -> list[Figure]:
    """Numbers with units (9.5%, 387.6亿元, 45个工作日, 三十六家, 百分之九点五).

    Every value is finite: numbers longer than MAX_DIGITS (MAX_CN_DIGITS numerals) are skipped.
    """
    out: list[Figure] = []
    for m in FIGURE.finditer(text):
        if m.group("num") is not None and m.group("mult"):
            value = float(m.group("num")) * (1e4 if m.group("mult") == "万" else 1e8)
            unit = m.group("munit")
        elif m.group("num") is not None:
            value = float(m.group("num"))
            unit = m.group("unit")
        elif m.group("pnum") is not None:
            v = _cn(m.group("pnum"))
            if v is None:
                continue
            value, unit = v, "%"
        else:
            v = _cn(m.group("cnum"))
            if v is None:
                continue
            value, unit = v, m.group("cunit")
        if not math.isfinite(value):  # unreachable with the digit bounds above; kept as the invariant
            continue
        unit = UNIT_ALIASES.get(unit, unit)
        out.append(Figure(value, unit, m.group(0), m.start(), m.end()))
    return out


def find_dates(text: str) -> list[Figure]:
    """Calendar dates (2023年8月11日, 3月23日, 9-10月份 is left to periods)."""
    out = []
    for m in DATE.finditer(text):
        if m.group("d") is None and m.group("y") is None and m.group("end") is None:
            continue
        out.append(Figure(0.0, "日期", m.group(0), m.start(), m.end()))
    return out


def format_value(value: float, unit: str) -> str:
    """9.5 + '%' -> '9.5%'; 36.0 + '家' -> '36家'."""
    num = f"{value:g}" if value != int(value) else str(int(value))
    return f"{num}个{unit}" if unit == "工作日" else f"{num}{unit}"
