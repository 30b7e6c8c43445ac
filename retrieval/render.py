"""What users see: HTML and Markdown for the app, lines for the terminal.

Corpus text (and a corpus file's *name*) is data, so everything is escaped for the medium it
is shown in: ``highlight`` for HTML, ``md_escape`` for any Streamlit element that renders
Markdown (st.warning/info/error/success/write/markdown/caption), ``terminal_text`` for the CLI.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable

from retrieval.text.normalize import normalize, strip_notes
from retrieval.text.tokens import tokenize

# Every ASCII punctuation character may be backslash-escaped in CommonMark, which makes it
# literal: no image, link, emphasis, HTML, :color[directive] or $math$ can start from data.
_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
# ANSI/VT sequences (CSI ``ESC [ ... m``, OSC ``ESC ] ... BEL``, two-byte ``ESC x``) are removed
# whole; then any other control character (C0 but newline and tab, DEL, C1) and the
# bidirectional overrides that can reorder what a terminal shows.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def md_escape(text: object) -> str:
    """``text`` as literal Markdown: every ASCII punctuation mark backslash-escaped, controls dropped.

    The one helper for showing data (paths, reasons, corpus text, errors) in a Streamlit element
    that renders Markdown. ``![p](https://host/p.png)`` stays text: the browser fetches nothing.
    """
    plain = terminal_text(str(text)).replace("\n", " ").replace("\t", " ")
    return _MD_SPECIAL.sub(r"\\\1", plain)


def terminal_text(text: str) -> str:
    """``text`` safe to print: escape sequences and control characters removed (newline and tab
    kept), lone surrogates replaced by U+FFFD so printing cannot fail."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", _ANSI.sub("", text)))


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


def display_text(text: str, simplified: bool = False, original: bool = False) -> tuple[str, Callable]:
    """The text to show and a function mapping original spans onto it.

    Args:
        text: original corpus text.
        simplified: show it in Simplified script (pinyin notes and mojibake dropped, OpenCC t2s).
        original: show it exactly as the source writes it, pinyin notes included.

    By default the text keeps its own script and loses only its pinyin notes
    (``堅(jiān)持創(chuàng)新`` -> ``堅持創新``); ``simplified`` wins over ``original``.
    """
    if original and not simplified:
        return text, lambda spans: list(spans)
    nz = normalize(text) if simplified else strip_notes(text)
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


def readable(text: str, simplified: bool = False, original: bool = False) -> str:
    """Just the shown string of ``display_text`` (no spans to map)."""
    return display_text(text, simplified, original)[0]
