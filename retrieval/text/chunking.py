"""One chunk per paragraph; headings become the section of the paragraphs below them."""

from __future__ import annotations

import hashlib

from retrieval.reading.plain import clean_display
from retrieval.text.normalize import find_mojibake, norm_text, normalize, split_sentences
from retrieval.types import Chunk, Document


def chunk_id_for(doc_id: str, text: str, occurrence: int) -> str:
    """Stable id: the same text in the same document keeps its id across rebuilds."""
    key = f"{doc_id}\x1f{text}\x1f{occurrence}".encode()
    return hashlib.sha1(key).hexdigest()[:16]


def split_long(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Pack whole sentences into pieces of at most max_chars normalized characters.

    Length is counted on the normalized text (pinyin notes do not reach the model).
    A sentence longer than the budget on its own is cut at the budget.
    """
    if len(norm_text(text)) <= max_chars:
        return [(0, len(text))]
    pieces: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    cur_len = 0
    for a, b in split_sentences(text):
        n = len(norm_text(text[a:b]))
        if n > max_chars:  # one very long sentence: cut it
            if cur is not None:
                pieces.append(cur)
                cur, cur_len = None, 0
            pieces.extend((x, min(x + max_chars, b)) for x in range(a, b, max_chars))
            continue
        if cur is not None and cur_len + n <= max_chars:
            cur, cur_len = (cur[0], b), cur_len + n
        else:
            if cur is not None:
                pieces.append(cur)
            cur, cur_len = (a, b), n
    if cur is not None:
        pieces.append(cur)
    return pieces


def chunk_document(doc: Document, max_chars: int = 400) -> list[Chunk]:
    """Chunks of a document's body and table lines, with section and subtitle from the headings above."""
    chunks: list[Chunk] = []
    section = subtitle = ""
    seen: dict[str, int] = {}
    for line in doc.lines:
        if line.kind == "heading":
            section = clean_display(line.text).rstrip(":：").strip()
            subtitle = ""
            continue
        if line.kind == "subtitle":
            subtitle = clean_display(line.text)
            continue
        if line.kind not in ("body", "table"):  # a table row ('指标｜数值') is content of its own
            continue
        lead = len(line.text) - len(line.text.lstrip())
        body = line.text.strip()
        for a, b in split_long(body, max_chars):
            piece = body[a:b]
            stripped = piece.strip()
            a += piece.index(stripped[0]) if stripped else 0
            piece = stripped
            if not piece:
                continue
            occurrence = seen.get(piece, 0)
            seen[piece] = occurrence + 1
            start = line.start + lead + a
            chunks.append(Chunk(
                chunk_id=chunk_id_for(doc.doc_id, piece, occurrence),
                doc_id=doc.doc_id,
                ordinal=len(chunks),
                title=doc.title,
                section=section,
                subtitle=subtitle,
                text=piece,
                norm=normalize(piece).text,
                start=start,
                end=start + len(piece),
                mojibake=bool(find_mojibake(piece)),
            ))
    return chunks
