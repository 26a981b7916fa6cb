"""The running system: health, readiness, metrics (the operator's port only), the OpenAPI document and its
page, and the HTTP edges the gateway answers itself (URL and header limits, chunked bodies, the auth scheme)."""
from __future__ import annotations

import re

import pytest
import requests


def test_healthz_and_readyz(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200, ready.text


def test_openapi_and_docs(anonymous):
    spec = anonymous.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1") and "/api/v1/accounts/{account_id}" in spec["paths"]
    assert anonymous.get("/docs").status_code == 200


def test_request_id_is_echoed(anonymous):
    assert anonymous.get("/healthz", headers={"X-Request-ID": "trace-me-1"}).headers["X-Request-ID"] == "trace-me-1"


# -- what the public learns, and what only the operator may ----------------------------------------


def test_readyz_says_ready_without_naming_the_services(anonymous):
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_metrics_are_not_on_the_public_port_but_on_the_metrics_port(porta_system, firm, anonymous):
    assert anonymous.get("/metrics").status_code == 404
    account = firm["api"].post("/api/v1/accounts", json={"name": "Metered", "type": "company"}).json()
    assert firm["api"].get(f"/api/v1/accounts/{account['id']}").status_code == 200
    port = porta_system.env["PORTA_METRICS_PORT"]
    scraped = requests.get(f"http://{porta_system.env['PORTA_HTTP_HOST']}:{port}/metrics", timeout=10)
    assert scraped.status_code == 200 and scraped.headers["Content-Type"].startswith("text/plain")
    assert 'route="/api/v1/accounts/{account_id:uuid}"' in scraped.text
    assert account["id"] not in scraped.text


def test_no_server_header_names_a_version(anonymous):
    for path in ("/healthz", "/nowhere", "/p/nothing-here"):
        server = anonymous.get(path).headers.get("Server", "")
        assert not re.search(r"\d", server), server


# -- the HTTP edges: answered by the gateway in JSON, whoever catches them ---------------------------


def test_a_url_too_long_is_a_json_414(anonymous):
    resp = anonymous.get("/api/v1/accounts?q=" + "a" * 20_000)
    assert resp.status_code == 414 and resp.headers["Content-Type"].startswith("application/json")
    assert resp.json()["title"]


@pytest.mark.parametrize("headers", [{"X-Big": "a" * 20_000}, {f"X-Many-{n}": "a" for n in range(200)}],
                         ids=["one-huge", "too-many"])
def test_header_fields_too_large_are_a_json_431(anonymous, headers):
    resp = anonymous.get("/healthz", headers=headers)
    assert resp.status_code == 431 and resp.headers["Content-Type"].startswith("application/json")
    assert resp.json()["title"]


def test_a_real_chunked_json_body_is_read_and_its_size_limit_holds(firm):
    """Transfer-Encoding: chunked, no Content-Length (requests sends a generator so): under the limit the
    body is read to its end; over PORTA_MAX_JSON_BODY (1 MiB) it is a 413 however it is cut."""
    def chunked(*pieces: bytes):
        yield from pieces

    api = firm["api"]
    small = api.post("/api/v1/accounts", data=chunked(b'{"name": "Chun', b'ked", "type": "company"}'),
                     headers={"Content-Type": "application/json"})
    assert small.status_code == 201 and small.json()["name"] == "Chunked", small.text
    assert "Content-Length" not in small.request.headers and small.request.headers["Transfer-Encoding"] == "chunked"
    big = api.post("/api/v1/accounts", data=chunked(b'{"name": "', *[b"x" * 65536] * 32, b'", "type": "company"}'),
                   headers={"Content-Type": "application/json"})
    assert big.status_code == 413, big.text
    assert [a["name"] for a in api.get("/api/v1/accounts").json()["items"]] == ["Chunked"]


def test_a_valid_token_under_another_scheme_is_a_401(firm, base_url):
    token = firm["token"]
    assert requests.get(base_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).ok
    for scheme in ("Basic", "Token", "Bearerx", ""):
        resp = requests.get(base_url + "/api/v1/me", headers={"Authorization": f"{scheme} {token}".strip()},
                            timeout=10)
        assert resp.status_code == 401, (scheme, resp.text)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_401_says_www_authenticate_bearer(firm, anonymous, api_for):
    answers = [
        anonymous.get("/api/v1/me"),
        api_for("not-a-token").get("/api/v1/me"),
        api_for("not-a-token").get("/portal/v1/accounts"),
        anonymous.post("/api/v1/auth/login", json={"email": firm["email"], "password": "wrong password"}),
    ]
    for resp in answers:
        assert resp.status_code == 401, resp.text
        assert resp.headers["WWW-Authenticate"].startswith("Bearer"), resp.headers
