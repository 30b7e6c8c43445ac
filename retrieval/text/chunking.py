"""One chunk per paragraph; headings become the section of the paragraphs below them."""

from __future__ import annotations

import hashlib

from retrieval.reading.plain import clean_display
from retrieval.text.normalize import find_mojibake, norm_text, normalize, split_sentences
from retrieval.types import Chunk, Document


def chunk_id_for(doc_id: str, text: str, occurrence: int) -> str:
    """Stable id: the same text in the same document keeps its id across rebuilds."""
    key = f"{doc_id}\x1f{text}\x1f{occurrence}".encode("utf-8", "surrogatepass")  # any str hashes
    return hashlib.sha1(key).hexdigest()[:16]


def _cut(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut text[a:b] into pieces of at most max_chars normalized characters each.

    Measured on the normalized text, so a character that NFKC expands (``ﷺ`` is 18
    characters) counts as what the model reads. One character longer than the whole budget
    on its own (only when max_chars < 18) becomes a piece by itself.
    """
    pieces: list[tuple[int, int]] = []
    x = a
    while x < b:
        window = 4 * max_chars
        while True:  # normalize a window, not the rest of a 50,000-character line, each time
            end = min(b, x + window)
            nz = normalize(text[x:end])
            if len(nz.text) > max_chars:
                y = x + nz.source[max_chars]
                break
            if end == b:
                y = b
                break
            window *= 2
        while y > x + 1 and len(norm_text(text[x:y])) > max_chars:
            y -= 1  # a pinyin note or mojibake span cut in two normalizes longer: step back
        y = max(y, x + 1)
        pieces.append((x, y))
        x = y
    return pieces


def split_long(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Pack whole sentences into pieces of at most max_chars normalized characters.

    Length is counted on the normalized text (pinyin notes do not reach the model, NFKC
    expansions do). A sentence longer than the budget on its own is cut at the budget.
    The pieces are in order and do not overlap; what lies between them is whitespace.
    """
    if not text:
        return []
    if len(norm_text(text)) <= max_chars:
        return [(0, len(text))]
    pieces: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for a, b in split_sentences(text):
        n = len(norm_text(text[a:b]))
        if n > max_chars:  # one very long sentence: cut it
            if cur is not None:
                pieces.append(cur)
                cur = None
            pieces.extend(_cut(text, a, b, max_chars))
            continue
        if cur is not None and len(norm_text(text[cur[0] : b])) <= max_chars:
            cur = (cur[0], b)
        else:
            if cur is not None:
                pieces.append(cur)
            cur = (a, b)
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
                page=line.page,
            ))
    return chunks
