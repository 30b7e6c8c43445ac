"""Properties of the text functions on any string (hypothesis), hostile pieces mixed in."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hostile_corpus import PIECES, fuzz_targets
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.render import highlight, md_escape, terminal_text
from retrieval.text.chunking import chunk_document, split_long
from retrieval.text.normalize import norm_text, normalize

ANY_CHAR = st.characters(blacklist_categories=())  # surrogates and controls included
TEXT = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(ANY_CHAR, max_size=4), st.text("工业增长廣安區岳池縣。，！", max_size=8)),
    max_size=25,
).map("".join)
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(TEXT)
def test_normalize_maps_every_character_back_into_the_original(text):
    nz = normalize(text)
    assert len(nz.source) == len(nz.text)
    assert list(nz.source) == sorted(nz.source)
    assert all(0 <= i < len(text) for i in nz.source)
    for a, b in nz.mojibake:
        assert 0 <= a < b <= len(text)
    if nz.text:
        a, b = nz.original_span(0, len(nz.text))
        assert 0 <= a < b <= len(text)


@FAST
@given(st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd")), max_size=30).filter(str.isascii))
def test_ascii_letters_and_digits_map_one_to_one(text):
    nz = normalize(text)
    assert nz.text == text and nz.source == tuple(range(len(text)))


@FAST
@given(TEXT, st.integers(min_value=18, max_value=120))
def test_split_long_covers_the_text_within_budget(text, max_chars):
    pieces = split_long(text, max_chars)
    pos = 0
    for a, b in pieces:
        assert pos <= a < b <= len(text)
        assert not text[pos:a].strip()  # only whitespace between pieces
        pos = b
    assert not text[pos:].strip()
    if len(pieces) > 1 or len(norm_text(text)) > max_chars:
        assert all(len(norm_text(text[a:b])) <= max_chars for a, b in pieces)


@FAST
@given(TEXT)
def test_chunks_are_exact_slices_of_their_document(text):
    from retrieval.reading.plain import read_document

    doc = read_document("d.txt", "d.txt", text, "utf-8")
    for c in chunk_document(doc, 40):
        assert doc.text[c.start : c.end] == c.text and c.text == c.text.strip() and c.text


@FAST
@given(TEXT, st.lists(st.tuples(st.integers(-5, 60), st.integers(-5, 60)), max_size=6))
def test_highlight_round_trips(text, spans):
    out = highlight(text, spans)
    assert html.unescape(re.sub(r"</?mark>", "", out)) == text
    assert "<" not in re.sub(r"</?mark>", "", out)


@FAST
@given(TEXT)
def test_terminal_and_markdown_text_carry_no_controls(text):
    clean = terminal_text(text)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", clean)
    clean.encode("utf-8")
    escaped = md_escape(text)
    assert not re.search(r"(?<!\\)[!\[\]()<>`*_]", escaped)


@pytest.mark.parametrize("name", sorted(fuzz_targets()))
@settings(max_examples=60, deadline=None)
@given(text=TEXT)
def test_no_text_function_raises(name, text):
    fuzz_targets()[name](text)


def test_nfkc_expansion_is_counted():
    assert len(unicodedata.normalize("NFKC", "ﷺ")) == 18
    pieces = split_long("ﷺ" * 50, 40)
    assert [len(norm_text(("ﷺ" * 50)[a:b])) for a, b in pieces] == [36] * 25
