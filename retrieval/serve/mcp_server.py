"""The MCP server (`policyqa mcp`): `search`, `ask` and `facts` as tools, the documents as resources.

Built on the official SDK's `MCPServer`; over stdio by default (what a desktop assistant
launches) or streamable HTTP at ``/mcp`` (`--http`, 127.0.0.1 unless `--host` says otherwise).
Tool results are the same payloads as the HTTP API and `--json`: every hit, answer item and
fact carries its quote (``{doc_id, chunk_id, text, start, end, region}``) and ``sources`` lists
each cited document's title, outlet and date. A document is the resource
``policyqa://documents/{doc_id}`` (its text; quotes' ``start``/``end`` index into it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import Resource as MCPResource

from retrieval.errors import user_message
from retrieval.serve.service import ApiError, Service

log = logging.getLogger(__name__)

URI = "policyqa://documents"
LISTED = 1000  # documents named in resources/list (all of them stay readable through the template)
INSTRUCTIONS = (
    "Search and cited answers over Chinese regional industrial-policy news (questions in Chinese, either "
    "script, or English). Use `ask` for a question, `search` for passages, `facts` for stated figures and "
    "targets. Quote the `quote.text` of results verbatim and name the source's title, outlet and date."
)


class _Server(MCPServer):
    """MCPServer whose resource list names the served generation's documents."""

    service: Service

    async def list_resources(self) -> list[MCPResource]:
        import anyio

        listed = await super().list_resources()
        docs = (await anyio.to_thread.run_sync(self.service.documents))["documents"]
        return listed + [MCPResource(uri=f"{URI}/{d['doc_id']}", name=d["doc_id"], title=d["title"],
                                     description=" / ".join(x for x in (d["outlet"], d["date"]) if x) or None,
                                     mime_type="text/plain") for d in docs[:LISTED]]


async def _call(service: Service, fn: Callable[[], dict], error: type[Exception] = ToolError) -> dict:
    """Run a service call through the gate; a refusal or failure becomes a one-line ``error``
    (a tool error for tools, a resource error for resources)."""
    try:
        return await service.gate.run(fn)
    except ApiError as exc:
        raise error(exc.message) from None
    except Exception as exc:
        log.error("MCP call failed: %s", user_message(exc), exc_info=exc)
        raise error(user_message(exc)) from None


def create_server(service: Service) -> MCPServer:
    """The MCP server over one `Service` (tests give one on an index with a fake encoder)."""
    s = service.settings
    mcp = _Server("policyqa", instructions=INSTRUCTIONS, log_level="WARNING")
    mcp.service = service

    @mcp.tool()
    async def search(query: str, k: int = 10, mode: Literal["hybrid", "dense", "bm25"] = "hybrid",
                     region: list[str] | None = None, outlet: list[str] | None = None,
                     since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """Ranked paragraphs of the news corpus for a query, each with its verbatim quote and source.

        Args:
            query: what to look for, in Chinese (either script) or English.
            k: how many paragraphs (1-100).
            mode: hybrid (keywords + meaning, best), bm25 (keywords) or dense (meaning).
            region: only these regions (province, city or county, e.g. 四川省, 广安市).
            outlet: only documents from these outlets (e.g. 福建日报).
            since: only documents dated on or after this day (YYYY-MM-DD).
            until: only documents dated on or before this day (YYYY-MM-DD).
        """
        return await _call(service, lambda: service.search(
            [query], k=k, mode=mode, region=region or [], outlet=outlet or [], since=since, until=until))

    @mcp.tool()
    async def ask(question: str, region: list[str] | None = None, outlet: list[str] | None = None,
                  since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """A cited answer to a question: each item names its region, figure, verbatim quote and the source
        document's title, outlet and date; `supported` is false when the corpus does not say.

        Args:
            question: e.g. 哪些地区提出了9.5%的增长目标 or "Which regions set 9.5% targets?".
            region: only evidence about these regions.
            outlet: only evidence from these outlets.
            since: only documents dated on or after this day (YYYY-MM-DD).
            until: only documents dated on or before this day (YYYY-MM-DD).
        """
        return await _call(service, lambda: service.ask(
            [question], region=region or [], outlet=outlet or [], since=since, until=until))

    @mcp.tool()
    async def facts(region: list[str] | None = None, unit: str | None = None, limit: int = 200,
                    since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """The stated figures and targets (growth rates, investment, counts), each with its sentence as quote.

        Args:
            region: only facts about these regions (any level, e.g. 广安市).
            unit: only facts with this unit (e.g. %, 亿元, 家).
            limit: at most this many rows.
            since: only documents dated on or after this day (YYYY-MM-DD).
            until: only documents dated on or before this day (YYYY-MM-DD).
        """
        return await _call(service, lambda: service.facts(
            unit=unit, limit=min(limit, s.max_facts), region=region or [], since=since, until=until))

    @mcp.resource(URI, name="documents", mime_type="application/json")
    async def documents() -> str:
        """Every document of the index: id, title, date, outlet, format and chunk count."""
        return json.dumps(await _call(service, service.documents, ResourceError), ensure_ascii=False)

    @mcp.resource(URI + "/{+doc_id}", name="document", mime_type="text/plain")
    async def document(doc_id: str) -> str:
        """A document's text; a quote's start/end index into it."""
        return (await _call(service, lambda: service.document(doc_id), ResourceError))["text"]

    return mcp


def run(settings, http: bool = False, host: str | None = None, port: int | None = None) -> None:
    """`policyqa mcp`: open the index (loading the model once), then serve MCP over stdio or HTTP."""
    service = Service(settings)
    server = create_server(service)
    if http:
        host = host or settings.serve_host
        port = port or settings.mcp_port
        log.warning("policyqa MCP server on http://%s:%d/mcp (generation %d of %s)", host, port,
                    service.generation, service.location)
        server.run("streamable-http", host=host, port=port)
    else:
        server.run()
