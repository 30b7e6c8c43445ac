"""The small immutable records that flow between pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Line:
    """One line of a source file, classified by the document reader."""

    text: str  # original text, as decoded from the file
    start: int  # character offset of the line in the decoded file
    kind: str  # "title" | "meta" | "chrome" | "heading" | "subtitle" | "body" | "table" | "blank"
    page: int | None = None  # citation locator: the PDF page this line is on (1-based)


@dataclass(frozen=True)
class Document:
    """A corpus file after decoding and reading its fields."""

    doc_id: str
    path: str
    text: str  # the decoded file, the reference for every offset
    encoding: str
    title: str
    date: str | None
    outlet: str | None
    lines: tuple[Line, ...] = ()
    author: str | None = None
    format: str = "txt"  # the reader that made it: txt, md, html, pdf, docx


@dataclass(frozen=True)
class Chunk:
    """One paragraph (or a sentence-aligned piece of a long one)."""

    chunk_id: str
    doc_id: str
    ordinal: int
    title: str
    section: str  # e.g. "廣安區" (original script); "" before the first heading
    subtitle: str  # the line under the heading, original script
    text: str  # original paragraph text
    norm: str  # normalized (pinyin notes stripped, NFKC, Simplified) for matching
    start: int  # offsets into Document.text
    end: int
    mojibake: bool = False
    region: str = ""  # filled by the region stage
    province: str = ""
    city: str = ""
    county: str = ""
    page: int | None = None  # the PDF page the paragraph starts on: the citation locator

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    """One ranked search result; never mutated by fusion."""

    rank: int
    chunk: Chunk
    score: float
    scores: dict[str, float | None] = field(default_factory=dict)
    ranks: dict[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict:
        c = self.chunk
        return {
            "rank": self.rank,
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "section": c.section,
            "region": c.region,
            "text": c.text,
            "score": round(self.score, 6),
            "scores": {k: (None if v is None else round(v, 6)) for k, v in self.scores.items()},
            "ranks": dict(self.ranks),
            "start": c.start,
            "end": c.end,
            "page": c.page,
        }


@dataclass(frozen=True)
class Fact:
    """A figure stated in a sentence, with where it comes from."""

    fact_id: str
    doc_id: str
    chunk_id: str
    region: str
    province: str
    city: str
    county: str
    subject: str  # Simplified, e.g. 规上工业增加值增速
    phrase: str  # Simplified, subject through figure, e.g. 规上工业增加值增速达9.5%
    value: float
    unit: str  # normalized: "%", "个百分点", "亿元", "万元", "家", "个", "天", "工作日", "年", ...
    raw: str  # the figure as written, Simplified (e.g. "9.5%")
    qualifier: str  # 达/以上/不少于/超过/左右/力争/... or ""
    period: str  # 一季度/全年/年底前/2023年/... or ""
    sentence: str  # original text of the sentence
    start: int  # sentence span in Document.text
    end: int
    value_start: int  # figure span in Document.text
    value_end: int
    direction: str = ""  # "up" / "down" / "": the change the figure states ("下降3.2%" is "down")
    approx: bool = False  # "1200余家"
    value_high: float | None = None  # a range's upper bound ("9-10家": value 9.0, value_high 10.0)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AnswerItem:
    """One supported statement of an answer, with its verbatim quote."""

    region: str
    period: str
    value: str
    quote: str
    doc_id: str
    chunk_id: str
    span: tuple[int, int]  # of the quote, in the source document's text
    highlights: tuple[tuple[int, int], ...] = ()  # figure/term spans, same coordinates
    subject: str = ""
    title: str = ""  # whose statement: the source document's title, outlet and date
    outlet: str = ""
    date: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["span"] = list(self.span)
        d["highlights"] = [list(h) for h in self.highlights]
        return d


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: one line, the supporting items and the evidence hits."""

    question: str
    kind: str
    answer: str
    items: tuple[AnswerItem, ...]
    evidence: tuple[Hit, ...]
    supported: bool


@dataclass(frozen=True)
class Quote:
    """A quoted passage and where it is: the one JSON shape `search`, `ask` and `facts` print.

    ``text`` is ``Document.text[start:end]`` of ``doc_id`` (original script); ``chunk_id`` is the
    paragraph it lies in; ``region`` the place it is attributed to ("" when none).
    """

    doc_id: str
    chunk_id: str
    text: str
    start: int
    end: int
    region: str

    @classmethod
    def of_hit(cls, hit: Hit) -> Quote:
        c = hit.chunk
        return cls(c.doc_id, c.chunk_id, c.text, c.start, c.end, c.region)

    @classmethod
    def of_item(cls, item: AnswerItem) -> Quote:
        return cls(item.doc_id, item.chunk_id, item.quote, item.span[0], item.span[1], item.region)

    @classmethod
    def of_fact(cls, fact: Fact) -> Quote:
        return cls(fact.doc_id, fact.chunk_id, fact.sentence, fact.start, fact.end, fact.region)

    def to_json(self) -> dict:
        return asdict(self)
