"""Read a Word document (python-docx): heading styles become sections, table rows ``table`` lines."""

from __future__ import annotations

import io
import re
import zipfile

from retrieval.reading.blocks import Block, build_document
from retrieval.reading.files import UnreadableFile
from retrieval.reading.meta import display
from retrieval.types import Document

HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
TITLE_STYLES = frozenset({"title", "标题"})
CELL_SEP = "｜"


def _row_text(row) -> str:
    """Cells of one table row joined with '｜' (a merged cell counts once)."""
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        cells.append(" ".join(cell.text.split()))
    return CELL_SEP.join(cells) if any(cells) else ""


def _blocks(document) -> list[Block]:
    from docx.table import Table

    out: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            out.extend(Block(t, "table") for t in map(_row_text, item.rows) if t)
            continue
        style = (item.style.name if item.style is not None else "").strip()
        for text in item.text.split("\n"):  # a manual line break is a line of its own
            text = " ".join(text.split())
            if not text:
                continue
            if style.lower() in TITLE_STYLES:
                out.append(Block(text, "title", 1))
            elif m := HEADING_STYLE.match(style):
                out.append(Block(text, "heading", int(m.group(1))))
            else:
                out.append(Block(text, "text"))
    return out


def read_docx(data: bytes, doc_id: str, path: str) -> Document:
    """Read one .docx into a Document; raises UnreadableFile for a broken or empty one."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableFile(f"corrupt DOCX: {exc}") from exc
    blocks = _blocks(document)
    if not blocks:
        raise UnreadableFile("DOCX without text")
    props = document.core_properties
    created = props.created.date().isoformat() if props.created else None
    return build_document(
        blocks, doc_id=doc_id, path=path, encoding="docx", fmt="docx",
        title=display(props.title or ""), fallback_date=created, author=display(props.author or "") or None,
    )
