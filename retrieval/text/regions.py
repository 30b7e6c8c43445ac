"""Which administrative region (or zone) a chunk is about: cpca plus a small alias table."""

from __future__ import annotations

import functools
import logging
import re
import warnings
from dataclasses import dataclass, replace
from importlib import resources

from retrieval.text.normalize import norm_text
from retrieval.types import Chunk, Document

log = logging.getLogger(__name__)

# cpca false positives: (written form) -> ignored. "合作" is 合作市 to cpca, "城区" a district,
# "东方" (东方明珠, 东方不亮) 东方市.
STOP_WRITTEN = frozenset({"东方", "合作", "城区", "郊区", "矿区", "新区", "和平", "新华", "长安", "白云", "普陀",
                          "朝阳", "永安", "东区", "西区", "南区", "北区", "市中", "城关", "开平", "高新"})
STOP_NAMES = frozenset({"城区", "郊区", "矿区", "合作市"})
# A paragraph's own subject: a region named at its start, after an optional time phrase.
# A news dateline ("本报北京1月14日讯", "新华社北京1月23日电") names where a report was filed, not
# what it is about: it is skipped when looking for a paragraph's subject or a document's region.
DATELINE = re.compile(r"^\s*(?:本报|新华社|中新社|人民网|新华网|本刊)(?P<where>[^,，。:：\d\s]{0,10}?)\s*"
                      r"(?:\d{1,2}月\d{1,2}日)?\s*(?:讯|电)\s*(?:[(（][^)）]{0,20}[)）])?")
# a speaker's tag in a transcript or forum ("王茂兴（寿光市副市长）："): who speaks, not the subject
SPEAKER = r"(?P<speaker>[\u4e00-\u9fff·]{2,5}[(（][^)）]{1,20}[)）]\s*[:：]\s*)?"
LEAD = re.compile(DATELINE.pattern[2:].join(("^\\s*" + SPEAKER + "(?:", ")?"))
                  + r"(?:(?:\d{4}年|新的一年|今年|明年|近日|日前|目前|当前|同时|此外|其中|另外)[中里,，、]?\s*)*")
LEAD_WINDOW = 12


@dataclass(frozen=True)
class Place:
    """A region mention: most specific name and its parents, with where it was written."""

    name: str
    province: str
    city: str
    county: str
    start: int
    end: int
    settlement: bool = False  # a village (村, 寨, 屯) below the county, named by the text itself
    foreign: bool = False  # a country other than China ("英国"): no province, city or county

    @property
    def level(self) -> int:
        if self.foreign:
            return COUNTRY
        return 3 if self.settlement else 2 if self.county else 1 if self.city else 0


COUNTRY = -2  # the level of a foreign country: none of China's (0 province, 1 city, 2 county, 3 village)


def region_level(region: str, province: str, city: str, county: str) -> int | None:
    """The level of a record's region: COUNTRY for a foreign country, 3 for a village the text named
    (a name that is none of its parents'), else its parents' (None for none or 全国)."""
    if is_foreign(region):
        return COUNTRY
    if region and region not in (province, city, county, "全国"):
        return 3
    return 2 if county else 1 if city else 0 if province else None


_EXTRA_PLACES: set[tuple[str, str, str, str]] = set()  # a corpus's own (retrieval/text/vocabulary.py)


@functools.lru_cache(maxsize=1)
def _aliases() -> list[tuple[str, str, str, str]]:
    text = (resources.files("retrieval") / "data" / "aliases.tsv").read_text(encoding="utf-8")
    rows = {tuple(ln.split("\t")) for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}
    return sorted(rows | _EXTRA_PLACES, key=lambda r: (-len(r[0]), r))  # type: ignore[misc]


def add_places(rows: list[tuple[str, str, str, str]]) -> None:
    """Places (name, province, city, county-level name) this process finds beside the package's."""
    new = set(rows) - _EXTRA_PLACES
    if new:
        _EXTRA_PLACES.update(new)
        _aliases.cache_clear()
        mentions.cache_clear()


@functools.lru_cache(maxsize=1)
def _cpca():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import cpca
    return cpca


def _clean(v: object) -> str:
    return v if isinstance(v, str) else ""


def _written(text: str, pos: int, name: str) -> str:
    for cand in (name, re.sub(r"(省|市|自治区|特别行政区|自治州|地区|盟)$", "", name)):
        if cand and text.startswith(cand, pos):
            return cand
    return name[:2]


# Babel's Chinese names of territories that are not China or a part of it, nor a grouping
NOT_FOREIGN = frozenset({"CN", "HK", "MO", "TW", "EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AQ"})


@functools.lru_cache(maxsize=1)
def _countries() -> list[str]:
    from babel import Locale

    names = {v for k, v in Locale("zh").territories.items()
             if re.fullmatch("[A-Z]{2}", k) and k not in NOT_FOREIGN and "中国" not in v and len(v) >= 2}
    return sorted(names, key=lambda n: (-len(n), n))


@functools.lru_cache(maxsize=1)
def _country_pattern() -> re.Pattern:
    return re.compile("|".join(map(re.escape, _countries())))  # longest first: 印度尼西亚 before 印度


COUNTRY_CONTEXT = 8  # characters either side of a country's name that jieba reads with it
# what may follow a country's name in one jieba word ("英国政府"); "蒙古族", "印度洋", "苏丹红" are no country
COUNTRY_HEADS = frozenset({"政府", "人", "方", "当局", "境内", "国内", "总统", "首相", "经济", "股市", "市场", "央行",
                           "军", "军队", "队", "人民", "大使馆", "使馆", "公司", "企业", "外长", "总理"})


def _foreign(text: str, taken: set[int]) -> list[Place]:
    """Countries named in text (where no Chinese place is: "黑山县" is no 黑山), where jieba reads
    the name as a word of its own or the head of a word such as "英国政府" ("本法国家" holds no 法国)."""
    hits = [(m.group(0), m.start(), m.end()) for m in _country_pattern().finditer(text)
            if taken.isdisjoint(range(m.start(), m.end()))]
    if not hits:
        return []
    from retrieval.text.tokens import _jieba

    out = []
    for name, a, b in hits:
        lo = max(0, a - COUNTRY_CONTEXT)  # jieba reads the name in its neighbourhood, not the whole text
        words = {lo + s: w for w, s, _ in _jieba().tokenize(text[lo : b + COUNTRY_CONTEXT])}  # start -> word
        bounds = {s + len(w) for s, w in words.items()} | {lo}
        # a word of its own, or the head of one ("英国政府")
        word = words.get(a, "")
        own = word == name or (word.startswith(name) and word[len(name):] in COUNTRY_HEADS) or (
            bool(word) and b in bounds and len(word) <= len(name))
        if own:
            out.append(Place(name, "", "", "", a, b, foreign=True))
    return out


def is_foreign(name: str) -> bool:
    """A country other than China, by its Chinese name."""
    return name in _country_names()


@functools.lru_cache(maxsize=1)
def _country_names() -> frozenset[str]:
    return frozenset(_countries())


@functools.lru_cache(maxsize=4096)
def mentions(text: str) -> tuple[Place, ...]:
    """All regions named in Simplified text, in order of appearance (foreign countries too)."""
    found: list[Place] = []
    taken: set[int] = set()
    for name, prov, city, county in _aliases():
        for m in re.finditer(re.escape(name), text):
            if taken.isdisjoint(range(*m.span())):
                found.append(Place(county, prov, city, county, m.start(), m.end()))
                taken.update(range(*m.span()))
    if re.search(r"[\u4e00-\u9fff]", text):
        # cpca's public transform_text_with_addrs wraps this in a DataFrame and fails on no match
        records = _cpca()._extract_addrs(text, True, {}, truncate_pos=False, new_entry_when_not_belong=True)
        for rec in records:
            if rec.get("adcode") is None:
                continue
            prov, city, county = _clean(rec["省"]), _clean(rec["市"]), _clean(rec["区"])
            level = 2 if county else 1 if city else 0
            name = county or city or prov
            pos = int(rec[("区_pos", "市_pos", "省_pos")[2 - level]])
            if len(name) < 2 or pos < 0 or name in STOP_NAMES:
                continue
            written = _written(text, pos, name)
            if written in STOP_WRITTEN or pos in taken:
                continue
            if city in ("市辖区", "县", "省直辖县级行政区划"):
                city = prov if prov.endswith("市") else ""
            found.append(Place(name, prov, city, county, pos, pos + len(written)))
    found += _foreign(text, taken | {i for p in found for i in range(p.start, p.end)})
    # a name right after a digit is a measure word and what follows ("10户县级企业" is not 户县);
    # a two-character county or city before 级 is a word and a level ("直辖市和县级": and county level)
    found = [p for p in found if not (p.start and text[p.start - 1].isdigit())
             and not (p.end - p.start == 2 and text[p.end - 1] in "县市" and text[p.end : p.end + 1] == "级")]
    return tuple(sorted(found, key=lambda p: p.start))


# A place written as part of a name is not what a text is about: inside a title (《…》, 『…』),
# the start of an organisation's name ("邯郸钢铁公司", "天津大学"), a meeting's venue ("在京举行").
TITLES = re.compile(r"《[^《》]{0,60}》|『[^『』]{0,60}』")
ORGANISATION = re.compile(r"[^\s\d,，。;；、:：“”\"()（）《》]{0,8}?"
                          r"(?:公司|集团|工厂|厂|银行|大学|学院|医院|研究院|研究所|中学|小学|商场|报社|交易所)")
VENUE_BEFORE = re.compile(r"在$")
VENUE_AFTER = re.compile(r"^(?:市|省)?(?:召开|举行|举办|开幕|闭幕)")
# places someone went to on an errand ("到广东揭阳、普宁和海南调查"): where they looked, not what
# the sentence's figures are about; a place gone to with no errand named ("赶赴天津,…") is where
# what follows happened. A report's region keeps them (a visit is often what a report is about).
ERRAND = re.compile(r"(?:(?<![达受得看收感遇做提截直])到|赴|前往|赶赴|奔赴|来到)"
                    r"(?P<where>[^,，。;；:：!！?？\d]{1,14}?)(?:调查|考察|视察|访问|参观|慰问|调研|检查|采访|取经|办案|出差|学习)")


def named_places(text: str, organisations: bool = True, destinations: bool = False) -> tuple[Place, ...]:
    """The regions a Simplified text speaks of: ``mentions`` less the places that are part of a
    title, a meeting's venue or (unless ``destinations``) an errand's destination, and (``organisations``) of an
    organisation's name: a document that names a firm in passing is not about the firm's city,
    but a sentence's figure for a firm ("郑州市管城中医院…诊治患者10万人次") is the firm's place's."""
    titles = [m.span() for m in TITLES.finditer(text)]
    titles += [] if destinations else [m.span("where") for m in ERRAND.finditer(text)]

    def as_name(p: Place) -> bool:
        if any(a <= p.start < b for a, b in titles):
            return True
        if organisations and ORGANISATION.match(text, p.end):
            return True
        return bool(VENUE_BEFORE.search(text[max(0, p.start - 1) : p.start]) and VENUE_AFTER.match(text[p.end :]))

    return tuple(p for p in mentions(text) if not as_name(p))


LISTED_NEXT = re.compile(r"(?:省|市|县|区)?[、和及与]")


def subject_region(text: str) -> Place | None:
    """The region a paragraph opens with ("广安区将…", "2023年,岳池县将…", "山东省寿光市实施…"), if any."""
    lead = LEAD.match(text)
    offset = lead.end() if lead else 0
    for p in named_places(text[: offset + LEAD_WINDOW], organisations=False):
        before = text[offset : p.start] if p.start >= offset else None
        if before is not None and len(_without_parents(before, p)) <= 2:
            # a list of places ("黑龙江、辽宁、吉林等25个省") is the paragraph's many subjects, not its first
            return None if LISTED_NEXT.match(text, p.end) else p
    if lead and lead.group("speaker"):  # "孟某（北京市副市长）：…全市": the speaker's office is the scope
        found = named_places(lead.group("speaker"), organisations=False)
        return found[0] if found else None
    return None


def _without_parents(text: str, p: Place) -> str:
    """``text`` less the names of the place's province and city written before it ("山东省", "山东")."""
    for parent in (p.province, p.city):
        for form in sorted({parent, re.sub(r"(省|市|自治区|特别行政区|地区|盟)$", "", parent)}, key=len, reverse=True):
            if form and text.startswith(form):
                text = text[len(form) :]
                break
    return text


def _first(texts: list[str]) -> Place | None:
    """The first Chinese place of the first text that names one (a document's region is Chinese:
    its foreign countries are the places of their own sentences and paragraphs)."""
    for t in texts:
        found = [p for p in mentions(norm_text(t)) if not p.foreign] if t else []
        if found:
            return found[0]
    return None


def document_region(doc: Document) -> Place | None:
    """A document's region: from its title, outlet, then its first paragraphs (issuer, 全省/全市).

    A dateline's place counts last, and not at all for a report about the whole country (a
    first paragraph that speaks of 全国/我国 and names no other place). An opening that names no
    place gives way to the place the text names most: at least twice, and more often than all
    others together (a report that names 北京 twice among 深圳, 上海 and 天津 is about none of them).
    A headline that opens with a village the text names ("栾老寨的奇迹") is about the village.
    """
    place = _document_region(doc)
    village = settlement_places(norm_text(doc.title or ""), settlements(doc), place)
    return village[0] if village and village[0].start == 0 else place


def _document_region(doc: Document) -> Place | None:
    body = [norm_text(ln.text) for ln in doc.lines if ln.kind == "body"][:3]
    datelines = [DATELINE.match(t) for t in body]
    rest = [t[m.end():] if m else t for t, m in zip(body, datelines, strict=True)]
    title = norm_text(doc.title or "")
    dateline = DATELINE.match(title)
    if dateline:  # a report with no headline: its first paragraph stands in, and is read as one
        datelines.insert(0, dateline)
        rest.insert(0, title[dateline.end():])
        found = _first([doc.outlet or ""])
    else:
        found = _first([title]) or _first([doc.outlet or ""])
    if found is not None:
        return found
    for t in rest:  # the first paragraph that names a place, or speaks of 全国/我国 and names none
        # a place someone went to look at (费孝通来到泽州县调查) is often what the report is about
        places = [p for p in named_places(t, destinations=True) if not p.foreign]
        if len({p.province for p in places}) >= 3:
            return None  # places of three provinces or more: a report about the country
        if places:
            return _named_far_more(doc, places[0]) or places[0]
        if re.search(r"全国|我国", t):
            return None
    # an opening that names no place (a scene, a quote): the place the whole text names most,
    # when it names it more than once
    counts: dict[str, list[Place]] = {}
    for ln in doc.lines:
        if ln.kind == "body":
            for p in named_places(norm_text(ln.text), destinations=True):
                if not p.foreign:
                    counts.setdefault(p.name, []).append(p)
    if counts:
        seen = max(counts.values(), key=len)
        if len(seen) >= 2 and 2 * len(seen) > sum(map(len, counts.values())):
            return seen[0]
    return _first([m.group("where") for m in datelines if m and m.group("where")])


# Villages: no gazetteer lists them, so a text's own are read from how it names them. A name
# introduced as one ("一个叫栾老的自然寨"), one that opens the headline ("栾老寨的奇迹"), or two or
# three characters before 村/寨/屯 that the text writes twice ("凤凰岭村"); a kind of village
# ("贫困村", "这个村") is not a name.
CALLED = re.compile(r"(?:叫|名叫|叫做|名为)(?P<stem>[\u4e00-\u9fff]{2,4}?)的(?:自然|行政)?(?P<kind>村|寨|屯)")
VILLAGE = re.compile(r"(?=(?P<stem>[\u4e00-\u9fff]{2,3}?)(?P<kind>村|寨|屯)(?![民委长里庄子落镇办级干部]))")
NOT_A_NAME = re.compile(
    r"[这那该本全各每其此哪个一二两三四五六七八九十几多的在到去从是和与了]|^(?:贫困|示范|专业|文明|先进|行政|自然|中心|"
    r"小康|富裕|重点|试点|特色|民族|移民|城中|空心|明星|典型|落后|后进|新农|小山|边远|偏远|山区|亿元|百强|省级|市级|县级|"
    r"建制|淘宝|电商|扶贫|旅游|生态|美丽|卫生|科技|生态|文化|新型)$"
    r"|[农乡进驻回下包入出]$")  # "大农村": the word 农村; "干部进村": a verb and 村


def _stems(text: str) -> list[tuple[str, int, int]]:
    """(stem + kind, start, end) of each way of reading a 村/寨/屯 name in text, longest stems first."""
    out = []
    for m in VILLAGE.finditer(text):
        for n in (3, 2):
            stem = text[m.start() : m.start() + n]
            if len(stem) == n and text[m.start() + n : m.start() + n + 1] in ("村", "寨", "屯") \
                    and not NOT_A_NAME.search(stem) and not mentions(stem):
                out.append((stem + text[m.start() + n], m.start(), m.start() + n + 1))
    return out


def settlements(doc: Document) -> frozenset[str]:
    """The villages a document names (see CALLED and VILLAGE)."""
    return _settlements(doc.title or "", tuple(ln.text for ln in doc.lines if ln.kind in ("body", "subtitle")))


@functools.lru_cache(maxsize=16)  # a build asks once for a document's region, once for its facts
def _settlements(title: str, lines: tuple[str, ...]) -> frozenset[str]:
    if not re.search("[村寨屯]", title + "".join(lines)):
        return frozenset()
    texts = [norm_text(t) for t in lines]
    names = {m.group("stem") + m.group("kind") for t in texts for m in CALLED.finditer(t)}
    title = norm_text(title)
    names |= {n for n, a, _ in _stems(title) if a == 0}
    seen: dict[str, int] = {}
    for t in texts:
        for n, _, _ in _stems(t):
            seen[n] = seen.get(n, 0) + 1
    twice = {n for n, k in seen.items() if k >= 2}
    # of two readings of one name ("凤凰岭村", "凰岭村") the longer
    names |= {n for n in twice if not any(o != n and o.endswith(n) for o in twice)}
    return frozenset(n for n in names if not NOT_A_NAME.search(n[:-1]))


def settlement_places(text: str, names: frozenset[str], parent: Place | None = None) -> list[Place]:
    """The named villages of ``names`` written in text, under the nearest place named before them
    (else ``parent``)."""
    if not names:
        return []
    places = mentions(text)
    out = []
    spans = [(m.group("stem") + m.group("kind"), m.start(), m.end()) for m in CALLED.finditer(text)]
    spans += [(n, m.start(), m.end()) for n in names for m in re.finditer(re.escape(n), text)]
    taken: set[int] = set()
    for name, a, b in sorted(spans, key=lambda x: x[1]):
        if name not in names or a in taken:
            continue
        taken.update(range(a, b))
        up = [p for p in places if p.end <= a] or ([parent] if parent else [])
        at = up[-1] if up else None
        out.append(Place(name, at.province if at else "", at.city if at else "", at.county if at else "",
                         a, b, settlement=True))
    return out


def _named_far_more(doc: Document, opening: Place) -> Place | None:
    """A place the text names at least three times and twice as often as any other (its opening's
    place included), firms' names included ("派员到洛阳…" then "玉溪卷烟厂" throughout: the case is the firm's)."""
    counts: dict[str, list[Place]] = {}
    for ln in doc.lines:
        if ln.kind == "body":
            for p in named_places(norm_text(ln.text), organisations=False, destinations=True):
                if not p.foreign:
                    counts.setdefault(p.name, []).append(p)
    if not counts:
        return None
    most = max(counts.values(), key=len)
    top = most[0]

    def related(a: Place, b: Place) -> bool:
        return a.name == b.name or a.name in (b.province, b.city) or b.name in (a.province, a.city)

    others = max((len(v) for v in counts.values() if not related(v[0], top)), default=0)
    if related(top, opening) or len(most) < max(3, 2 * others):
        return None
    return top


def attribute_regions(docs: list[Document], chunks: list[Chunk]) -> list[Chunk]:
    """New chunks with region fields set: own subject, then section heading, then document."""
    doc_place = {d.doc_id: document_region(d) for d in docs}
    out = []
    for c in chunks:
        place = subject_region(c.norm) or _first([c.section]) or doc_place.get(c.doc_id)
        if place is None:
            out.append(c)
            continue
        out.append(replace(c, region=place.name, province=place.province, city=place.city, county=place.county))
    return out
