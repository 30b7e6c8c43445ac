"""Read a decoded file into a Document: classify its lines and find title, date, outlet."""

from __future__ import annotations

import re

from retrieval.reading.meta import author_in_lines, date_in_lines, display, is_dateline, outlet_in_lines
from retrieval.text.normalize import norm_text
from retrieval.types import Document, Line

# Site chrome, compared on the normalized (Simplified, NFKC) line.
CHROME_LINES = frozenset({
    "小字号", "大字号", "中字号", "分享让更多人看到", "返回顶部", "打印", "关闭窗口",
    "扫一扫", "分享到", "打印本页", "关闭", "【打印】", "【关闭】", "字号", "收藏",
})
CHROME_PATTERNS = (
    re.compile(r"^[\u4e00-\u9fff]{1,8}网(?:首页)?$"),  # a site's masthead alone on its line (人民网, 中国经济网)
    re.compile(r"^[(（]?责编[:：].*[)）]?$"),
    re.compile(r"^[(（]?(责任)?编辑[:：].*[)）]?$"),
    re.compile(r"^[(（]?(审核|校对|监制)[:：][^。]{0,30}[)）]?$"),
    re.compile(r"^(上一篇|下一篇|相关新闻|推荐阅读)"),
)
SOURCE_LINE = re.compile(r"^[(（]?(来源|作者|发布机构|发布单位)[:：][^。]{0,30}[)）]?$")
ORIGINAL_TITLE = re.compile(r"^原标题[:：]\s*(.+)$")
BYLINE = re.compile(r"^[(（][^。]{0,40}(记者|整理|通讯员|供稿)[^。]{0,20}[)）]$")
HEADING_MAX = 20  # characters, without the colon
TITLE_MAX = 60
SENTENCE_MARK = re.compile(r"[。！？；!?;]")


def clean_display(text: str) -> str:
    """Original script with pinyin notes and mojibake removed: for titles and labels."""
    return display(text)


def fixed_kind(text: str) -> str | None:
    """'chrome' or 'meta' for a line that is one whatever its neighbours, else None."""
    norm = norm_text(text.strip())
    if norm in CHROME_LINES or any(p.match(norm) for p in CHROME_PATTERNS):
        return "chrome"
    if is_dateline(text) or SOURCE_LINE.match(norm) or ORIGINAL_TITLE.match(norm) or BYLINE.match(norm):
        return "meta"
    return None


def looks_like_heading(norm: str) -> bool:
    return norm.endswith((":", "：")) and 1 < len(norm) - 1 <= HEADING_MAX and not SENTENCE_MARK.search(norm)


def looks_short(norm: str) -> bool:
    return len(norm) <= TITLE_MAX and not SENTENCE_MARK.search(norm)


def classify(text: str) -> list[Line]:
    """Split into lines and give each a kind."""
    lines: list[Line] = []
    pos = 0
    seen_content = False
    prev_kind = ""
    for raw in text.split("\n"):
        start = pos
        pos += len(raw) + 1
        stripped = raw.strip()
        if not stripped:
            lines.append(Line(raw, start, "blank"))
            continue
        norm = norm_text(stripped)
        fixed = fixed_kind(stripped)
        if fixed:
            kind = fixed
        elif looks_like_heading(norm):
            kind = "heading"
        elif prev_kind == "heading" and looks_short(norm):
            kind = "subtitle"
        elif not seen_content and looks_short(norm):
            kind = "title"
        elif prev_kind == "title" and looks_short(norm) and len(lines) < 12:
            kind = "title"  # a subtitle under the article title
        else:
            kind = "body"
        if kind in ("title", "body", "heading"):
            seen_content = True
        lines.append(Line(raw, start, kind))
        prev_kind = kind
    return lines


def _title(lines: list[Line]) -> str:
    titles = [clean_display(ln.text) for ln in lines if ln.kind == "title"]
    if titles:
        return titles[0]
    for ln in lines:
        m = ORIGINAL_TITLE.match(norm_text(ln.text.strip()))
        if ln.kind == "meta" and m:
            return clean_display(ln.text.strip().split(":", 1)[-1].split("：", 1)[-1])
    for ln in lines:
        if ln.kind == "body":
            first = SENTENCE_MARK.split(clean_display(ln.text))[0]
            return first if len(first) <= 40 else first[:40] + "…"
    return ""


def _date(lines: list[Line]) -> str | None:
    return date_in_lines([ln.text for ln in lines if ln.kind == "meta"])


def _outlet(lines: list[Line]) -> str | None:
    candidates = [ln for ln in lines if ln.kind == "meta"] + [ln for ln in lines if ln.kind == "body"][:1]
    return outlet_in_lines([ln.text for ln in candidates])


def _author(lines: list[Line]) -> str | None:
    body = [ln.text for ln in lines if ln.kind == "body"]
    return author_in_lines([ln.text for ln in lines if ln.kind == "meta"] + body[-1:])


def read_document(doc_id: str, path: str, text: str, encoding: str) -> Document:
    """Build a Document from decoded text."""
    lines = classify(text)
    return Document(
        doc_id=doc_id,
        path=path,
        text=text,
        encoding=encoding,
        title=_title(lines),
        date=_date(lines),
        outlet=_outlet(lines),
        lines=tuple(lines),
        author=_author(lines),
    )
