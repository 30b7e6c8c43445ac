"""Shared by the structured readers (HTML, DOCX, PDF): blocks of text in reading order -> Document.

A reader turns its format into ``Block``s (a heading with its level, a table row, a text line,
each with its PDF page where there is one); ``build_document`` gives every block a line kind, joins
the blocks with ``\\n`` into ``Document.text`` (so each Line's offset holds) and reads title, date,
outlet the same way for every format.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.reading.meta import author_in_lines, date_in_lines, display, outlet_in_lines
from retrieval.reading.plain import fixed_kind, looks_like_heading, looks_short
from retrieval.text.normalize import norm_text
from retrieval.types import Document, Line


@dataclass(frozen=True)
class Block:
    """One line of a structured document before classification."""

    text: str
    kind: str  # "heading" | "table" | "text" | "title"
    level: int = 0  # heading level (1 = h1 / Heading 1)
    page: int | None = None


def _same(a: str, b: str) -> bool:
    return "".join(norm_text(display(a)).split()) == "".join(norm_text(display(b)).split())


def classify_blocks(blocks: list[Block], title: str) -> list[str]:
    """A line kind per block.

    The title's own heading is 'title'; a heading right under a higher-level heading (h2 then h3)
    is its 'subtitle', as the plain reader has it; datelines and site furniture are 'meta'/'chrome'.
    """
    kinds: list[str] = []
    prev: Block | None = None
    seen_content = False
    for b in blocks:
        if b.kind == "title" or (not seen_content and title and b.kind in ("heading", "text") and _same(b.text, title)):
            kind = "title"
        elif b.kind == "heading":
            under = prev is not None and prev.kind == "heading" and kinds[-1] == "heading" and prev.level < b.level
            kind = "subtitle" if under else "heading"
        elif b.kind == "table":
            kind = "table"
        else:  # a paragraph: the plain-text rules (a short line ending in '：' heads a section)
            norm = norm_text(b.text)
            kind = fixed_kind(b.text) or (
                "heading" if looks_like_heading(norm)
                else "subtitle" if kinds and kinds[-1] == "heading" and looks_short(norm) else "body"
            )
        if kind in ("heading", "body", "table"):
            seen_content = True
        kinds.append(kind)
        prev = b
    return kinds


def build_document(
    blocks: list[Block], *, doc_id: str, path: str, encoding: str, fmt: str, title: str = "",
    date: str | None = None, fallback_date: str | None = None, site: str | None = None, author: str | None = None,
    kinds: list[str] | None = None,
) -> Document:
    """Join classified blocks into a Document.

    Args:
        date: the date the format's metadata states (a page's published date); wins over the text.
        fallback_date: a weaker metadata date (a PDF's creation date), used when the text has none.
        site: the publishing site, the outlet when no '来源:' line names one.
        kinds: line kinds when the reader classified the blocks itself (a PDF has no heading markup).
    """
    kinds = kinds or classify_blocks(blocks, title)
    lines: list[Line] = []
    pos = 0
    for b, kind in zip(blocks, kinds, strict=True):
        lines.append(Line(b.text, pos, kind, b.page))
        pos += len(b.text) + 1
    text = "\n".join(b.text for b in blocks)
    meta = [ln.text for ln in lines if ln.kind == "meta"]
    body = [ln.text for ln in lines if ln.kind == "body"]
    if not title:
        title = next((display(ln.text) for ln in lines if ln.kind == "title"), "")
    return Document(
        doc_id=doc_id,
        path=path,
        text=text,
        encoding=encoding,
        title=title,
        date=date or date_in_lines(meta) or fallback_date,
        outlet=outlet_in_lines(meta + body[:1]) or site,
        lines=tuple(lines),
        author=author or author_in_lines(meta + body[-1:]),  # a byline closes the article
        format=fmt,
    )
