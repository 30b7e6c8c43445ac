"""What the HTTP API and the MCP server do, without either framework.

One `Service` per process holds the open index (the model loaded once) and reopens it when a
build elsewhere publishes a new generation; every answer is computed from one handle, so it
comes from one build and says which (``generation``). Inputs are checked against the bounds in
`Settings` here, so both front ends refuse the same things with the same one-line messages.
`Gate` admits at most ``serve_workers`` index calls at once and ``serve_queue`` waiting; beyond
that a call is refused at once (`Overloaded`, 503 + Retry-After over HTTP).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any, TypeVar

from retrieval.errors import UserError
from retrieval.index import MODES, Searcher, build_index, open_index
from retrieval.payload import answer_payload, document_payload, fact_payload, search_payload
from retrieval.settings import Settings
from retrieval.store import Filter, location_name, published_generation
from retrieval.store.base import DocInfo
from retrieval.text.normalize import norm_text

log = logging.getLogger(__name__)
T = TypeVar("T")


class ApiError(Exception):
    """A refusal with its HTTP status, a stable code and a one-line message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class Overloaded(ApiError):
    """More calls than the workers and the queue hold: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(503, "overloaded", f"the server is busy: try again in {retry_after} s",
                         {"Retry-After": str(retry_after)})


class Gate:
    """Admission for index calls: ``workers`` run in threads at once, ``queue`` more wait, the rest are refused.

    Counting happens on the event loop (one thread), so admitting needs no lock; refusing is
    immediate, never a hang.
    """

    def __init__(self, workers: int, queue: int, retry_after: int) -> None:
        import anyio

        self.limit = workers + queue
        self.retry_after = retry_after
        self.in_flight = 0
        self.refused = 0
        self._limiter = anyio.CapacityLimiter(workers)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a worker thread, or raise `Overloaded` at once when full."""
        import anyio

        if self.in_flight >= self.limit:
            self.refused += 1
            raise Overloaded(self.retry_after)
        self.in_flight += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)
        finally:
            self.in_flight -= 1


def _iso_date(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a date as YYYY-MM-DD, not {value[:40]!r}") from None


def check_doc_id(doc_id: str) -> str:
    """A document id as `search` shows it (a relative path under the corpus), or a 400."""
    parts = PurePosixPath(doc_id).parts
    if (not doc_id or len(doc_id) > 1000 or "\\" in doc_id or "\x00" in doc_id or doc_id.startswith("/")
            or any(p in ("..", ".") for p in parts) or any(ord(c) < 32 for c in doc_id)):
        raise ApiError(400, "bad_document_id", "a document id is a relative path under the corpus, "
                                               "without '..', '\\' or control characters")
    return doc_id


class Service:
    """The open index and everything the API offers on it.

    Args:
        settings: limits and locations (``settings.index`` is the index folder or ``milvus://`` address).
        index: an already open index to serve (tests give one made with a fake encoder); None
            to open ``settings.index``, loading the model now.
    """

    def __init__(self, settings: Settings, index: Searcher | None = None) -> None:
        self.settings = settings
        self.location = location_name(settings.index)
        self._lock = threading.Lock()  # one reopen at a time
        self._write = threading.Lock()  # one upload or delete (and its build) at a time in this process
        self._docs: tuple[int, dict[str, DocInfo]] | None = None  # the served generation's documents
        self._docs_lock = threading.Lock()  # not _lock: a reopen (checksums) must not hold up answers
        if index is None:
            from retrieval.serve.batching import QueryBatcher

            index = self._open(None)  # questions on Settings.query_threads torch threads (1), builds on all

            index.encoder = QueryBatcher(index.encoder)  # concurrent requests' queries in one pass
            index.search("预热", k=1)  # load the model now, not on the first question
            index.english_terms("Warm up")  # and the English lexicon
        self._index = index
        self._checked = time.monotonic()
        self.gate = Gate(settings.serve_workers, settings.serve_queue, settings.retry_after_s)

    # -- the index handle
    def _open(self, encoder) -> Searcher:
        return open_index(self.settings.index, self.settings, encoder=encoder)

    @property
    def generation(self) -> int:
        return self._index.info.generation

    def index(self) -> Searcher:
        """The handle to answer one request from: reopened when a newer generation is published.

        Looked up at most every ``serve_reopen_s``; a handle already given out stays valid (a
        generation's rows and files outlive two more builds), so a request never mixes builds.
        A new generation that fails to open is logged and the old one kept.
        """
        now = time.monotonic()
        if now - self._checked < self.settings.serve_reopen_s:
            return self._index
        with self._lock:
            if now - self._checked < self.settings.serve_reopen_s:
                return self._index
            self._checked = now
            try:
                gen = published_generation(self.settings.index)
                if gen is not None and gen != self._index.info.generation:
                    self._index = self._open(self._index.encoder)  # the loaded model serves the new build
                    log.info("serving generation %d of %s", self._index.info.generation, self.location)
            except UserError as exc:
                log.warning("keeping generation %d: %s", self._index.info.generation, exc)
        return self._index

    def refresh(self) -> Searcher:
        """Look for a new generation now (after a write)."""
        self._checked = 0.0
        return self.index()

    def health(self) -> dict:
        """Answers without touching the store: the generation being served and the gate's counters."""
        return {"status": "ok", "generation": self._index.info.generation, "index": self.location,
                "in_flight": self.gate.in_flight, "refused": self.gate.refused}

    # -- checks
    def check_text(self, text: str, what: str = "question") -> str:
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "bad_request", f"the {what} is empty")
        if len(text) > self.settings.max_question_chars:
            raise ApiError(400, "too_long", f"the {what} has {len(text)} characters, at most "
                                            f"{self.settings.max_question_chars} are allowed")
        if "\x00" in text:
            raise ApiError(400, "bad_request", f"the {what} holds a NUL character")
        return text

    def check_batch(self, items: Sequence[str], what: str = "question") -> list[str]:
        if not items:
            raise ApiError(400, "bad_request", f"give at least one {what}")
        if len(items) > self.settings.max_batch:
            raise ApiError(400, "batch_too_large", f"{len(items)} {what}s in one request, at most "
                                                   f"{self.settings.max_batch} are allowed")
        return [self.check_text(q, what) for q in items]

    def check_k(self, k: int) -> int:
        if not 1 <= k <= self.settings.max_k:
            raise ApiError(400, "bad_request", f"k must be between 1 and {self.settings.max_k}, not {k}")
        return k

    def make_filter(self, index: Searcher, region: Sequence[str] = (), doc: Sequence[str] = (),
                    outlet: Sequence[str] = (), since: str | None = None, until: str | None = None) -> Filter | None:
        """The filter `policyqa search --region --doc --outlet --since --until` makes (None when empty).

        An outlet matches the index's outlets in either script ("福建日报" finds "福建日報").
        """
        for name, values in (("region", region), ("doc", doc), ("outlet", outlet)):
            if len(values) > self.settings.max_batch:
                raise ApiError(400, "bad_request", f"at most {self.settings.max_batch} {name} values")
            for v in values:
                self.check_text(v, name)
        outlets = tuple(outlet)
        if outlets:
            wanted = {norm_text(o) for o in outlets}
            outlets = tuple(dict.fromkeys([*outlets, *(o for o in index.store.facets().outlets
                                                       if norm_text(o) in wanted)]))
        flt = Filter(regions=tuple(region), doc_ids=tuple(doc), outlets=outlets,
                     date_from=_iso_date(since, "since"), date_to=_iso_date(until, "until"))
        return None if flt.is_empty() else flt

    def _sources(self, index: Searcher, doc_ids: list[str]) -> list[dict]:
        """Title, outlet and date of each cited document, in order of first citation."""
        gen = index.info.generation
        with self._docs_lock:
            cached = self._docs
        if cached is None or cached[0] != gen:
            cached = (gen, {d.doc_id: d for d in index.store.list_documents()})
            with self._docs_lock:
                self._docs = cached
        docs = cached[1]
        return [document_payload(docs[d]) for d in dict.fromkeys(doc_ids) if d in docs]

    # -- reading
    def search(self, queries: Sequence[str], k: int = 10, mode: str = "hybrid", **filters: Any) -> dict:
        """Ranked hits per query, as `policyqa search --json` prints them, from one generation."""
        queries = self.check_batch(queries, "query")
        self.check_k(k)
        if mode not in MODES:
            raise ApiError(400, "bad_request", f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        index = self.index()
        where = self.make_filter(index, **filters)
        results = []
        for q in queries:
            t0 = time.perf_counter()
            hits = index.search(q, k=k, mode=mode, where=where)
            results.append(search_payload(q, mode, hits, (time.perf_counter() - t0) * 1000))
        cited = [h["doc_id"] for r in results for h in r["hits"]]
        return {"generation": index.info.generation, "results": results, "sources": self._sources(index, cited)}

    def ask(self, questions: Sequence[str], **filters: Any) -> dict:
        """A cited answer per question, as `policyqa ask --json` prints them, from one generation."""
        from retrieval.answer.extractive import answer_question

        questions = self.check_batch(questions, "question")
        index = self.index()
        where = self.make_filter(index, **filters)
        results = [answer_payload(answer_question(index, q, where=where)) for q in questions]
        cited = [x["doc_id"] for r in results for x in (*r["items"], *r["evidence"])]
        return {"generation": index.info.generation, "results": results, "sources": self._sources(index, cited)}

    def facts(self, unit: str | None = None, limit: int | None = None, **filters: Any) -> dict:
        """The stated figures the filter selects, as `policyqa facts --json` prints them."""
        from retrieval.answer.extractive import facts_for
        from retrieval.text.regions import mentions

        limit = self.settings.max_facts if limit is None else limit
        if not 1 <= limit <= self.settings.max_facts:
            raise ApiError(400, "bad_request", f"limit must be between 1 and {self.settings.max_facts}, not {limit}")
        index = self.index()
        if unit:
            self.check_text(unit, "unit")
            units = list(index.store.facets().units)
            if norm_text(unit) not in units:
                raise ApiError(400, "unknown_unit", f"unknown unit {unit[:40]!r}: the index has "
                                                    f"{', '.join(units) or 'no facts'}")
        where = self.make_filter(index, **filters)
        facts = facts_for(index, where, unit=unit, limit=limit + 1)
        for region in filters.get("region") or ():
            if not facts and not mentions(norm_text(region)):
                raise ApiError(400, "unknown_region", f"unknown region {region[:40]!r}: name a province, city or "
                                                      "county (e.g. 广安市)")
        shown = facts[:limit]
        return {"generation": index.info.generation, "count": len(shown), "truncated": len(facts) > limit,
                "facts": [fact_payload(f) for f in shown],
                "sources": self._sources(index, [f.doc_id for f in shown])}

    def documents(self) -> dict:
        """Every document of the served generation (no text)."""
        index = self.index()
        return {"generation": index.info.generation,
                "documents": [document_payload(d) for d in index.store.list_documents()]}

    def document(self, doc_id: str) -> dict:
        """One document with its text (quotes' ``start``/``end`` index into it), or a 404."""
        check_doc_id(doc_id)
        index = self.index()
        doc = index.store.documents([doc_id]).get(doc_id)
        if doc is None:
            raise ApiError(404, "not_found", f"no document {doc_id[:200]!r} in the index")
        return {"generation": index.info.generation, "doc_id": doc.doc_id, "path": doc.path, "title": doc.title,
                "date": doc.date, "outlet": doc.outlet, "format": doc.format, "text": doc.text}

    # -- writing (the caller checks the admin token)
    def _build(self) -> dict:
        from retrieval.payload import build_payload

        try:
            report = build_index(self.settings, encoder=self._index.encoder, progress=False)
        except UserError as exc:
            if "another build" in str(exc):  # the store's build lock (local write.lock or Milvus's)
                raise ApiError(409, "build_running", str(exc)) from exc
            raise
        self.refresh()
        return build_payload(report)

    def _writing(self) -> None:
        if not self._write.acquire(blocking=False):
            raise ApiError(409, "build_running", "another upload or delete is being built: try again when it is done")

    def add(self, files: list[tuple[str, bytes]]) -> dict:
        """Check files with the readers (as `policyqa add`), save the readable ones, update the index."""
        from retrieval.ingest import save

        if not files:
            raise ApiError(400, "bad_request", "no file in the upload (send multipart/form-data with 'file' parts)")
        if len(files) > self.settings.max_batch:
            raise ApiError(400, "batch_too_large", f"{len(files)} files, at most {self.settings.max_batch}")
        self._writing()
        try:
            results = save(files, self.settings)
            added = [{"name": r.name, "path": r.path} for r in results if r.ok]
            refused = [{"name": r.name, "reason": r.reason} for r in results if not r.ok]
            if not added:
                raise ApiError(400, "refused", "; ".join(f"{r['name'][:80]!r}: {r['reason']}" for r in refused))
            return {"added": added, "refused": refused, "build": self._build()}
        finally:
            self._write.release()

    def remove(self, doc_id: str) -> dict:
        """Delete a document's file from the corpus (as `policyqa remove`) and update the index."""
        from retrieval.ingest import remove

        check_doc_id(doc_id)
        if doc_id not in {d.doc_id for d in self.index().store.list_documents()}:
            raise ApiError(404, "not_found", f"no document {doc_id[:200]!r} in the index")
        self._writing()
        try:
            try:
                remove([doc_id], self.settings)
            except UserError as exc:  # in the index but its file is gone (or outside the corpus)
                raise ApiError(404, "not_found", str(exc)) from exc
            return {"removed": doc_id, "build": self._build()}
        finally:
            self._write.release()
