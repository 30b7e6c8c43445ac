"""The figures table: every sentence that states a figure gives a Fact."""

from __future__ import annotations

import hashlib
import re

from retrieval.text.figures import CN_DIGITS, find_dates, find_figures
from retrieval.text.normalize import norm_text, normalize, split_sentences
from retrieval.text.regions import (
    COUNTRY,
    DATELINE,
    Place,
    mentions,
    named_places,
    region_level,
    settlement_places,
    settlements,
    subject_region,
)
from retrieval.types import Chunk, Document, Fact

# Recorded with the index's settings: a change to how facts are read rebuilds the index in full
FACTS_VERSION = "facts-general-20"
PERIODS = re.compile(
    r"一季度|二季度|三季度|四季度|第[一二三四]季度|首季|上半年|下半年|全年|年底前|年内|今年|明年|"
    r"前\d+个月|\d{1,2}-\d{1,2}月份?|\d{1,2}月份|\d{4}年(?:底|末)?|每月|每周|每年|每半月|每半个月|年底"
)
QUALIFIERS_BEFORE = (
    "不少于", "不低于", "不超过", "超过", "突破", "达到", "至少", "力争", "确保", "争取", "约", "近", "达",
    "不到", "不足", "逾",
)
QUALIFIERS_AFTER = ("以上", "以内", "以下", "左右", "多", "余")
# one word per kind of bound: "不到10天" and "10天以下" both bound from above
QUALIFIER_CANON = {"不到": "以下", "不足": "以下", "突破": "超过", "逾": "超过", "至少": "不少于"}
CLAUSE_BREAK = re.compile(r"[,，;；:：、“”\"()（）\s]")
SUBJECT_TRIM_HEAD = re.compile(
    r"^(?:力争|确保|争取|要|将|实现|完成|推动|全年|一季度|首季|今年|同比|累计|去年|当年|上年|目前|现已|已经|已|"
    r"共有|现有|共|其中|全部|总共|" + PERIODS.pattern + r")+"
)
# a qualifying phrase before 的 that holds a number ("53万人口的象山县国内生产总值"): not the subject
OF_NUMBER = re.compile(r"^[^的]*\d[^的]*的")
SUBJECT_TRIM_TAIL = re.compile(
    r"(?:达到|达|实现|增长|增加|提高|提升|下降|减少|超过|突破|不少于|不低于|至少|约|为|是|以上|压缩至|控制在|在|"
    r"不到|不足|近|逾|仅为|仅|高达|多达|共计|总计|合计|累计|共有|共|有|计|已达|已|"
    # the base of a comparison ("旅游收入比上年增长12%"): what changed is the subject, not its base
    r"(?:比|较)(?:上年同期|上年|去年同期|去年|前一年|\d{4}年)|同比)+$"
)
# a clause that is all verb ("处", "并处", "投资", "期限为"): what the figure is about follows it
# words before a figure that say nothing of what it is ("处警告或者500元以下罚款": the fine follows)
DANGLING = re.compile(r"(?:或者|或|和|及|并处|处以?|可以|价值)$")  # "把价值千余元的药品": the thing after
VERB_ONLY = re.compile(r"^(?:处以?|并处|罚|罚款|可以|应当|责令|给予|对|其中|分别|各|每)?$")
# the world as a whole ("为全世界6000万上网用户"): no place's figure
WORLD = re.compile(r"全世界|全球(?!化|金融|经济|性)|世界各国|世界各地")
# "全国各地客商到钦州": from everywhere; "全国最大的船队", "全国百强县": a rank in the country; neither is national
NATIONAL = re.compile(r"全国(?!各地|最|第[一二三四五六七八九十\d]+(?:名|位|大|家|个)|前列|领先|首位|首家|一流|百强|"
                      r"十强|之最)|我国")
# the paragraph's own whole ("全省", "本市"): not the place a sentence before named
OWN_SCOPE = re.compile(r"(?:全|我|本)(?:省|市|县|区|州|盟|旗)")


def _table_clause(row: str, pos: int) -> str:
    """A table row's clause for the figure at pos: its own cell's words, else the cell before.

    Rows are cells joined with '｜' (NFKC '|'): "规上工业增加值增速|9.5%" is about the first cell.
    """
    cells = row[:pos].split("|")
    if cells[-1].strip() or len(cells) == 1:
        return cells[-1]
    return cells[-2]


def _qualifier(clause: str, after: str) -> str:
    q = [w for w in QUALIFIERS_BEFORE if w in clause]
    # keep the most specific ("达到" over "达")
    q = [w for w in q if not any(w != o and w in o for o in q)]
    q += [w for w in QUALIFIERS_AFTER if after.startswith(w)]
    return "、".join(dict.fromkeys(QUALIFIER_CANON.get(w, w) for w in q))


def _period(sentence: str, start: int, end: int) -> str:
    """The time phrase nearest before the figure; else one after it in the same clause."""
    before = [m for m in PERIODS.finditer(sentence) if m.end() <= start]
    if before:
        return before[-1].group(0)
    clause_end = next((m.start() for m in CLAUSE_BREAK.finditer(sentence, end) if sentence[m.start()] != " "), None)
    after = PERIODS.search(sentence, end, clause_end if clause_end is not None else len(sentence))
    return after.group(0) if after else ""


def _without_places(clause: str) -> str:
    """A clause less the places it opens with ("江苏、浙江单位GDP能耗" -> "单位GDP能耗"; "全省" too)."""
    s = clause
    while True:
        s = re.sub(r"^[、和及与,，\s]+", "", s)
        lead = re.match(r"全(?:国|省|市|县|区|州|盟)", s)
        if lead:
            s = s[lead.end():]
            continue
        places = [p for p in mentions(s) if p.start == 0]
        if not places:
            return s
        s = s[places[0].end :]
        s = re.sub(r"^(?:省|市|县|区|自治区|地区)", "", s)


def subject_of(clause: str) -> str:
    """The phrase a figure is about: its clause without places, time words, verbs and qualifiers."""
    s = OF_NUMBER.sub("", clause.strip())
    for _ in range(2):  # "去年全县水产品产量": a time word, a place, then the subject
        s = SUBJECT_TRIM_HEAD.sub("", _without_places(s))
    s = re.sub(r"(?:分别|各)$", "", SUBJECT_TRIM_TAIL.sub("", s))
    s = SUBJECT_TRIM_TAIL.sub("", s)
    return s.strip()


COUNT_UNITS = frozenset("家 个 户 项 条 场 台 套 名 人 册 所 座 辆 件 次".split())
NOUN_AFTER = re.compile(r"^(?:以上|以下|以内|左右|多|余)?的?([^,，;；。、:：“”()（）\s]{2,16})")


def counted_noun(text: str, fig, any_unit: bool = False) -> str:
    """What a count is of: "36家10亿元以上重点工业企业" -> the noun after the figure (with ``any_unit``,
    for any figure: "处二万元以上二十万元以下的罚款" -> 罚款)."""
    if fig.unit not in COUNT_UNITS and not any_unit:
        return ""
    m = NOUN_AFTER.match(text[fig.end :])
    if not m:
        return ""
    noun = m.group(1)
    if noun in ("以上", "左右", "以内", "以下") or re.search(r"\d", noun):
        return ""  # "1200家以上。", "36家10亿元以上…": fall back to the words before the figure
    return noun


def _phrase(clause: str, figure: str) -> str:
    """Subject, verb and figure: '规上工业增加值增速达9.5%' from '力争一季度实现规上工业增加值增速达'."""
    return SUBJECT_TRIM_HEAD.sub("", clause.strip()) + figure


ENUMERATION = re.compile(r"^[、和及与,，\s]*$")


def enumerated(places: list[Place], norm: str) -> list[Place]:
    """Places listed together ("廊坊、沧州、张家口"): adjacent, separated only by 、/和."""
    best: list[Place] = []
    run: list[Place] = []
    for p in places:
        if run and ENUMERATION.match(norm[run[-1].end : p.start]):
            run.append(p)
        else:
            run = [p]
        if len(run) > len(best):
            best = list(run)
    return best if len(best) >= 2 else []


def _places(text: str, villages: frozenset[str] = frozenset()) -> list[Place]:
    """The places a sentence names (its document's villages too), less a news dateline's
    ("本报北京1月5日讯": where it was filed)."""
    dateline = DATELINE.match(text)
    found = list(named_places(text, organisations=False))
    if villages:
        found = sorted(found + [v for v in settlement_places(text, villages)
                                if not any(p.start < v.end and v.start < p.end for p in found)],
                       key=lambda p: p.start)
    return [p for p in found if dateline is None or p.start >= dateline.end()]


def sentence_places(text: str, before: int, chunk_level: int,
                    villages: frozenset[str] = frozenset()) -> list[Place]:
    """The places a sentence states a figure for: a list of places, the sentence's subject, or a
    place in the figure's own clause more specific than the paragraph's; [] leaves it to the paragraph."""
    named = [p for p in _places(text, villages) if p.end <= before]
    listed = enumerated(named, text)
    if listed:
        return listed
    subject = subject_region(text)
    if subject is not None and subject.end <= before:
        return [subject]
    clause_start = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, before)), default=0)
    local = [p for p in named if p.start >= clause_start]
    return [local[-1]] if local and _beyond(local[-1], chunk_level) else []


PLACE_COUNT = re.compile(r"(?:省|自治区|直辖市|省区市|省市|城市|地市|县市|县|市|部门)")
# a count of provinces ("28个省、自治区、直辖市", "20个省份"): how many did it is the country's figure
PROVINCE_COUNT = re.compile(r"省(?![级内委直属会长])|自治区|直辖市")


def _beyond(p: Place, chunk_level: int) -> bool:
    """Does a place in a figure's clause say more than the paragraph's region: more specific, or a
    foreign country (never within a Chinese paragraph's place)?"""
    return p.foreign or p.level > chunk_level


def figure_places(text: str, figs: list, chunk_level: int,
                  villages: frozenset[str] = frozenset()) -> list[list[Place]]:
    """The places each figure of a sentence is stated for.

    A figure takes the places named between the figure before it and itself (a list, or one
    more specific than the paragraph's); with none there it keeps the places of the figure
    before it ("江苏、浙江增长3%，利润增长5%"); the first figure falls back on the sentence's
    rules (``sentence_places``). "A、B分别增长8%和7%" pairs places and figures in order.
    """
    named = _places(text, villages)
    out: list[list[Place]] = []
    prev_end, prev_places = 0, None
    i = 0
    while i < len(figs):
        fig = figs[i]
        if fig.unit == "日期" or (fig.unit in ("个", "") and PLACE_COUNT.match(text, fig.end)):
            out.append([])  # a date; or a count of places ("黑龙江、辽宁等25个省"): the whole's, not theirs
            i += 1
            continue
        seg = [p for p in named if prev_end <= p.start and p.end <= fig.start]
        listed = enumerated(seg, text)
        if listed and "分别" in text[listed[-1].end : fig.start]:
            run = [fig]
            while (i + len(run) < len(figs) and len(run) < len(listed)
                   and re.fullmatch(r"[、和及与,，\s]*", text[run[-1].end : figs[i + len(run)].start])):
                run.append(figs[i + len(run)])
            if len(run) == len(listed):
                out += [[p] for p in listed]
                prev_end, prev_places = run[-1].end, listed
                i += len(run)
                continue
        if (listed and fig.value == len(listed) and fig.unit in COUNT_UNITS and fig.high is None
                and not re.search(r"各|均|都|分别", text[listed[-1].end : fig.start])):
            places = []  # "在北京、天津创办了两家": one count of the places listed, not each place's
        elif listed:
            places = listed
        else:
            clause_start = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, fig.start)), default=0)
            local = [p for p in seg if p.start >= clause_start or prev_places is None]
            if local and (_beyond(local[-1], chunk_level) or prev_places is not None):
                places = [local[-1]]
            elif prev_places is not None:
                places = prev_places
            else:
                places = sentence_places(text, fig.start, chunk_level, villages)
        out.append(places)
        prev_end, prev_places = fig.end, places or prev_places
        i += 1
    return out


LISTED_THEN_RESPECTIVELY = re.compile(
    r"(?P<items>(?:[^\s\d,，;；。:：、和及与]{1,8}[、和及与]){1,9}[^\s\d,，;；。:：、和及与]{1,8})"
    r"[,，]?(?P<head>[^\s\d,，;；。:：、和及与]{0,8}?)分别$")
FIGURE_GAP = re.compile(r"[、和及与,，\s]*")


# what is measured of a thing; a sentence names the thing once ("水果种植面积188万亩，总产60万吨")
MEASURES = ("种植面积", "总产量", "总产值", "增加值", "销售收入", "销售额", "总收入", "面积", "产量", "总产",
            "产值", "收入", "利润", "利税")


# a share of a whole or a change against a base: what is measured is the subject before it
BASE_OR_SHARE = re.compile(r"^(?:占[^,，;；]{0,10}的|比(?!重|例|率|赛|较|如|方)|较(?!大|小|好|快|多|少|高|低))")


def _with_topic(subject: str, before: str) -> str:
    """A bare measure takes the thing the sentence's figure before measured: "总产" after
    "水果种植面积" is "水果总产"."""
    if subject not in MEASURES or not before:
        return subject
    head = next((m for m in MEASURES if before.endswith(m) and len(before) > len(m)), None)
    return before[: -len(head)] + subject if head else subject


def respective_subjects(text: str, figs: list) -> dict[int, str | int]:
    """Figure index -> its subject where a list takes a list of figures in order ("分别"): a list
    of things names them ("香蕉、荔枝、龙眼，面积分别达8.1万亩、30万亩和15万亩" gives 香蕉面积, 荔枝面积,
    龙眼面积); with no list, the figures before take them in order ("投资160亿元，竣工面积2322万平方米，
    比上年分别增长2.72%和3.98%": an int, the index of the figure whose subject it takes). A list of
    places is paired by ``figure_places`` instead."""
    out: dict[int, str | int] = {}
    for k in (m.start() for m in re.finditer("分别", text)):
        first = next((i for i, f in enumerate(figs) if f.start > k and f.unit != "日期"), None)
        if first is None:
            continue
        run = [first]
        while run[-1] + 1 < len(figs) and FIGURE_GAP.fullmatch(text[figs[run[-1]].end : figs[run[-1] + 1].start]):
            run.append(run[-1] + 1)
        if len(run) < 2:
            continue
        m = LISTED_THEN_RESPECTIVELY.search(text, 0, k + 2)
        items = re.split("[、和及与]", m.group("items")) if m else []
        if len(items) == len(run):
            width = max(len(x) for x in items[1:])
            items[0] = items[0][-width:]  # "重点抓香蕉": the first item without the verb before it
            if any(mentions(x) for x in items):
                continue
            head = SUBJECT_TRIM_HEAD.sub("", m.group("head")).strip()
            out.update({i: item + head for i, item in zip(run, items, strict=True)})
            continue
        before = [i for i, f in enumerate(figs) if f.end <= k and f.unit != "日期" and i not in out]
        if len(before) == len(run) and not re.search("[、和及与]", text[figs[before[-1]].end : k]):
            out.update(dict(zip(run, before, strict=True)))
    return out


# "X由(1993年底的)A提高到(1997年底的)B": A and B are both figures of X
CHANGE_FROM = re.compile(r"由(?:[^,，;；。由]{0,12}?的)?$")
CHANGE_TO = re.compile(r"^[^,，;；。]{0,3}?(?:提高|增加|增长|上升|下降|降低|减少|扩大|缩小|提升|上涨|回落|升|降|增|减)"
                       r"(?:到|至)(?:[^,，;；。]{0,12}?的)?$")


def _changed(text: str, clause: str, found: list, n: int, subjects: dict[int, str]) -> str:
    """The subject of a figure that is the start or the end of a change from one figure to another
    (``clause``: the figure's clause up to it)."""
    fig = found[n]
    if fig.unit == "日期":
        return ""
    before = [m for m in range(n) if found[m].unit != "日期"]
    if before:
        a = found[before[-1]]
        if CHANGE_TO.match(text[a.end : fig.start]) and CHANGE_FROM.search(text[: a.start]):
            return subjects.get(before[-1], "")
    m = CHANGE_FROM.search(clause)
    return subject_of(clause[: m.start()]) if m else ""


def _level(chunk: Chunk) -> int:
    """How specific a paragraph's region is (``region_level``); -1 for none or a foreign country:
    any Chinese place a figure names says more."""
    level = region_level(chunk.region, chunk.province, chunk.city, chunk.county)
    return -1 if level is None or level == COUNTRY else level


SET_UNITS = frozenset({"项", "条"})


def set_name(fig, body: str) -> bool:
    """A small count in words that the text keeps repeating ("四项基本原则", "五条") names a set:
    a name, not a figure."""
    return (fig.unit in SET_UNITS and fig.value <= 10 and not re.search(r"\d", fig.raw)
            and len(re.findall(rf"(?<![第{CN_DIGITS}]){re.escape(fig.raw)}", body)) >= 3)


def _chunk_for(chunks: list[Chunk], pos: int) -> Chunk | None:
    for c in chunks:
        if c.start <= pos < c.end:
            return c
    after = [c for c in chunks if c.start >= pos]
    return after[0] if after else (chunks[-1] if chunks else None)


def facts_of_document(doc: Document, chunks: list[Chunk]) -> list[Fact]:
    """Facts of one document's body, subtitle and table lines (a subtitle's facts belong to its section).

    A table row that restates a figure the text states (same quantity, the row's words in the
    text's sentence) is one statement, not two: the sentence, with its context, is kept.
    """
    facts: list[Fact] = []
    table_clauses: dict[int, str] = {}  # index in facts -> the row's words for the figure
    body = norm_text("\n".join(ln.text for ln in doc.lines if ln.kind in ("body", "subtitle")))  # for set_name
    villages = settlements(doc)
    for line in doc.lines:
        if line.kind not in ("body", "subtitle", "table"):
            continue
        carried: list[Place] = []  # the places the sentence before (same paragraph) stated its figures for
        for a, b in split_sentences(line.text):
            raw_sentence = line.text[a:b]
            lead = len(raw_sentence) - len(raw_sentence.lstrip())
            raw_sentence = raw_sentence.strip()
            s_start = line.start + a + lead
            nz = normalize(raw_sentence)
            text = nz.text
            found = [f for f in find_figures(text) if not set_name(f, body)] + find_dates(text)
            if not found:
                if carried and (OWN_SCOPE.search(text) or _places(text, villages)):
                    carried = []  # a sentence about another place, or the paragraph's whole, ends the topic
                continue
            named_here = _places(text, villages)
            chunk = _chunk_for(chunks, s_start)
            if chunk is None:
                continue
            chunk_level = _level(chunk)
            found.sort(key=lambda f: f.start)
            per_figure = (figure_places(text, found, chunk_level, villages) if line.kind != "table"
                          else [[] for _ in found])
            # a sentence that names no place goes on about the place of the one before it
            # ("以济南站为例:过去每天售票1.3万张。如今日均售票1.4万张")
            if carried and not named_here and not NATIONAL.search(text) and not OWN_SCOPE.search(text):
                per_figure = [places or ([] if fig.unit == "日期" else list(carried))
                              for fig, places in zip(found, per_figure, strict=True)]
            # one place is a topic to go on with; a list of places is a comparison, and ends here
            last = next((p for p in reversed(per_figure) if p), carried if not named_here else [])
            carried = last if len(last) == 1 else []
            prev_subject = ""
            respective = respective_subjects(text, found) if "分别" in text else {}
            subjects: dict[int, str] = {}
            for n, (fig, places) in enumerate(zip(found, per_figure, strict=True)):
                if line.kind == "table":
                    clause = _table_clause(text, fig.start)
                else:
                    breaks = [m.end() for m in CLAUSE_BREAK.finditer(text, 0, fig.start)]
                    clause = text[(breaks[-1] if breaks else 0) : fig.start]
                named = respective.get(n)
                subject = (named if isinstance(named, str) else subjects.get(named, "") if named is not None else ""
                           ) or _changed(text, clause, found, n, subjects) or counted_noun(text, fig) \
                    or subject_of(clause)
                if len(subject) < 2 or VERB_ONLY.match(subject) or DANGLING.search(subject):
                    subject = counted_noun(text, fig, any_unit=True) or prev_subject or subject
                subject = _with_topic(subject, prev_subject)
                if prev_subject and BASE_OR_SHARE.match(subject):
                    subject = prev_subject  # "257人，占总数的11.71%，比上届增加17名": all of the 257
                prev_subject = subject if fig.unit != "日期" else prev_subject
                subjects[n] = subject
                # the sentence's own places, then the paragraph's (its subject, heading, article);
                # a statement about the whole country is national, whatever the paragraph's place
                national = not places and fig.unit != "日期" and (
                    NATIONAL.search(text[: fig.start]) is not None
                    or (fig.unit in ("个", "") and PROVINCE_COUNT.match(text, fig.end) is not None))
                # the world as a whole ("为全世界6000万上网用户"): no place's figure
                world = not places and not national and WORLD.search(clause) is not None
                o_start, o_end = nz.original_span(fig.start, fig.end)
                if line.kind == "table":
                    table_clauses[len(facts)] = re.sub(r"[\s｜|]+", "", clause)
                targets: list[Place | None] = list(places) or [None]
                for place in targets:
                    key = f"{chunk.chunk_id}:{s_start + o_start}:{fig.raw}" + (f":{place.name}" if place else "")
                    if place is not None:
                        region, province, city, county = place.name, place.province, place.city, place.county
                    elif national:
                        region, province, city, county = "全国", "", "", ""
                    elif world:
                        region, province, city, county = "", "", "", ""
                    else:
                        region, province, city, county = chunk.region, chunk.province, chunk.city, chunk.county
                    facts.append(Fact(
                        fact_id=hashlib.sha1(key.encode()).hexdigest()[:16],
                        doc_id=doc.doc_id,
                        chunk_id=chunk.chunk_id,
                        region=region,
                        province=province,
                        city=city,
                        county=county,
                        subject=subject,
                        phrase=_phrase(clause, text[fig.start : fig.end]),
                        value=fig.value,
                        value_high=fig.high,
                        unit=fig.unit,
                        raw=fig.raw,
                        qualifier=_qualifier(clause, text[fig.end : fig.end + 3]),
                        period=_period(text, fig.start, fig.end),
                        sentence=raw_sentence,
                        start=s_start,
                        end=s_start + len(raw_sentence),
                        value_start=s_start + o_start,
                        value_end=s_start + o_end,
                        direction=fig.direction,
                        approx=fig.approx,
                    ))
    if not table_clauses:
        return facts
    stated = [f for i, f in enumerate(facts) if i not in table_clauses]

    def restated(f: Fact, words: str) -> bool:
        return bool(words) and any(g.value == f.value and g.unit == f.unit and words in normalize(g.sentence).text
                                   for g in stated)

    return [f for i, f in enumerate(facts) if i not in table_clauses or not restated(f, table_clauses[i])]


def fact_year(f: Fact, doc_date: str = "") -> str:
    """The year a fact is about: a year its period names, else its document's (去年: the year before)
    when the period is relative ("今年", "上半年"); "" when neither says."""
    m = re.search(r"((?:19|20)\d{2})", normalize(f.period).text)
    if m:
        return m.group(1)
    year = (doc_date or "")[:4]
    if not year.isdigit() or not f.period:
        return ""
    if f.period.startswith(("去年", "上年")):
        return str(int(year) - 1)
    return year


def extract_facts(docs: list[Document], chunks: list[Chunk]) -> list[Fact]:
    """Facts of every document, in document order."""
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    out: list[Fact] = []
    for d in docs:
        out.extend(facts_of_document(d, by_doc.get(d.doc_id, [])))
    return out
