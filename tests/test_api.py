"""The HTTP API (`policyqa serve`): shapes, bounds, writes behind the admin token, overload, reopening.

Most tests drive the FastAPI app in process (TestClient) on an index made with the fake
encoder; the `server` ones start `policyqa serve` as a real process with the real model.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the api extra is not installed: pip install -e '.[api]'")

from conftest import FakeEncoder, free_port, policyqa
from fastapi.testclient import TestClient

from retrieval.index import build_index
from retrieval.payload import search_payload
from retrieval.serve import models
from retrieval.serve.http import create_app
from retrieval.serve.service import Service

TOKEN = "s3cret-token-4f1d9a"
Q = "哪些地区提出了9.5%的增长目标"
GOOD_TXT = "绵阳市推动低空经济发展。\n\n2024年，绵阳市低空经济产业规模力争达到50亿元，新增企业20家。\n".encode()


def make_client(index, **changes) -> TestClient:
    settings = index.settings.with_(**{"admin_token": TOKEN, "serve_reopen_s": 0.0, **changes})
    return TestClient(create_app(Service(settings, index=index)), raise_server_exceptions=False)


@pytest.fixture
def client(fake_index) -> TestClient:
    """On the shared read-only index: for tests that change nothing."""
    return make_client(fake_index)


@pytest.fixture
def writable(fake_index_copy) -> TestClient:
    """On a private copy of the index and corpus: for tests that write (or try to)."""
    return make_client(fake_index_copy)


def auth(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def one_line_error(r, status: int, code: str | None = None) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    msg = body["error"]["message"]
    assert msg and "\n" not in msg and "Traceback" not in r.text
    if code:
        assert body["error"]["code"] == code
    return msg


# -- reading: the CLI's shapes, one schema
def test_search_is_the_cli_payload_from_one_generation(client, fake_index):
    r = client.get("/search", params={"q": Q, "k": 5})
    assert r.status_code == 200
    body = models.SearchResponse.model_validate(r.json()).model_dump()
    assert body["generation"] == fake_index.info.generation
    got = r.json()["results"][0]
    want = search_payload(Q, "hybrid", fake_index.search(Q, k=5), 0.0)
    got["took_ms"] = want["took_ms"] = 0
    assert got == want
    cited = {h["doc_id"] for h in got["hits"]}
    assert {s["doc_id"] for s in r.json()["sources"]} == cited


def test_ask_get_and_post_batch_quote_the_document_text(client):
    r = client.get("/ask", params={"q": Q})
    assert r.status_code == 200
    models.AskResponse.model_validate(r.json())
    items = r.json()["results"][0]["items"]
    assert items, "the seed corpus answers the 9.5% question"
    for it in items:
        doc = client.get(f"/documents/{it['doc_id']}").json()
        models.DocumentText.model_validate(doc)
        assert doc["text"][it["quote"]["start"]:it["quote"]["end"]] == it["quote"]["text"]
    r = client.post("/ask", json={"questions": [Q, "Which regions set 9.5% targets?"]})
    assert r.status_code == 200
    assert [x["question"] for x in r.json()["results"]] == [Q, "Which regions set 9.5% targets?"]


def test_facts_documents_health_and_openapi(client, fake_index):
    r = client.get("/facts", params={"unit": "亿元", "limit": 3})  # the seed corpus states 21 in 亿元
    body = models.FactsResponse.model_validate(r.json())
    assert body.count == 3 and body.truncated and all(f.unit == "亿元" for f in body.facts)
    docs = models.DocumentsResponse.model_validate(client.get("/documents").json())
    assert {d.doc_id for d in docs.documents} == {d.doc_id for d in fake_index.store.list_documents()}
    health = models.Health.model_validate(client.get("/health").json())
    assert health.generation == fake_index.info.generation
    spec = client.get("/openapi.json").json()
    assert {"/search", "/ask", "/facts", "/documents", "/documents/{doc_id}", "/health"} <= set(spec["paths"])
    assert "SearchResponse" in spec["components"]["schemas"]
    msg = one_line_error(client.get("/facts", params={"unit": "光年"}), 400, "unknown_unit")
    assert "光年" in msg


def test_the_docs_page_loads_nothing_from_another_host(client):
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
    urls = [a or b for a, b in urls]
    assert urls and not [u for u in urls if "://" in u or u.startswith("//")], urls
    for u in urls:  # the Swagger UI script, style and icon come from this server
        assert client.get(u).status_code == 200, u


# -- bounds
def test_bounds_on_every_input(fake_index):
    c = make_client(fake_index, max_question_chars=50, max_batch=2, max_k=20)
    one_line_error(c.get("/ask", params={"q": "问" * 51}), 400, "too_long")
    one_line_error(c.get("/search", params={"q": Q, "k": 21}), 422, "invalid")
    one_line_error(c.get("/search", params={"q": Q, "k": 0}), 422, "invalid")
    one_line_error(c.post("/ask", json={"questions": [Q, Q, Q]}), 400, "batch_too_large")
    one_line_error(c.post("/ask", json={"questions": []}), 400)
    one_line_error(c.get("/search", params={"q": Q, "mode": "magic"}), 422)
    one_line_error(c.get("/search", params={"q": Q, "since": "yesterday"}), 400)
    one_line_error(c.get("/facts", params={"limit": 10**6}), 422)
    one_line_error(c.get("/documents/no/such.txt"), 404, "not_found")


# -- security: writes need the token; bad input is refused cleanly
def test_writes_without_the_token_are_refused(fake_index_copy):
    fake_index = fake_index_copy
    c = make_client(fake_index)
    doc = fake_index.store.list_documents()[0].doc_id
    path = fake_index.settings.corpus / doc
    files = {"file": ("a.txt", GOOD_TXT, "text/plain")}
    one_line_error(c.post("/documents", files=files), 401, "unauthorized")
    one_line_error(c.delete(f"/documents/{doc}"), 401, "unauthorized")
    one_line_error(c.post("/documents", files=files, headers=auth("wrong")), 403, "forbidden")
    one_line_error(c.delete(f"/documents/{doc}", headers=auth(TOKEN + "x")), 403, "forbidden")
    off = TestClient(create_app(Service(fake_index.settings.with_(admin_token=""), index=fake_index)))  # none set
    one_line_error(off.delete(f"/documents/{doc}", headers=auth()), 403, "writes_disabled")
    assert path.exists() and not (fake_index.settings.corpus / "uploads").exists()


def test_token_is_compared_in_constant_time(monkeypatch, client, fake_index):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    doc = fake_index.store.list_documents()[0].doc_id
    one_line_error(client.delete(f"/documents/{doc}", headers=auth("guess")), 403)
    assert calls == [(b"guess", TOKEN.encode())]


def test_token_never_logged(writable, caplog):
    client = writable
    caplog.set_level(logging.DEBUG)
    client.post("/documents", files={"file": ("a.txt", GOOD_TXT, "text/plain")}, headers=auth())
    client.delete("/documents/a/b.txt", headers=auth(TOKEN + "-wrong"))
    client.get("/search", params={"q": Q}, headers=auth())
    assert caplog.records, "the upload's build logs something, so the check below has text to look at"
    assert TOKEN not in caplog.text


def test_path_traversal_in_document_ids(writable, tmp_path):
    client = writable
    outside = tmp_path / "secret.txt"
    outside.write_text("keep me", encoding="utf-8")
    for bad in ("..%2Fsecret.txt", "../secret.txt", "%2E%2E/secret.txt", "uploads/../../secret.txt", "%2Fetc%2Fpasswd"):
        r = client.delete(f"/documents/{bad}", headers=auth())
        assert r.status_code in (400, 404), (bad, r.text)
        one_line_error(r, r.status_code)
        r = client.get(f"/documents/{bad}")
        assert r.status_code in (400, 404), (bad, r.text)
    assert outside.read_text(encoding="utf-8") == "keep me"
    one_line_error(client.delete("/documents/a%5C..%5Cb.txt", headers=auth()), 400, "bad_document_id")


def test_oversized_bodies_are_refused(fake_index_copy):
    fake_index = fake_index_copy
    c = make_client(fake_index, max_body_bytes=2000, max_upload_bytes=5000)
    one_line_error(c.post("/ask", json={"questions": ["问" * 2000]}), 413, "too_large")
    big = {"file": ("big.txt", GOOD_TXT * 100, "text/plain")}
    one_line_error(c.post("/documents", files=big, headers=auth()), 413, "too_large")
    assert not (fake_index.settings.corpus / "uploads").exists()


def test_malformed_bodies_are_refused(writable):
    client = writable
    one_line_error(client.post("/ask", content=b"{not json", headers={"content-type": "application/json"}), 400,
                   "bad_json")
    one_line_error(client.post("/ask", json={"questions": "one string, not a list"}), 422, "invalid")
    one_line_error(client.post("/ask", json={"questions": [Q], "extra": 1}), 422, "invalid")
    one_line_error(client.post("/documents", content=b"raw bytes", headers={**auth(), "content-type": "text/plain"}),
                   415)
    one_line_error(client.post("/documents", content=b"--x\r\nbroken", headers={
        **auth(), "content-type": "multipart/form-data; boundary=x"}), 400)


def test_non_utf8_input_is_refused(client):
    one_line_error(client.get("/search?q=%FF%FE%E4"), 400, "not_utf8")
    one_line_error(client.get("/documents/%FF.txt"), 400, "not_utf8")
    r = client.post("/ask", content=b'{"questions": ["\xff\xfe"]}', headers={"content-type": "application/json"})
    assert r.status_code in (400, 422)
    one_line_error(r, r.status_code)


def test_unexpected_failure_is_one_line_without_traceback(client, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("exploded")

    monkeypatch.setattr(client.app.state.service, "search", boom)
    r = client.get("/search", params={"q": Q})
    msg = one_line_error(r, 500, "internal")
    assert "exploded" in msg and 'File "' not in r.text and "test_api.py" not in r.text


def test_cors_is_off_unless_configured(fake_index):
    r = make_client(fake_index).get("/health", headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in r.headers
    r = make_client(fake_index, cors_origins=("https://example.org",)).get(
        "/health", headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "https://example.org"


# -- writing with the token
def test_upload_then_delete_updates_the_served_index(writable, fake_index_copy):
    client, fake_index = writable, fake_index_copy
    gen = fake_index.info.generation
    r = client.post("/documents", headers=auth(), files=[("file", ("low.txt", GOOD_TXT, "text/plain")),
                                                        ("file", ("x.exe", b"MZ\x00\x01", "application/octet-stream"))])
    assert r.status_code == 200, r.text
    body = models.UploadResponse.model_validate(r.json())
    assert [a.path.endswith("uploads/low.txt") for a in body.added] == [True]
    assert [x.name for x in body.refused] == ["x.exe"] and "unsupported type" in body.refused[0].reason
    assert body.build.generation == gen + 1 and body.build.documents == len(fake_index.store.list_documents()) + 1
    hits = client.get("/search", params={"q": "低空经济产业规模"}).json()
    assert hits["generation"] == gen + 1 and hits["results"][0]["hits"][0]["doc_id"] == "uploads/low.txt"
    one_line_error(client.post("/documents", headers=auth(), files={"file": ("e.txt", b"", "text/plain")}), 400,
                   "refused")
    r = client.delete("/documents/uploads/low.txt", headers=auth())
    assert r.status_code == 200, r.text
    assert models.RemoveResponse.model_validate(r.json()).build.generation == gen + 2
    assert "uploads/low.txt" not in {d["doc_id"] for d in client.get("/documents").json()["documents"]}


def test_a_build_by_another_process_is_picked_up(writable, fake_index_copy, fake_encoder):
    client, fake_index = writable, fake_index_copy
    before = client.get("/documents").json()
    (fake_index.settings.corpus / "new.txt").write_bytes(GOOD_TXT)
    build_index(fake_index.settings, encoder=fake_encoder, progress=False)  # as `policyqa build` elsewhere
    after = client.get("/documents").json()
    assert after["generation"] == before["generation"] + 1
    assert "new.txt" in {d["doc_id"] for d in after["documents"]}


# -- overload
class _Blocking(FakeEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def encode_queries(self, texts):
        self.entered.set()
        self.release.wait(10)
        return super().encode_queries(texts)


def test_overload_beyond_the_queue_gets_503_with_retry_after(fake_index):
    from retrieval.index import open_index

    enc = _Blocking()
    index = open_index(fake_index.settings.index, fake_index.settings, encoder=enc)
    enc.name = fake_index.encoder.name
    c = make_client(index, serve_workers=1, serve_queue=0)
    first: list = []
    t = threading.Thread(target=lambda: first.append(c.get("/search", params={"q": Q})))
    t.start()
    try:
        assert enc.entered.wait(10)
        t0 = time.perf_counter()
        r = c.get("/search", params={"q": Q})
        assert time.perf_counter() - t0 < 2, "refused at once, not after waiting"
        one_line_error(r, 503, "overloaded")
        assert r.headers["retry-after"] == "1"
        assert c.get("/health").json()["refused"] == 1  # health answers while the worker is busy
    finally:
        enc.release.set()
        t.join(10)
    assert first[0].status_code == 200


def test_serve_without_the_api_extra_is_one_line():
    code = "import sys; sys.modules['fastapi'] = None; from retrieval.cli import main; sys.exit(main(['serve']))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert p.stderr.strip().count("\n") == 0 and "api extra" in p.stderr and "pip install" in p.stderr


# -- a real server process
def wait_ready(proc: subprocess.Popen, url: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout} s")


@pytest.mark.server
@pytest.mark.model
def test_policyqa_serve_process(real_index, tmp_path):
    import httpx

    port = free_port()
    corpus = real_index.settings.corpus
    env = dict(os.environ, POLICYQA_ADMIN_TOKEN=TOKEN)
    proc = subprocess.Popen([policyqa(), "serve", "--index", str(real_index.settings.index), "--corpus", str(corpus),
                             "--port", str(port)], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, base + "/health")
        r = httpx.get(base + "/ask", params={"q": Q}, timeout=30)
        assert r.status_code == 200
        models.AskResponse.model_validate(r.json())
        assert r.json()["results"][0]["supported"]
        assert httpx.delete(base + "/documents/x.txt", timeout=10).status_code == 401
        assert httpx.delete(base + "/documents/x.txt", headers=auth("no"), timeout=10).status_code == 403
        assert httpx.delete(base + "/documents/x.txt", headers=auth(), timeout=10).status_code == 404
        assert httpx.get(base + "/docs", timeout=10).status_code == 200
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert "127.0.0.1" in err and TOKEN not in err and "Traceback" not in err
