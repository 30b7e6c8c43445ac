"""HTML for the app: corpus text is data, so everything is escaped before it is marked up."""

from __future__ import annotations

import html
import re

from retrieval.text.normalize import normalize
from retrieval.text.tokens import tokenize


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def highlight(text: str, spans: list[tuple[int, int]], tag: str = "mark") -> str:
    """Escaped text with ``<mark>`` around the given [start, end) spans of ``text``."""
    parts: list[str] = []
    pos = 0
    for a, b in merge_spans([(max(0, a), min(len(text), b)) for a, b in spans]):
        parts.append(html.escape(text[pos:a]))
        parts.append(f"<{tag}>{html.escape(text[a:b])}</{tag}>")
        pos = b
    parts.append(html.escape(text[pos:]))
    return "".join(parts)


def term_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Spans of the query's terms (either script; figures whole) in original ``text``."""
    nz = normalize(text)
    spans = []
    for term in set(tokenize(query)):
        if len(term) < 2 and not term[:1].isdigit():
            continue
        for m in re.finditer(re.escape(term), nz.text):
            spans.append(nz.original_span(*m.span()))
    return spans


def display_text(text: str, simplified: bool) -> tuple[str, callable]:
    """The text to show and a function mapping original spans onto it."""
    if not simplified:
        return text, lambda spans: spans
    nz = normalize(text)
    back: dict[int, list[int]] = {}
    for i, src in enumerate(nz.source):
        back.setdefault(src, []).append(i)

    def remap(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        out = []
        for a, b in spans:
            idx = [i for s in range(a, b) for i in back.get(s, [])]
            if idx:
                out.append((min(idx), max(idx) + 1))
        return out

    return nz.text, remap
