"""Serving the index to other programs: the HTTP API (`policyqa serve`) and the MCP server (`policyqa mcp`).

`service.py` is what both do, without either framework; `http.py` (FastAPI) and `mcp_server.py`
(the official MCP SDK) only translate requests. They need the `api` and `mcp` extras; nothing
here is imported by the rest of the library.
"""
