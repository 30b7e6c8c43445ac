"""Publication date and outlet, as data: one parser shared by every reader.

Dates come as ``2023年08月11日``, ``2023-03-24``, ``2023/3/24``, ``发布时间：…`` in the text, or
``D:20230811091300+08'00'`` in a PDF's metadata; all are returned as ISO ``YYYY-MM-DD``.
Outlets come from a ``来源:``/``來源:`` line, an ``…网讯`` lead, a ``(…日报…记者)`` byline, or the
page's site name; they are returned in the original script, without pinyin notes or mojibake.
"""

from __future__ import annotations

import datetime as dt
import re

from retrieval.text.normalize import PINYIN_NOTE, find_mojibake, normalize

DATE = re.compile(r"(?<!\d)(\d{4})\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})(?!\d)")
PDF_DATE = re.compile(r"^D?:?(\d{4})(\d{2})(\d{2})")
# A line that is a dateline, not a sentence mentioning a date.
DATE_LABEL = re.compile(r"^(?:发布时间|发布日期|发稿时间|时间|日期)[:：]")
DATELINE = re.compile(r"^\d{4}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}日?.{0,20}(?:来源|\||｜)")
BARE_DATE = re.compile(r"^\d{4}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}日?\s*(?:\d{1,2}:\d{2}(?::\d{2})?)?$")
OUTLET_PATTERNS = (
    re.compile(r"来源[:：]\s*([^\s|｜]{2,20})"),
    re.compile(r"^([^\s，,。]{2,12}?(?:网|报|台|社))讯"),
    re.compile(r"^[(（]([^\s（(]{2,12}?(?:日报|晚报|报|网|台))"),
)
# "作者：张三", "(广安日报全媒体记者 龙俊帆 整理)", "记者 黄小芹": a person's name of 2 to 4 characters.
AUTHOR_PATTERNS = (
    re.compile(r"^[(（]?(?:作者|文)[:：/]\s*([\u4e00-\u9fff·]{2,4})(?![\u4e00-\u9fff])"),
    re.compile(r"记者\s*([\u4e00-\u9fff·]{2,4})(?:\s|[)）]|$)"),
)
# The last character of an outlet name, lost to a broken re-encoding that kept its pinyin note:
# "福建日?qǐng)?bào)" is "福建日報(bào)" with "報(" turned into "?". Only these outlet endings are restored.
LOST_OUTLET_END = re.compile(r"\?(bào|wǎng|tái|shè)\)")
OUTLET_ENDS = {"bào": "報", "wǎng": "網", "tái": "臺", "shè": "社"}


def iso_date(text: str) -> str | None:
    """The first valid date in a string (text or PDF ``D:`` form) as ``YYYY-MM-DD``, else None."""
    text = normalize(text).text
    m = PDF_DATE.match(text.strip()) or DATE.search(text)
    if m is None:
        return None
    try:
        return dt.date(*(int(x) for x in m.groups())).isoformat()
    except ValueError:
        return None


def is_dateline(text: str) -> bool:
    """A line that states the publication date ('发布时间：…', '2023年08月11日09:13 | 来源:…')."""
    norm = normalize(text.strip()).text
    return bool(DATE_LABEL.match(norm) or DATELINE.match(norm) or BARE_DATE.match(norm))


def date_in_lines(lines: list[str]) -> str | None:
    """The date of the first dateline among the lines."""
    for text in lines:
        if is_dateline(text) and (found := iso_date(text)):
            return found
    return None


def display(text: str) -> str:
    """Original script without pinyin notes, mojibake or repeated spaces."""
    out = PINYIN_NOTE.sub("", text)
    for a, b in reversed(find_mojibake(out)):
        out = out[:a] + out[b:]
    return re.sub(r"\s+", " ", out).strip()


def outlet_in_line(text: str) -> str | None:
    """The outlet a line names, in its original script, or None."""
    raw = LOST_OUTLET_END.sub(lambda m: OUTLET_ENDS[m.group(1)], text.strip())
    nz = normalize(raw)
    for pat in OUTLET_PATTERNS:
        m = pat.search(nz.text)
        if m:
            a, b = nz.original_span(*m.span(1))
            return display(raw[a:b]) or None
    return None


def author_in_line(text: str) -> str | None:
    """The person a byline names, in its original script, or None."""
    nz = normalize(text.strip())
    for pat in AUTHOR_PATTERNS:
        m = pat.search(nz.text)
        if m:
            a, b = nz.original_span(*m.span(1))
            return display(text.strip()[a:b]) or None
    return None


def author_in_lines(lines: list[str]) -> str | None:
    """The person named by the first byline among the lines."""
    for text in lines:
        if found := author_in_line(text):
            return found
    return None


def outlet_in_lines(lines: list[str]) -> str | None:
    """The outlet named by the first line that names one."""
    for text in lines:
        if found := outlet_in_line(text):
            return found
    return None
