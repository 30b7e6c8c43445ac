"""Read a PDF's text layer (pypdf): rejoin wrapped lines, drop running headers and page numbers.

A paragraph that the PDF wraps is rejoined (see ``paragraphs``), Chinese lines with no space;
pypdf's layout mode gives the indents and blank lines between paragraphs that this needs.
Lines repeated at the top or bottom of most pages (running headers, footers) and page numbers
("3", "- 3 -", "第 3 页", "3 / 12") are dropped. Each line keeps the page it starts on as its
citation locator. Lines are then classified like a plain-text file.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from retrieval.reading.blocks import Block, build_document
from retrieval.reading.files import UnreadableFile
from retrieval.reading.meta import display, iso_date
from retrieval.reading.plain import classify, looks_like_heading
from retrieval.text.normalize import SENTENCE_END, norm_text
from retrieval.types import Document

log = logging.getLogger(__name__)

PAGE_NUMBER = re.compile(
    r"^(?:[-—–]\s*\d{1,4}\s*[-—–]|\d{1,4}|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|(?:page|p\.)\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$",
    re.IGNORECASE,
)
EDGE = 2  # lines at the top and bottom of a page where headers, footers and numbers live
REPEAT_SHARE = 0.6  # a line on at least this share of pages (and two of them) is running text
FULL_SHARE = 0.9  # a line this close to the text width was wrapped
FULL_SHARE_INDENTED = 0.75  # looser where paragraphs are indented: the indent marks a new one
PAIRS = (("“", "”"), ("（", "）"), ("(", ")"), ("《", "》"), ("「", "」"))
PLACEHOLDER_META = {"", "(anonymous)", "(unspecified)", "untitled", "unknown"}


def _width(text: str) -> float:
    """Width in CJK character cells: wide characters 1, the rest 1/2."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in text)


def _key(text: str) -> str:
    """A running header or footer with its page number masked."""
    return re.sub(r"\d+", "#", "".join(text.split()))


@dataclass(frozen=True)
class PdfLine:
    """One printed line: its text, page, and the layout around it."""

    text: str  # stripped
    page: int  # 1-based
    indent: bool  # starts right of the page's left text edge (a paragraph's first line)
    gap: bool  # a blank line above it on the same page (space between paragraphs)


def _page_lines(pages: list[str]) -> list[list[PdfLine]]:
    """Lines per page with running headers, footers and page numbers removed.

    ``pages`` is pypdf's layout-mode text: columns and blank lines follow the page.
    """
    raw: list[list[tuple[str, int, int]]] = []  # (line, leading spaces, blank lines above)
    for text in pages:
        lines, blanks = [], 0
        for ln in text.split("\n"):
            if not ln.strip():
                blanks += 1
                continue
            lines.append((ln.rstrip(), len(ln) - len(ln.lstrip()), blanks))
            blanks = 0
        raw.append(lines)
    counts: Counter[str] = Counter()
    for lines in raw:
        counts.update({_key(t) for t, _, _ in lines[:EDGE] + lines[-EDGE:]})
    need = max(2, REPEAT_SHARE * len(raw))
    kept_pages = []
    for lines in raw:
        kept_pages.append([
            (t, lead, blanks) for i, (t, lead, blanks) in enumerate(lines)
            if not ((i < EDGE or i >= len(lines) - EDGE) and (PAGE_NUMBER.match(t.strip()) or counts[_key(t)] >= need))
        ])
    out = []
    for n, kept in enumerate(kept_pages, 1):
        left = min((lead for _, lead, _ in kept), default=0)
        # the blank lines above a page's first line are the top margin, not a paragraph gap
        out.append([
            PdfLine(t.strip(), n, lead > left, i > 0 and blanks > 0) for i, (t, lead, blanks) in enumerate(kept)
        ])
    return out


def _join(a: str, b: str) -> str:
    """Join a wrapped line: no space between CJK (or any non-Latin) characters."""
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return f"{a} {b}"
    return a + b


def _unclosed(text: str) -> bool:
    """An opening quote or bracket still open at the end: the line goes on."""
    return any(text.count(a) > text.count(b) for a, b in PAIRS)


def paragraphs(pages: list[str]) -> list[tuple[str, int]]:
    """(paragraph, 1-based page it starts on) from each page's layout-mode text.

    A line starts a paragraph when it is indented, has a blank line above it (where blank lines
    part paragraphs rather than every line), follows a line that stopped short of the text width
    (and left no quote or bracket open), or is a heading ('…：') after a full stop. Otherwise it
    continues the paragraph above. With indents or gaps to go by, "full" can be loose. Where
    blank lines part paragraphs, a page top after a full stop starts one: the gap is not printed
    there, and a sentence that ends exactly at the foot of a page will be taken as a paragraph end.
    """
    flat = [ln for lines in _page_lines(pages) for ln in lines]
    if not flat:
        return []
    gaps = sum(ln.gap for ln in flat)
    use_gaps = 0 < gaps < 0.5 * len(flat)
    widths = sorted(_width(ln.text) for ln in flat)
    full = widths[int(0.9 * (len(widths) - 1))]  # the text width: most wrapped lines reach it
    indents = any(ln.indent for ln in flat)
    block = use_gaps and not indents  # paragraphs parted by space only
    share = FULL_SHARE_INDENTED if use_gaps or indents else FULL_SHARE
    out: list[tuple[str, int]] = []
    prev_full, last_page = False, 1
    for ln in flat:
        after_stop = bool(out) and out[-1][0].rstrip("”’\"'）)")[-1:] in SENTENCE_END
        page_top = bool(out) and ln.page != last_page
        new = (
            ln.indent or (use_gaps and ln.gap) or (after_stop and looks_like_heading(norm_text(ln.text)))
            # block paragraphs: a page top hides the gap, so a full stop at the foot of the page above ends one
            or (block and page_top and after_stop)
        )
        if out and not new and (prev_full or _unclosed(out[-1][0])):
            out[-1] = (_join(out[-1][0], ln.text), out[-1][1])
        else:
            out.append((ln.text, ln.page))
        prev_full = _width(ln.text) >= share * full
        last_page = ln.page
    return out


def _layout_text(page) -> str:
    """Layout-mode text (indents and paragraph gaps kept); plain mode where layout mode fails."""
    try:
        return page.extract_text(extraction_mode="layout", layout_mode_space_vertically=True) or ""
    except (ValueError, KeyError, TypeError, ZeroDivisionError, IndexError) as exc:
        log.debug("layout extraction failed (%s); plain text mode", exc)
        return page.extract_text() or ""


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _open(data: bytes):
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("encrypted PDF: it needs a password")
        return reader, len(reader.pages)
    except UnreadableFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFile(f"corrupt PDF: {_first_line(exc)}") from exc
    except NotImplementedError as exc:  # an encryption algorithm pypdf cannot undo without extras
        raise UnreadableFile(f"encrypted PDF: {exc}") from exc


def read_pdf(data: bytes, doc_id: str, path: str) -> Document:
    """Read one PDF into a Document; raises UnreadableFile (scanned, encrypted, corrupt)."""
    from pypdf.errors import PyPdfError

    reader, n = _open(data)
    try:
        pages = [_layout_text(page) for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFile(f"corrupt PDF: {_first_line(exc)}") from exc
    if not any(p.strip() for p in pages):
        raise UnreadableFile("scanned PDF: no text layer")
    paras = paragraphs(pages)
    # headings, subtitles and the title come from the plain-text rules: a PDF has no heading markup
    kinds = [ln.kind for ln in classify("\n".join(p for p, _ in paras))]
    meta = reader.metadata or {}
    title = str(meta.get("/Title") or "").strip()
    author = str(meta.get("/Author") or "").strip()
    log.debug("%s: %d pages, %d paragraphs", path, n, len(paras))
    return build_document(
        [Block(p, "text", page=page) for p, page in paras], doc_id=doc_id, path=path, encoding="pdf", fmt="pdf",
        title="" if title.lower() in PLACEHOLDER_META else display(title),
        fallback_date=iso_date(str(meta.get("/CreationDate") or "")),
        author=None if author.lower() in PLACEHOLDER_META else author, kinds=kinds,
    )
