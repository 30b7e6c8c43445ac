"""Pydantic models of the JSON shapes in `retrieval/payload.py`, for the OpenAPI page at `/docs`.

They describe, they do not build: responses are the payload dicts themselves (the same ones
`--json` prints). `extra="forbid"` makes `tests/test_api.py` fail when a payload and its model
drift apart.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Quote(_Strict):
    """A quoted passage: ``text`` is ``documents[doc_id].text[start:end]`` (original script)."""

    doc_id: str
    chunk_id: str
    text: str
    start: int
    end: int
    region: str = Field(description="the place the passage is attributed to ('' when none)")


class Hit(_Strict):
    """One ranked paragraph."""

    rank: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    region: str
    text: str
    score: float
    scores: dict[str, float | None] = Field(description="each leg's raw score (bm25, dense); null: not retrieved")
    ranks: dict[str, int | None]
    start: int
    end: int
    page: int | None = Field(description="PDF page the paragraph starts on")
    quote: Quote


class Source(_Strict):
    """A document as listed: where a quote comes from."""

    doc_id: str
    path: str
    title: str
    date: str | None
    outlet: str | None
    format: str
    chunks: int


class SearchResult(_Strict):
    """One query's hits: a line of `policyqa search --json`."""

    query: str
    mode: str
    took_ms: float
    hits: list[Hit]


class SearchResponse(_Strict):
    generation: int = Field(description="the index build every result came from")
    results: list[SearchResult]
    sources: list[Source] = Field(description="each cited document, in order of first citation")


class AnswerItem(_Strict):
    """One supported statement with its verbatim quote and whose statement it is."""

    region: str
    period: str
    value: str
    quote: Quote
    doc_id: str
    chunk_id: str
    span: list[int]
    highlights: list[list[int]]
    subject: str
    title: str
    outlet: str
    date: str


class AnswerResult(_Strict):
    """A cited answer: a line of `policyqa ask --json`."""

    question: str
    kind: str
    answer: str
    supported: bool = Field(description="false: 'not in the corpus', with the closest passages as evidence")
    items: list[AnswerItem]
    evidence: list[Hit]


class AskResponse(_Strict):
    generation: int
    results: list[AnswerResult]
    sources: list[Source]


class FactRow(_Strict):
    """A stated figure: a line of `policyqa facts --json`."""

    fact_id: str
    doc_id: str
    chunk_id: str
    region: str
    province: str
    city: str
    county: str
    subject: str
    phrase: str
    value: float
    unit: str
    raw: str
    qualifier: str
    period: str
    sentence: str
    start: int
    end: int
    value_start: int
    value_end: int
    direction: str
    approx: bool
    value_high: float | None = Field(None, description="a range's upper bound ('9-10家': value 9, value_high 10)")
    quote: Quote


class FactsResponse(_Strict):
    generation: int
    count: int
    truncated: bool = Field(description="more facts match than `limit`")
    facts: list[FactRow]
    sources: list[Source]


class DocumentsResponse(_Strict):
    generation: int
    documents: list[Source]


class DocumentText(_Strict):
    generation: int
    doc_id: str
    path: str
    title: str
    date: str | None
    outlet: str | None
    format: str
    text: str = Field(description="the decoded file: every quote's start/end index into it")


class Skipped(_Strict):
    path: str
    reason: str


class BuildSummary(_Strict):
    """What the build after a write did: `policyqa build --json`."""

    path: str
    files: int
    skipped: list[Skipped]
    documents: int
    chunks: int
    facts: int
    added: int
    changed: int
    removed: int
    unchanged: int
    embedded: int
    reused: int
    generation: int
    seconds: float


class Saved(_Strict):
    name: str
    path: str


class Refused(_Strict):
    name: str
    reason: str


class UploadResponse(_Strict):
    added: list[Saved]
    refused: list[Refused]
    build: BuildSummary


class RemoveResponse(_Strict):
    removed: str
    build: BuildSummary


class Health(_Strict):
    status: str
    generation: int
    index: str
    in_flight: int = Field(description="index calls admitted now (running or queued)")
    refused: int = Field(description="calls refused with 503 since the start")


class ErrorDetail(_Strict):
    code: str = Field(description="stable: bad_request, too_long, batch_too_large, unauthorized, forbidden, "
                                  "writes_disabled, not_found, too_large, overloaded, build_running, internal, ...")
    message: str = Field(description="one line saying what to do")


class ErrorBody(_Strict):
    error: ErrorDetail


class Questions(_Strict):
    """POST /ask: long questions, or several at once."""

    questions: list[str] = Field(description="at most Settings.max_batch, each at most max_question_chars")
    region: list[str] = []
    doc: list[str] = []
    outlet: list[str] = []
    since: str | None = None
    until: str | None = None


class Queries(_Strict):
    """POST /search: long queries, or several at once."""

    queries: list[str]
    k: int = 10
    mode: str = "hybrid"
    region: list[str] = []
    doc: list[str] = []
    outlet: list[str] = []
    since: str | None = None
    until: str | None = None
