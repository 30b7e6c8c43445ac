"""The one JSON shape of results: what `--json` prints, the HTTP API returns and the MCP tools carry.

Plain functions from the pipeline's records to dicts of JSON values, so the CLI, the HTTP API
(`retrieval/serve/http.py`, whose pydantic models in `retrieval/serve/models.py` describe these
shapes for OpenAPI) and the MCP server (`retrieval/serve/mcp_server.py`) cannot drift apart.
Every quoted passage is a `Quote` (`retrieval/types.py`): `{doc_id, chunk_id, text, start, end, region}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.store.base import DocInfo
from retrieval.types import Answer, Fact, Hit, Quote

if TYPE_CHECKING:
    from retrieval.build import BuildReport


def hit_payload(hit: Hit) -> dict:
    """One search hit with its quote."""
    return {**hit.to_json(), "quote": Quote.of_hit(hit).to_json()}


def search_payload(query: str, mode: str, hits: list[Hit], took_ms: float) -> dict:
    """`policyqa search --json`: one query's ranked hits."""
    return {"query": query, "mode": mode, "took_ms": round(took_ms, 1), "hits": [hit_payload(h) for h in hits]}


def answer_payload(ans: Answer) -> dict:
    """`policyqa ask --json`: a cited answer, its items (each with its quote) and the evidence hits."""
    return {
        "question": ans.question, "kind": ans.kind, "answer": ans.answer, "supported": ans.supported,
        "items": [{**i.to_json(), "quote": Quote.of_item(i).to_json()} for i in ans.items],
        "evidence": [hit_payload(h) for h in ans.evidence],
    }


def fact_payload(fact: Fact) -> dict:
    """`policyqa facts --json`: one stated figure with its quote."""
    return {**fact.to_json(), "quote": Quote.of_fact(fact).to_json()}


def document_payload(doc: DocInfo) -> dict:
    """A document as listed (no text): id, path, title, date, outlet, format and chunk count."""
    return {"doc_id": doc.doc_id, "path": doc.path, "title": doc.title, "date": doc.date, "outlet": doc.outlet,
            "format": doc.format, "chunks": doc.chunks}


def build_payload(report: BuildReport) -> dict:
    """`policyqa build --json`: what a build did."""
    return {"path": report.path, "files": report.files, "skipped": [s.__dict__ for s in report.skipped],
            "documents": report.documents, "chunks": report.chunks, "facts": report.facts,
            "added": report.added, "changed": report.changed, "removed": report.removed,
            "unchanged": report.unchanged, "embedded": report.embedded, "reused": report.reused,
            "generation": report.generation, "seconds": round(report.seconds, 2)}
