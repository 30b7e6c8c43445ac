"""What a question measures, matched by meaning to what facts measure.

A which-regions question ("哪些地区蔬菜种植面积超过50万亩?", "Which regions planted more than
200,000 mu of lychee?") asks about a measured phrase; a fact states a figure of a subject phrase
(蔬菜种植面积). The two are compared with the bundled model's vectors of the short phrases (the
model is multilingual, so an English phrase meets a Chinese subject on the same scale) and, for
Chinese, by the characters they share (a compound and its parts: 种植面积 / 荔枝种植面积). No word
list is involved: the question's scaffolding (which regions, the figure, the comparison) is
removed by the question analysis's own patterns.
"""

from __future__ import annotations

import re

import numpy as np

from retrieval.answer.question import GENERIC, NATION, Question
from retrieval.embedding.encoder import model_revision, subject_key
from retrieval.text.figures import quantity
from retrieval.text.normalize import norm_text

# scaffolding of an English which-regions question: what is left names what is measured
EN_SCAFFOLD = re.compile(
    r"\b(?:which|what|where|regions?|cities|city|counties|county|districts?|provinces?|areas?|places?|zones?|"
    r"countries|country|nations?|"
    r"did|do|does|is|are|was|were|have|has|had|the|a|an|of|their|its|by|in|to|from|for|with|one|how|many|much|"
    r"more|less|than|over|above|below|under|at|least|most|nearly|about|around|exceed\w*|"
    r"million|billion|thousand|hundred|percent|per cent|yuan|rmb|mu|tonnes?|tons?|kilowatts?|kilograms?|kg|"
    r"square|metres?|meters?|kilometres?|kilometers?|km|dollars?|usd|"
    # acts of policy, not what is measured (as question.GENERIC for Chinese)
    r"set|sets|target|targets|goal|goals|aim|aims|plan|plans|planned|propose[sd]?)\b|[\d.,%]+|[?？!]",
    re.IGNORECASE,
)
ZH_SCAFFOLD = re.compile(
    r"哪些|哪个|哪几个|哪|地区|地方|" + NATION + r"|城市|省份|县区|区县|县市|有哪些|是|的|了|吗|呢|[?？!！,，。]|"
    r"超过|高于|多于|大于|突破|不低于|不少于|至少|低于|少于|小于|不超过|不高于|至多|以上|以下|以内|达到|达|"
    r"(?:是|有|共有)?(?:多少|几)(?:个工作日|个|家|项|户|场|条|天|亿元|万元|亿|万|元)?"
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def measured_phrase(q: Question) -> str:
    """The question less its scaffolding: places, figures, comparison, question and policy words
    ("" when nothing else is left: the figure alone is what is asked)."""
    if q.lang == "en":
        # as written: the model reads "GDP" as GDP, "gdp" hardly (cosine to 国内生产总值 0.84 against 0.78)
        return " ".join(EN_SCAFFOLD.sub(" ", q.norm).split())
    text = q.norm
    for f in q.figures:
        text = text.replace(q.norm[f.start : f.end], " ")
    for p in q.places:
        text = text.replace(q.norm[p.start : p.end], " ")
    words = ZH_SCAFFOLD.sub(" ", text).split()
    # the change asked about is the question's direction, not what is measured ("旅游收入增长")
    words = [re.sub(r"(?<=..)(?:增长|增加|提高|提升|上升|下降|减少|降低|回落)$", "", w) for w in words]
    words = [re.sub(r"^[省市县区](?=..)", "", w) for w in words]  # the level asked for ("哪些县…")
    words = [re.sub(r"(?<=..)(?:在|为)$", "", w) for w in words]  # "增长速度在30%以上": a preposition
    words = [w for w in words if w not in GENERIC and not all(c in "".join(GENERIC) for c in w)]
    return " ".join(words)


def char_overlap(phrase: str, subject: str) -> float:
    """Share of the subject's Chinese characters the phrase has (Dice over character sets)."""
    a, b = set(CJK.findall(norm_text(phrase))), set(CJK.findall(norm_text(subject)))
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def within(phrase: str, subject: str, least: int = 3) -> bool:
    """The subject is the Chinese phrase with words put in ("人均收入" in "渔民人均年收入"): each
    word of the phrase in order among the subject's characters, at least ``least`` of them."""
    words = [CJK.findall(norm_text(w)) for w in phrase.split()]
    chars = [c for w in words for c in w]
    if len(chars) < least:
        return False
    it = iter(CJK.findall(norm_text(subject)))
    return all(c in it for c in chars)


def covers(subject: str, phrase: str, least: int, share: float) -> bool:
    """The subject is the phrase with a little left out: within it in order, at least ``least``
    characters and ``share`` of the phrase's."""
    n = len(CJK.findall(norm_text(phrase)))
    return within(subject, phrase, least) and len(CJK.findall(norm_text(subject))) >= share * n


def glossed(phrase: str) -> str:
    """An English phrase's Chinese glosses (CC-CEDICT), for the character overlap; "" for Chinese."""
    if CJK.search(phrase):
        return phrase
    from retrieval.search.translate import expand_english

    return "".join(expand_english(phrase, lambda _: 1, None))


def subject_vectors(index, subjects: list[str]) -> np.ndarray:
    """The subjects' vectors: those the build stored, the rest (an index built before) encoded now."""
    rev = model_revision(index.store.info().model)
    keys = [subject_key(rev, x) for x in subjects]
    stored = index.store.stored_vectors(keys)
    missing = [x for x, k in zip(subjects, keys, strict=True) if k not in stored]
    fresh = dict(zip(missing, index.encoder.encode_queries(missing), strict=True)) if missing else {}
    return np.stack([stored[k] if k in stored else fresh[x] for x, k in zip(subjects, keys, strict=True)])


def subject_scores(index, phrase: str, subjects: list[str]) -> dict[str, tuple[float, float]]:
    """subject -> (cosine of the phrase vectors, character overlap with the phrase or its glosses)."""
    uniq = [s for s in dict.fromkeys(subjects) if s]
    if not phrase or not uniq:
        return {}
    cos = subject_vectors(index, uniq) @ np.asarray(index.encoder.encode_queries([phrase])[0])
    chars = glossed(phrase)
    return {s: (float(c), char_overlap(chars, s)) for s, c in zip(uniq, cos, strict=True)}


def matching(scores: dict[str, tuple[float, float]], floor: float, margin: float, overlap: float,
             gloss_weight: float, need_overlap: float = 0.0) -> dict[str, float]:
    """The subjects that mean what the question measures, with their score.

    A subject's score is its cosine plus ``gloss_weight`` times its character overlap; it matches
    when its cosine is at least ``floor``, its score within ``margin`` of the best subject's and
    its overlap at least ``need_overlap``, or when it shares at least ``overlap`` of its
    characters with the phrase alone.
    """
    if not scores:
        return {}
    score = {s: c + gloss_weight * o for s, (c, o) in scores.items()}
    best = max(score.values())
    return {s: score[s] for s, (c, o) in scores.items()
            if (c >= floor and score[s] >= best - margin and o >= need_overlap) or o >= overlap}


# words for what a unit already says: "批发市场数量…10个以上" counts 批发市场
IMPLIED = {"count": ("数量", "数目", "个数", "总数"), "people": ("人数", "数量"), "area": ("面积",),
           "length": ("长度",)}
AREA_UNITS = frozenset({"亩", "平方米", "平方公里", "公顷"})


def bare_phrase(phrase: str, unit: str) -> str:
    """The phrase less a last word its unit already says ("批发市场数量" in 个 -> "批发市场")."""
    dim = "area" if unit in AREA_UNITS else quantity(1.0, unit)[0]
    for word in IMPLIED.get(dim, ()):
        if phrase.endswith(word) and len(phrase) > len(word):
            return phrase[: -len(word)].strip()
    return phrase


def subject_matches(index, q: Question, subjects: list[str]) -> dict[str, float]:
    """The subjects among these that mean what the question measures (Settings' thresholds, the
    floor and the shared characters asked of a subject by the question's language)."""
    phrase = measured_phrase(q)
    if not phrase:
        return {}
    s = index.settings
    en = q.lang == "en"
    found = matching(subject_scores(index, phrase, subjects), s.subject_min_cosine_en if en else s.subject_min_cosine,
                     s.subject_margin, s.subject_min_overlap, s.subject_gloss_weight,
                     s.subject_need_overlap_en if en else s.subject_need_overlap)
    if not en:  # a more specific subject than the question's phrase ("渔民人均年收入" for "人均收入"), or
        # one that leaves out a little of it ("水果总产" for "水果总产量"); the phrase with or without
        # a word its unit says ("批发市场数量" asked in 个)
        asked = q.comparison[1] if q.comparison is not None else q.figures[0] if q.figures else None
        phrases = dict.fromkeys((phrase, bare_phrase(phrase, asked.unit) if asked is not None else phrase))
        found.update({x: found.get(x, 1.0) for x in subjects if x and any(
            within(p, x, s.subject_within_chars) or covers(x, p, s.subject_within_chars, s.subject_cover)
            for p in phrases)})
    return found
