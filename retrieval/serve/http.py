"""The HTTP JSON API (`policyqa serve`): FastAPI over `Service`, its schema at `/docs`.

Reading is open to whoever reaches the port (127.0.0.1 unless `--host` says otherwise); writing
(`POST /documents`, `DELETE /documents/{doc_id}`) needs ``Authorization: Bearer <token>`` with
the admin token (env ``POLICYQA_ADMIN_TOKEN``, compared in constant time, never logged). Every
error is ``{"error": {"code": ..., "message": <one line>}}``; no traceback reaches a client.

(No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations, which
name objects local to `create_app`.)
"""

import logging
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retrieval.access import token_matches
from retrieval.errors import UserError, user_message
from retrieval.serve import models
from retrieval.serve.service import ApiError, Service

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 503: "overloaded"}
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": models.ErrorBody} for s in (400, 422, 503)}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": models.ErrorBody} for s in (400, 401, 403, 404, 409,
                                                                                           413, 503)}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape: ``{"error": {"code", "message"}}``, the message on one line."""
    line = " ".join(str(message).split())[:500]
    return JSONResponse({"error": {"code": code, "message": line}}, status_code=status, headers=headers)


class _Guard:
    """Before any routing: refuse a path or query string that is not UTF-8 once percent-decoded (400),
    and a body over the limit (413: ``max_upload_bytes`` for POST /documents, else ``max_body_bytes``),
    by its Content-Length at once or, without one, as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, body_bytes: int, upload_bytes: int) -> None:
        self.app, self.body_bytes, self.upload_bytes = app, body_bytes, upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            unquote_to_bytes(scope.get("query_string", b"").decode("latin-1")).decode("utf-8")
            unquote_to_bytes(scope.get("raw_path", b"").decode("latin-1")).decode("utf-8")
        except UnicodeDecodeError:
            await error_response(400, "not_utf8", "the path or query string is not UTF-8 text")(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/documents"
        limit = self.upload_bytes if upload else self.body_bytes
        too_large = f"the request body is larger than {limit} bytes"
        length = dict(scope.get("headers", ())).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await error_response(413, "too_large", too_large)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    e = errors[0]
    if e.get("type") == "json_invalid":
        return "the body is not valid JSON"
    where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body", "path", "header"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where or 'request'}: {e.get('msg', 'invalid')}{more}"


DOCS_STATIC = "/docs-static"


def _offline_docs(app: FastAPI) -> None:
    """The OpenAPI page at /docs with Swagger UI's files from the swagger-ui-bundle package.

    FastAPI's own /docs loads them from a CDN: on a machine without internet (or behind a
    strict proxy) the page stays blank, and the analyst's browser would call a foreign host.
    """
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_STATIC, StaticFiles(directory=swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title}: API",
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC}/favicon-32x32.png",
        )


def create_app(service: Service) -> FastAPI:
    """The API over one `Service` (tests give one on an index with a fake encoder)."""
    s = service.settings
    app = FastAPI(
        docs_url=None, redoc_url=None,  # /docs is served below from local files, not a CDN
        title="policyqa", version=_version(),
        description="Semantic search and cited answers over Chinese regional industrial-policy news. "
                    "Every result says the index `generation` it was computed from; every quote is "
                    "`{doc_id, chunk_id, text, start, end, region}` with `text == document.text[start:end]`. "
                    f"Limits: questions {s.max_question_chars} characters, k <= {s.max_k}, "
                    f"{s.max_batch} per batch, uploads {s.max_upload_bytes} bytes; beyond "
                    f"{s.serve_workers} running + {s.serve_queue} queued calls: 503 with Retry-After.",
    )
    app.state.service = service
    _offline_docs(app)
    if s.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(s.cors_origins), allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(_Guard, body_bytes=s.max_body_bytes, upload_bytes=s.max_upload_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        bad_json = any(e.get("type") == "json_invalid" for e in exc.errors())
        return error_response(400 if bad_json else 422, "bad_json" if bad_json else "invalid", _validation_message(exc))

    @app.exception_handler(UserError)
    async def _user_error(_request: Request, exc: UserError) -> JSONResponse:
        return error_response(400, "bad_request", user_message(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed: %s", request.method, request.url.path, user_message(exc), exc_info=exc)
        return error_response(500, "internal", user_message(exc))

    bearer = HTTPBearer(auto_error=False, description="the admin token (env POLICYQA_ADMIN_TOKEN of the server)")

    def admin(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        """Writes need the admin token: 401 without one, 403 with a wrong one or none configured."""
        expected = s.admin_token
        if not expected:
            raise ApiError(403, "writes_disabled", "writes are off: start the server with POLICYQA_ADMIN_TOKEN set")
        if credentials is None or not credentials.credentials:
            raise ApiError(401, "unauthorized", "this needs the admin token: send Authorization: Bearer <token>",
                           {"WWW-Authenticate": "Bearer"})
        if not token_matches(credentials.credentials, expected):
            raise ApiError(403, "forbidden", "wrong admin token")

    q_text = Query(description=f"at most {s.max_question_chars} characters; repeat for several (at most {s.max_batch})")
    k_q = Query(ge=1, le=s.max_k, description=f"hits per query, 1-{s.max_k}")
    filters_doc = "filters as in `policyqa search`: region (any level), doc id, outlet (either script), dates"

    def filters(region: Annotated[list[str], Query(description=filters_doc)] = [],  # noqa: B006
                doc: Annotated[list[str], Query()] = [],  # noqa: B006
                outlet: Annotated[list[str], Query()] = [],  # noqa: B006
                since: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None,
                until: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None) -> dict:
        return {"region": region, "doc": doc, "outlet": outlet, "since": since, "until": until}

    Filters = Annotated[dict, Depends(filters)]

    @app.get("/health", response_model=models.Health, tags=["status"])
    async def health() -> dict:
        """Up, and which generation is served; does not touch the index."""
        return service.health()

    @app.get("/search", response_model=None, responses={200: {"model": models.SearchResponse}, **_ERRORS},
             tags=["read"])
    async def search(q: Annotated[list[str], q_text], f: Filters, k: Annotated[int, k_q] = s.k,
                     mode: Annotated[str, Query(pattern="^(hybrid|dense|bm25)$")] = "hybrid") -> JSONResponse:
        """Ranked paragraphs for each `q`, each with its quote (`policyqa search --json`)."""
        return JSONResponse(await service.gate.run(lambda: service.search(q, k=k, mode=mode, **f)))

    @app.post("/search", response_model=None, responses={200: {"model": models.SearchResponse}, **_ERRORS},
              tags=["read"])
    async def search_many(body: models.Queries) -> JSONResponse:
        """The same for long queries or a batch, as JSON."""
        f = body.model_dump(include={"region", "doc", "outlet", "since", "until"})
        return JSONResponse(await service.gate.run(
            lambda: service.search(body.queries, k=body.k, mode=body.mode, **f)))

    @app.get("/ask", response_model=None, responses={200: {"model": models.AskResponse}, **_ERRORS}, tags=["read"])
    async def ask(q: Annotated[list[str], q_text], f: Filters) -> JSONResponse:
        """A cited answer to each `q`: items with verbatim quotes, region, title, outlet, date
        (`policyqa ask --json`)."""
        return JSONResponse(await service.gate.run(lambda: service.ask(q, **f)))

    @app.post("/ask", response_model=None, responses={200: {"model": models.AskResponse}, **_ERRORS}, tags=["read"])
    async def ask_many(body: models.Questions) -> JSONResponse:
        """The same for long questions or a batch, as JSON."""
        f = body.model_dump(include={"region", "doc", "outlet", "since", "until"})
        return JSONResponse(await service.gate.run(lambda: service.ask(body.questions, **f)))

    @app.get("/facts", response_model=None, responses={200: {"model": models.FactsResponse}, **_ERRORS},
             tags=["read"])
    async def facts(f: Filters, unit: Annotated[str | None, Query(description="e.g. %, 亿元, 家")] = None,
                    limit: Annotated[int, Query(ge=1, le=s.max_facts)] = s.max_facts) -> JSONResponse:
        """The table of stated figures and targets, each with its quote (`policyqa facts --json`)."""
        return JSONResponse(await service.gate.run(lambda: service.facts(unit=unit, limit=limit, **f)))

    @app.get("/documents", response_model=None, responses={200: {"model": models.DocumentsResponse}, **_ERRORS},
             tags=["read"])
    async def documents() -> JSONResponse:
        """Every document of the served generation: id, title, date, outlet, format, chunks."""
        return JSONResponse(await service.gate.run(service.documents))

    @app.get("/documents/{doc_id:path}", response_model=None,
             responses={200: {"model": models.DocumentText}, 404: {"model": models.ErrorBody}, **_ERRORS},
             tags=["read"])
    async def document(doc_id: str) -> JSONResponse:
        """One document with its text: a quote's `start`/`end` index into `text`."""
        return JSONResponse(await service.gate.run(service.document, doc_id))

    upload_body = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}

    @app.post("/documents", response_model=None, openapi_extra=upload_body,
              responses={200: {"model": models.UploadResponse}, **_WRITE_ERRORS}, tags=["write"],
              dependencies=[Depends(admin)])
    async def upload(request: Request) -> JSONResponse:
        """Add files (`file` parts of multipart/form-data), checked by the readers as `policyqa add` does,
        then update the index. Needs the admin token."""
        import anyio

        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError(415, "unsupported_media_type", "send the files as multipart/form-data, one 'file' part each")
        form = await request.form(max_files=s.max_batch, max_fields=s.max_batch, max_part_size=s.max_upload_bytes)
        try:
            files = [(u.filename or "document", await u.read()) for u in form.getlist("file") if hasattr(u, "read")]
        finally:
            await form.close()
        return JSONResponse(await anyio.to_thread.run_sync(service.add, files))

    @app.delete("/documents/{doc_id:path}", response_model=None,
                responses={200: {"model": models.RemoveResponse}, **_WRITE_ERRORS}, tags=["write"],
                dependencies=[Depends(admin)])
    async def delete(doc_id: str) -> JSONResponse:
        """Delete a document's file from the corpus and update the index. Needs the admin token."""
        import anyio

        return JSONResponse(await anyio.to_thread.run_sync(service.remove, doc_id))

    return app


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("policyqa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def serve(settings, host: str | None = None, port: int | None = None, access_log: bool = False) -> None:
    """`policyqa serve`: open the index (loading the model once), then answer HTTP until interrupted."""
    import uvicorn

    from retrieval.access import is_loopback

    host = host or settings.serve_host
    port = port or settings.serve_port
    service = Service(settings)
    app = create_app(service)
    if not is_loopback(host) and not settings.admin_token:
        log.warning("listening on %s without POLICYQA_ADMIN_TOKEN: uploads and deletes are refused", host)
    log.warning("policyqa API on http://%s:%d (generation %d of %s; schema at /docs)", host, port,
                service.generation, service.location)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=access_log,
                timeout_graceful_shutdown=5)
