"""Read a PDF's text layer (pypdf): rejoin wrapped lines, drop running headers and page numbers.

A paragraph that the PDF wraps is rejoined: a line that fills the text width continues on the
next line unless that one is indented (a new paragraph). Chinese lines are joined with no space.
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
INDENT = 2.0  # cells an indented first line gives up
PAIRS = (("“", "”"), ("（", "）"), ("(", ")"), ("《", "》"), ("「", "」"))
PLACEHOLDER_META = {"", "(anonymous)", "(unspecified)", "untitled", "unknown"}


def _width(text: str) -> float:
    """Width in CJK character cells: wide characters 1, the rest 1/2."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in text)


def _key(text: str) -> str:
    """A running header or footer with its page number masked."""
    return re.sub(r"\d+", "#", "".join(text.split()))


def _page_lines(pages: list[str]) -> list[list[str]]:
    """Raw lines per page (leading spaces kept: they mark an indent), running text removed."""
    raw = [[ln.rstrip() for ln in text.split("\n") if ln.strip()] for text in pages]
    counts: Counter[str] = Counter()
    for lines in raw:
        counts.update({_key(ln) for ln in lines[:EDGE] + lines[-EDGE:]})
    need = max(2, REPEAT_SHARE * len(raw))
    out = []
    for lines in raw:
        kept = []
        for i, ln in enumerate(lines):
            edge = i < EDGE or i >= len(lines) - EDGE
            if edge and (PAGE_NUMBER.match(ln.strip()) or counts[_key(ln)] >= need):
                continue
            kept.append(ln)
        out.append(kept)
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
    """(paragraph, 1-based page it starts on) from each page's extracted text.

    A line continues the paragraph above when it is not indented and the line above filled the
    text width (or left a quote or bracket open), unless it is a heading ('…：') after a full stop.
    Where the PDF indents paragraphs, the indent is the main signal and "filled" can be loose.
    """
    per_page = _page_lines(pages)
    flat = [(ln, n) for n, lines in enumerate(per_page, 1) for ln in lines]
    if not flat:
        return []
    indents = any(ln[:1].isspace() for ln, _ in flat)
    widths = sorted(_width(ln.strip()) + (INDENT if ln[:1].isspace() else 0) for ln, _ in flat)
    full = widths[int(0.9 * (len(widths) - 1))]  # the text width: most wrapped lines reach it
    share = FULL_SHARE_INDENTED if indents else FULL_SHARE
    out: list[tuple[str, int]] = []
    prev_full = False
    for ln, page in flat:
        indented = ln[:1].isspace()
        text = ln.strip()
        heading = looks_like_heading(norm_text(text)) and out and out[-1][0].rstrip("”’\"'）)")[-1:] in SENTENCE_END
        if out and not indented and not heading and (prev_full or _unclosed(out[-1][0])):
            out[-1] = (_join(out[-1][0], text), out[-1][1])
        else:
            out.append((text, page))
        prev_full = _width(text) + (INDENT if indented else 0) >= share * full
    return out


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
        pages = [page.extract_text() or "" for page in reader.pages]
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
