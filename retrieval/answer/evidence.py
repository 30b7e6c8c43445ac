"""What counts as support: the question's content in a sentence, in Chinese or through the glossary.

A Chinese question's content is its own words. An English question's content words are each
looked up in the CC-CEDICT glossary of ``expand_english`` (names by the pinyin of the evidence's
own words), keeping the Chinese terms that occur in the retrieved evidence; a word none of whose
terms occur there is content the evidence does not support.

Words are not equal: a sentence that shares "发展" and "经济" with "绵阳市如何发展低空经济" shares
two words of three but not the one the question is about. Each word of a Chinese question
therefore also weighs its inverse document frequency in the index (BM25's idf; a word the corpus
never uses weighs most), and a supporting sentence must hold a share of that information too
(``Support.information``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from retrieval.answer.question import Question, asks
from retrieval.search.translate import EN_WORD, EXTRA_STOP, expand_english, variants, vocabulary_pinyin
from retrieval.store.base import Filter
from retrieval.store.bm25 import lucene_idf
from retrieval.text.regions import Place, mentions
from retrieval.text.tokens import STOPWORDS, tokenize_normalized
from retrieval.types import Hit

# English words that name the question, a region level or a policy act, not what is asked about
EN_GENERIC = frozenset(
    """
    which what when where how many much large big region regions province provinces city cities county counties
    district districts area areas place places zone zones set sets target targets aim aims plan plans goal goals
    achieve achieved reach launch launched percent per cent yuan rmb total number value rate year years this each every
    new add added get make take hold held include including did does do is are was were will
    latest newest recent recently most currently
    """.split()
)
# an English place word after a name: the Chinese suffix of its level
EN_LEVEL = {"province": "省", "city": "市", "county": "县", "district": "区"}
# capitalized words that are part of a name but not the name itself ("Guang'an District", "New Area")
NAME_PARTS = frozenset({*EN_LEVEL, "new", "area", "zone", "economic", "development", "high-tech", "park"})


@dataclass(frozen=True)
class Support:
    """The question's content units, and how to find each in a Chinese sentence.

    A Chinese unit is a word of the question. An English unit is a word whose CC-CEDICT
    glosses (``expand_english``) are looked for in the sentence; a run of capitalized words
    is a name, and a sentence that names none of a name's words does not support the answer.
    """

    groups: tuple[tuple[str, ...], ...]  # Chinese: (word,); English: the word's forms
    measure: tuple[tuple[str, ...], ...]  # the units that say what is measured
    names: tuple[tuple[str, ...], ...] = ()  # English: capitalized runs, each word as written
    lang: str = "zh"
    readings: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)
    weights: tuple[float, ...] = ()  # per group: its idf in the index (0 for a question word); () = equal

    def _hits(self, group: tuple[str, ...], text: str) -> list[str]:
        if self.lang == "zh":
            return [t for t in group if t in text]
        found: list[str] = []
        for form in group:
            found.extend(expand_english(form, text.count, self.readings))
        return found

    def found(self, text: str) -> list[tuple[str, ...]]:
        return [g for g in self.groups if self._hits(g, text)]

    def named(self, text: str) -> bool:
        """Every name of the question has a word the text gives (as gloss or by its reading)."""
        return all(any(expand_english(w, text.count, self.readings) or expand_english(w, text.count, None)
                       for w in run) for run in self.names)

    def coverage(self, text: str, context: str = "") -> float:
        """Share of content units found in the text (0 when the question has none or a name is
        missing from the text and its context: paragraph region, section heading, article title)."""
        if not self.groups or not self.named(text + "\n" + context):
            return 0.0
        return len(self.found(text)) / len(self.groups)

    def information(self, text: str) -> float:
        """Share of the question's idf weight that the text holds (1 when no weights are known)."""
        total = sum(self.weights)
        if not self.weights or total <= 0:
            return 1.0
        return sum(w for g, w in zip(self.groups, self.weights, strict=True) if self._hits(g, text)) / total

    def weight(self, text: str) -> float:
        """Characters of question content found in the text (longest match per unit)."""
        return float(sum(max((len(t) for t in self._hits(g, text)), default=0) for g in self.groups))

    def measured(self, text: str) -> float:
        """Share of the measured units found (1 when the question names no measured thing)."""
        if not self.measure:
            return 1.0
        return sum(bool(self._hits(g, text)) for g in self.measure) / len(self.measure)

    def terms(self) -> tuple[str, ...]:
        """Chinese terms to highlight."""
        return tuple(dict.fromkeys(t for g in self.groups for t in g)) if self.lang == "zh" else ()


DocFreq = Callable[[Iterable[str]], dict[str, int]]


def _weights(words: list[str], df: DocFreq, n_docs: int) -> tuple[float, ...]:
    """Each Chinese word's idf in the index (0 for a word that asks, such as 几家 or 时候)."""
    counts = df(words)
    return tuple(0.0 if asks(w) else float(lucene_idf(n_docs, counts.get(w, 0))) for w in words)


def support_for(q: Question, hits: list[Hit], df: DocFreq | None = None, n_docs: int = 0) -> Support:
    """The question's content: its words (Chinese) or English words to find through the glossary.

    With the index's document frequencies (``df``, over ``n_docs`` chunks) each Chinese word is
    weighed by its idf; without them, and for English (whose glosses are found as substrings, while
    the index counts words), every unit counts the same and ``information`` is 1.
    """
    if q.lang == "zh":
        weights = _weights(list(q.terms), df, n_docs) if df is not None and n_docs else ()
        return Support(tuple((t,) for t in q.terms), tuple((t,) for t in q.measure), weights=weights)
    vocab = sorted({t for h in hits for t in tokenize_normalized(h.chunk.norm)})
    readings = vocabulary_pinyin(vocab)
    region = q.region.name if q.region is not None else ""

    def known(form: str) -> bool:
        return bool(expand_english(form, lambda t: 1, readings))

    groups: list[tuple[str, ...]] = []
    measure: list[tuple[str, ...]] = []
    names: list[tuple[str, ...]] = []
    spans = [m.span() for m in EN_WORD.finditer(q.text)]
    raw = [q.text[a:b] for a, b in spans]
    run: list[str] = []
    for i, word in enumerate([*raw, ""]):
        if word[:1].isupper() and i > 0:
            if re.sub(r"['’]s$", "", word.lower()) not in NAME_PARTS:
                run.append(word)
            continue
        if run:  # a name: the question's region is its filter already
            bare = [re.sub(r"['’]s$", "", w) for w in run]
            zh = [t for w in bare for r in (readings, None) for t in expand_english(w, lambda t: 1, r)]
            if not (region and any(t and (t in region or region.startswith(t)) for t in zh)):
                names.append(tuple(run))
            run = []
        low = word.lower()
        if not word or low in STOPWORDS or low in EXTRA_STOP or low in EN_GENERIC:
            continue
        forms = tuple(f for f in variants(word) if known(f))
        if forms:
            groups.append(forms)
            measure.append(forms)
        elif not word[:1].isupper() and not _affix(q.text, *spans[i]):
            # a word the glossary cannot translate ("overcapacity") is content no sentence can be
            # shown to state; a name opening the question ("Chuanyu Gaozhu New Area output?") or a
            # piece of a hyphenated word ("start-ups", "pre-construction") is not
            groups.append((low,))
    return Support(tuple(groups), tuple(measure), tuple(names), "en", readings)


def _affix(text: str, start: int, end: int) -> bool:
    """A short piece of a hyphenated word: "ups" of "start-ups", "pre" of "pre-construction"."""
    return end - start <= 3 and (text[start - 1 : start] == "-" or text[end : end + 1] == "-")


def english_region(q: Question, hits: list[Hit]) -> Place | None:
    """The place an English question is about: a capitalized name followed by its level word or 'in X'."""
    if q.lang != "en":
        return None
    vocab = sorted({t for h in hits for t in tokenize_normalized(h.chunk.norm)})
    readings = vocabulary_pinyin(vocab)
    # "in Hebei", "does Sichuan aim", "was the Chuanyu Gaozhu New Area's": the subject or scope;
    # "for Chongqing's industry", "of the Chongqing metropolitan area" are content, not a filter
    pattern = re.compile(r"\b(?:in|does|did|will|is|was|has|had|do)\s+(?:the\s+)?((?:[A-Z][\w'’-]*\s?)+)")
    for m in pattern.finditer(q.text):
        words = m.group(1).split()
        level = next((EN_LEVEL[w.lower()] for w in words if w.lower() in EN_LEVEL), "")
        name_words = [w for w in words if w.lower() not in EN_LEVEL and w.lower() not in ("new", "area")]
        if not name_words:
            continue
        name = " ".join(re.sub(r"['’]s$", "", w) for w in name_words)
        for zh in [*expand_english(name, lambda t: 1, readings), *expand_english(name, lambda t: 1, None)]:
            found = mentions(zh + level) or mentions(zh)
            if found:
                return found[0]
    return None


def inside(province: str, city: str, county: str, region: str, p: Place) -> bool:
    """A record's region fields fall within place p (any level); a foreign country holds only itself."""
    if p.foreign:
        return region == p.name
    if p.county:
        return p.county in (county, region) or p.county in region.split("、")
    if p.city:
        return city == p.city or region == p.city
    return province == p.province


def where_for(place: Place | None, base: Filter | None = None) -> Filter | None:
    """The search filter of an answer: the analyst's filter (``base``) narrowed to the question's region.

    The question's region matches chunks in it at any level or naming it ("重庆工业" in a 武胜县
    paragraph names 重庆市: the store matches the places each chunk names, extracted at build
    time). Regions the analyst chose win over the one the question names.
    """
    if base is not None and base.is_empty():
        base = None
    if place is None or (base is not None and base.regions):
        return base
    return replace(base or Filter(), regions=(place.name,), region_mentions=True)
