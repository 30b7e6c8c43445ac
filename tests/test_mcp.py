"""The MCP server (`policyqa mcp`): tools and resources through the SDK's own client.

In memory on an index made with the fake encoder (fast), then as real processes over stdio and
streamable HTTP with the real model (`server`, `model`).
"""

from __future__ import annotations

import json
import subprocess
import tempfile

import anyio
import pytest
from conftest import free_port, policyqa

pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install -e '.[mcp]'")

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from retrieval.serve.mcp_server import URI, create_server
from retrieval.serve.service import Service

TOOLS = {"search", "ask", "facts"}
Q = "哪些地区提出了9.5%的增长目标"


def result_json(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content if result.structured_content is not None else json.loads(result.content[0].text)


async def exercise(client: Client, generation: int | None = None) -> None:
    """What an assistant does: list the tools, ask, search, read the cited document."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= TOOLS
    assert "question" in tools["ask"].input_schema["properties"] and tools["ask"].description
    ask = result_json(await client.call_tool("ask", {"question": Q}))
    if generation is not None:
        assert ask["generation"] == generation
    items = ask["results"][0]["items"]
    assert items and all(i["quote"]["text"] and i["title"] for i in items)
    assert {s["doc_id"] for s in ask["sources"]} >= {i["doc_id"] for i in items}
    hits = result_json(await client.call_tool("search", {"query": "规上工业增加值", "k": 3}))["results"][0]["hits"]
    assert len(hits) == 3 and all(h["quote"]["doc_id"] == h["doc_id"] for h in hits)
    facts = result_json(await client.call_tool("facts", {"unit": "亿元", "limit": 2}))
    assert facts["count"] == 2 and all(f["quote"]["text"] == f["sentence"] for f in facts["facts"])

    listed = {str(r.uri) for r in (await client.list_resources()).resources}
    item = items[0]
    uri = f"{URI}/{item['doc_id']}"
    assert URI in listed and uri in listed
    text = (await client.read_resource(uri)).contents[0].text
    assert text[item["quote"]["start"]:item["quote"]["end"]] == item["quote"]["text"]

    refused = await client.call_tool("ask", {"question": "问" * 5000})
    assert refused.is_error and "characters" in refused.content[0].text and "\n" not in refused.content[0].text


def test_tools_and_resources_in_memory(fake_index):
    server = create_server(Service(fake_index.settings, index=fake_index))

    async def main() -> None:
        async with Client(server) as client:
            await exercise(client, fake_index.info.generation)
            with pytest.raises(Exception, match=r"(?i)unknown resource|not found|invalid"):
                await client.read_resource(f"{URI}/../../etc/passwd")
            bad = await client.call_tool("search", {"query": Q, "k": 0})
            assert bad.is_error and "between 1 and" in bad.content[0].text

    anyio.run(main)


@pytest.mark.server
@pytest.mark.model
def test_mcp_over_stdio(real_index):
    params = StdioServerParameters(command=policyqa(), args=[
        "mcp", "--index", str(real_index.settings.index), "--corpus", str(real_index.settings.corpus)])

    async def main() -> None:
        with tempfile.TemporaryFile("w+") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                await exercise(client)
            errlog.seek(0)
            assert "Traceback" not in errlog.read()

    anyio.run(main)


@pytest.mark.server
@pytest.mark.model
def test_mcp_over_streamable_http(real_index):
    port = free_port()
    proc = subprocess.Popen([policyqa(), "mcp", "--http", "--port", str(port), "--index",
                             str(real_index.settings.index), "--corpus", str(real_index.settings.corpus)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(proc, port)

        async def main() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                await exercise(client)

        anyio.run(main)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err


def wait_listening(proc: subprocess.Popen, port: int) -> None:
    """Until the MCP endpoint answers at all (a bare GET gets a 4xx; there is no /health)."""
    import time

    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mcp server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError("the MCP server did not listen in 120 s")
