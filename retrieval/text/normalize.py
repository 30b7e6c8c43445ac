"""Clean text for matching, keeping a map back to the original characters.

Steps: strip pinyin notes (``當(dāng)`` -> ``當``), NFKC, Traditional -> Simplified with
OpenCC. Mojibake spans (``日?qǐng)?bào)``) are detected and kept; they are flagged on the chunk
and left out of the matching text. The original text is never changed: every normalized
character knows the original character it came from, so matches can be highlighted there.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PINYIN_LETTERS = "a-z\u00e0-\u00fc\u0101-\u01dc\u01f9\u0144\u0148\u1e3f"
# A pinyin note: lowercase (tone-marked) latin letters in brackets right after a CJK char or '?'.
PINYIN_NOTE = re.compile(rf"(?<=[{CJK}?？])[(（][{_PINYIN_LETTERS}]{{1,6}}[)）]")
# Mojibake left by a broken re-encoding starts at a '?' glued to latin letters or '!'
# ("日?qǐng)?bào)", "?!霸诠I(yè)"); a real question mark is followed by a quote, a space or CJK.
_MOJIBAKE_START = re.compile(rf"\?(?=[!?{_PINYIN_LETTERS}A-Z])")
_MOJIBAKE_MARK = re.compile(rf"[!?()（）≈|{_PINYIN_LETTERS}A-Z]")
_MOJIBAKE_STOP = set(",，。、“”:：;；\n\t ")
_MOJIBAKE_REACH = 6  # CJK characters a span may bridge between two marks
SENTENCE_END = "。！？；!?;"
# Lone surrogates reach us from the Python API or from undecodable argv bytes (surrogateescape);
# they cannot be encoded, so OpenCC (and any file or terminal) would fail on them.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Normalized:
    """Normalized text plus, for each of its characters, the index of the source character."""

    text: str
    source: tuple[int, ...]  # len(text) entries: index into the original string
    mojibake: tuple[tuple[int, int], ...]  # spans in the original string

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalized text back to the original string."""
        if start >= end or not self.source:
            return (0, 0)
        return self.source[start], self.source[end - 1] + 1


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def replace_surrogates(text: str) -> str:
    """Each lone surrogate replaced by U+FFFD (one for one, so offsets stay valid)."""
    return _SURROGATE.sub("\ufffd", text)


def to_simplified(text: str) -> str:
    """Traditional -> Simplified (OpenCC t2s); Simplified text passes through unchanged."""
    return _t2s().convert(replace_surrogates(text))


def find_mojibake(text: str) -> list[tuple[int, int]]:
    """Spans of likely mojibake in original text (hand-written: no library detects it)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := _MOJIBAKE_START.search(text, pos)) is not None:
        start = last = m.start()
        i = start + 1
        while i < len(text) and i - last <= _MOJIBAKE_REACH and text[i] not in _MOJIBAKE_STOP:
            note = PINYIN_NOTE.match(text, i)
            if note is not None:  # a genuine note after a CJK character: step over it
                i = note.end()
                continue
            if _MOJIBAKE_MARK.match(text, i):
                last = i
            i += 1
        spans.append((start, last + 1))
        pos = last + 1
    return spans


def normalize(text: str) -> Normalized:
    """Normalize one string (a line or a query) with a map back to the original.

    Never raises on a ``str``: lone surrogates become U+FFFD in the normalized text.
    """
    text = replace_surrogates(text)
    drop = [False] * len(text)
    moji = find_mojibake(text)
    for a, b in moji:
        for i in range(a, b):
            drop[i] = True
    for m in PINYIN_NOTE.finditer(text):
        for i in range(*m.span()):
            drop[i] = True
    chars: list[str] = []
    source: list[int] = []
    for i, ch in enumerate(text):
        if drop[i]:
            continue
        out = unicodedata.normalize("NFKC", ch)
        for o in out:
            chars.append(o)
            source.append(i)
    nfkc = "".join(chars)
    simp = to_simplified(nfkc)
    if len(simp) != len(nfkc):  # a phrase rule changed the length: convert char by char
        simp = "".join(to_simplified(c) for c in nfkc)
        if len(simp) != len(nfkc):
            simp = nfkc
    return Normalized(simp, tuple(source), tuple(moji))


def strip_notes(text: str) -> Normalized:
    """``text`` without its pinyin notes (``堅(jiān)持`` -> ``堅持``), script and every other
    character unchanged, with the map back to the original; the readable form of a quote."""
    text = replace_surrogates(text)
    chars: list[str] = []
    source: list[int] = []
    pos = 0
    for m in PINYIN_NOTE.finditer(text):
        chars.append(text[pos : m.start()])
        source.extend(range(pos, m.start()))
        pos = m.end()
    chars.append(text[pos:])
    source.extend(range(pos, len(text)))
    return Normalized("".join(chars), tuple(source), ())


def norm_text(text: str) -> str:
    """Just the normalized string."""
    return normalize(text).text


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a paragraph, cut after 。！？；(and their ASCII forms)."""
    spans = []
    inside = set()
    for a, b in find_mojibake(text):
        inside.update(range(a, b))
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in SENTENCE_END and i not in inside:
            j = i + 1
            while j < n and text[j] in "”’\"'）)":
                j += 1
            spans.append((start, j))
            start = j
            i = j
            continue
        i += 1
    if start < n and text[start:].strip():
        spans.append((start, n))
    return [(a, b) for a, b in spans if text[a:b].strip()]
