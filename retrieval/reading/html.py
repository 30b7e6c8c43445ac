"""Read a web page: main text and metadata with trafilatura, headings as sections, tables as rows.

Navigation, share bars, related links, comments, footers and scripts are left to trafilatura's
main-content extraction; lines it keeps that are still site furniture (``责任编辑：…``) or datelines
are classified like the plain reader does. ``Document.text`` is the extracted lines joined by
``\\n``, so every line offset holds.
"""

from __future__ import annotations

import logging
import re

from lxml import etree

from retrieval.reading.blocks import Block, build_document
from retrieval.reading.files import UnreadableFile, decode
from retrieval.reading.meta import date_in_lines, display, is_dateline, iso_date, outlet_in_lines
from retrieval.types import Document

log = logging.getLogger(__name__)

CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-z0-9_\-]+)", re.IGNORECASE)
# Pages that say gb2312/gbk use the whole GB18030 repertoire in practice.
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs"}
AUTHOR_META = re.compile(r"<meta\s+[^>]*name=[\"']author[\"'][^>]*content=[\"']([^\"']{1,40})[\"']", re.IGNORECASE)
CELL_SEP = "｜"


def decode_html(data: bytes) -> tuple[str, str]:
    """Decode with the charset the page declares; else detect it (files.decode)."""
    m = CHARSET.search(data[:4096])
    if m:
        name = m.group(1).decode("ascii").lower()
        name = CHARSET_ALIASES.get(name, name)
        try:
            return data.decode(name), name
        except (LookupError, UnicodeDecodeError):
            log.debug("declared charset %s does not decode; detecting", name)
    try:
        return decode(data)
    except ValueError as exc:
        raise UnreadableFile(str(exc)) from exc


def _text(el: etree._Element) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def datelines(page: str) -> list[str]:
    """Short lines of the whole page (scripts and styles left out) that give a date or a source.

    Main-text extraction often drops the article-info bar ('发布时间：… 来源：…'): read it here.
    """
    import lxml.html

    tree = lxml.html.fromstring(page)
    for el in tree.xpath("//script|//style"):
        el.drop_tree()
    lines = (" ".join(el.text_content().split()) for el in tree.iter("div", "p", "span", "td", "li", "em", "small"))
    return [ln for ln in lines if 0 < len(ln) <= 80 and (is_dateline(ln) or "来源" in ln or "來源" in ln)]


def _lines_of(el: etree._Element) -> list[str]:
    """A paragraph's text, split where the page breaks the line (``<lb/>``)."""
    parts = [el.text or ""]
    for child in el:
        parts.append("\n" if child.tag == "lb" else "".join(child.itertext()))
        parts.append(child.tail or "")
    return [re.sub(r"\s+", " ", s).strip() for s in "".join(parts).split("\n")]


def _blocks(main: etree._Element) -> list[Block]:
    """Walk trafilatura's XML body in order: head -> heading, table row -> table, the rest -> text."""
    out: list[Block] = []
    for el in main:
        tag = el.tag
        if tag == "head":
            rend = el.get("rend", "")
            out.append(Block(_text(el), "heading", int(rend[1]) if re.fullmatch(r"h\d", rend) else 2))
        elif tag == "table":
            for row in el.iter("row"):
                cells = [_text(c) for c in row.iter("cell")]
                if any(cells):
                    out.append(Block(CELL_SEP.join(cells), "table"))
        elif tag == "list":
            out.extend(Block(_text(item), "text") for item in el.iter("item"))
        else:
            out.extend(Block(text, "text") for text in _lines_of(el))
    return [b for b in out if b.text]


def read_html(data: bytes, doc_id: str, path: str) -> Document:
    """Read one web page into a Document; raises UnreadableFile when no main text is found."""
    import trafilatura

    page, enc = decode_html(data)
    xml = trafilatura.extract(
        page, output_format="xml", with_metadata=True, include_tables=True, include_comments=False,
        include_links=False, include_images=False, deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True},  # no guesses from "© 2023"
    )
    if not xml:
        raise UnreadableFile("web page without main text")
    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    blocks = _blocks(main) if main is not None else []
    if not blocks:
        raise UnreadableFile("web page without main text")
    info = datelines(page)
    author = root.get("author") or (m.group(1) if (m := AUTHOR_META.search(page[:8192])) else None)
    return build_document(
        blocks, doc_id=doc_id, path=path, encoding=enc, fmt="html",
        title=display(root.get("title") or ""), date=iso_date(root.get("date") or "") or date_in_lines(info),
        site=outlet_in_lines(info) or display(root.get("sitename") or "") or None,
        author=display(author) if author else None,
    )
