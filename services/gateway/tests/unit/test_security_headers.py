"""Headers every answer carries (gateway.middleware.SecurityHeadersMiddleware), and gunicorn's own refusals
answered in JSON (gateway.worker)."""
from __future__ import annotations

import json
import re

import pytest

from gateway.worker import JsonErrorsWorker, json_error
from shared.errors import NotFound

INVITATION = {"id": "l1", "kind": "invitation", "firm_id": "f1", "target": {"type": "user", "id": "u9"}}


def directives(resp) -> dict[str, list[str]]:
    policy = resp.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.fixture
def invitation(rpc):
    rpc.answers[("links", "describe_link")] = INVITATION
    rpc.answers[("crm", "describe_firm")] = {"name": "Smith CPA"}
    rpc.answers[("crm", "describe_invitation")] = {"firm_name": "Smith CPA"}


@pytest.mark.parametrize("path", ["/p/tok123", "/portal", "/p/dead"])
def test_pages_allow_scripts_and_styles_only_from_our_files_and_no_frame(client, invitation, rpc, path):
    if path == "/p/dead":
        rpc.answers[("links", "describe_link")] = NotFound("No such link.")
    resp = client.simulate_get(path)
    assert resp.status_code == (404 if path == "/p/dead" else 200)
    assert resp.headers["Content-Type"].startswith("text/html")
    policy = directives(resp)
    assert policy["default-src"] == ["'none'"] and policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in resp.text and "style=" not in resp.text and "<style" not in resp.text


def test_the_scripts_the_pages_name_are_served(client, invitation):
    for path in ("/p/tok123", "/portal"):
        for src in re.findall(r'<script src="([^"]+)"', client.simulate_get(path).text):
            served = client.simulate_get(src)
            assert served.status_code == 200 and "javascript" in served.headers["Content-Type"], src


def test_the_docs_page_allows_its_one_inline_script_by_hash(client):
    resp = client.simulate_get("/docs")
    scripts = directives(resp)["script-src"]
    assert scripts[0] == "'self'" and len(scripts) == 2 and scripts[1].startswith("'sha256-")
    assert "'unsafe-inline'" not in scripts


@pytest.mark.parametrize("method,path", [("GET", "/healthz"), ("GET", "/nowhere"), ("GET", "/api/v1/me"),
                                         ("GET", "/openapi.json"), ("POST", "/api/v1/auth/login")])
def test_every_answer_says_nosniff_and_no_store_and_may_load_nothing(client, method, path):
    resp = client.simulate_request(method, path, json={})
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
    assert directives(resp) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


def test_answers_carrying_a_token_are_not_stored(client, rpc):
    rpc.answers[("crm", "login")] = {"token": "t", "user": {}}
    rpc.answers[("crm", "signup")] = {"token": "t", "user": {}, "firm": {}}
    rpc.answers[("crm", "accept_invitation")] = {"token": "t", "user": {}}
    for path, body in (("/api/v1/auth/login", {"email": "a@b.c", "password": "x"}),
                       ("/api/v1/auth/signup", {"firm_name": "F", "name": "N", "email": "a@b.c", "password": "x"}),
                       ("/api/public/invitations/tok", {"password": "x"})):
        resp = client.simulate_post(path, json=body)
        assert resp.json["token"] == "t" and resp.headers["Cache-Control"] == "no-store", path


def test_static_files_may_be_cached(client):
    assert "no-store" not in client.simulate_get("/static/upload.js").headers.get("Cache-Control", "")


class FakeSocket:
    def __init__(self) -> None:
        self.sent = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.sent += data


class Log:
    def warning(self, *args) -> None: ...
    def debug(self, *args) -> None: ...
    def exception(self, *args) -> None: ...
    def access(self, *args) -> None: ...


@pytest.mark.parametrize("error,status", [("LimitRequestLine", 414), ("LimitRequestHeaders", 431),
                                          ("InvalidRequestLine", 400)])
def test_gunicorns_own_refusals_are_json(error, status):
    from gunicorn.http import errors

    exc = getattr(errors, error)(*((4095, 4094) if error == "LimitRequestLine" else ("too big",)))
    worker = JsonErrorsWorker.__new__(JsonErrorsWorker)
    worker.log = Log()
    client = FakeSocket()
    worker.handle_error(None, client, ("1.2.3.4", 5), exc)
    head, _, body = client.sent.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Content-Type: application/json" in head and b"X-Content-Type-Options: nosniff" in head
    assert json.loads(body)["title"].startswith(str(status)) and json.loads(body)["description"]
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) == len(body)


def test_a_json_error_is_valid_http():
    head, _, body = json_error(414, "URI Too Long").partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 414 URI Too Long" and json.loads(body)["title"] == "414 URI Too Long"


def test_a_downloaded_html_document_runs_nothing(client, rpc, staff):
    """Only our own pages get the page policy: a document that is HTML may load nothing."""
    from gateway.resources import documents

    rpc.answers[("documents", "open_document")] = {"name": "x.html", "content_type": "text/html", "size": 0,
                                                   "sha256": "0" * 64, "object_key": "k"}
    assert not documents.DocumentContent.on_get.openapi["html"]
    resp = client.simulate_get("/api/v1/documents/00000000-0000-0000-0000-000000000001/content", headers=staff)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    assert directives(resp) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}, resp.text
