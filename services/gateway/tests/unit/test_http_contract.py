"""The gateway's side of API.md: auth, bodies, errors, ids, request ids."""
from __future__ import annotations

import uuid

import falcon.testing

from shared.errors import Conflict, NotFound, Throttled, Unauthorized, UpstreamError, ValidationFailed


def test_staff_path_without_token_is_401(client):
    resp = client.simulate_get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.json["title"] == "Unauthorized"


def test_unknown_token_is_401(client):
    assert client.simulate_get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_non_bearer_scheme_is_401(client, rpc):
    """`staff-token` is a token the RPC knows: only the scheme is wrong."""
    assert client.simulate_get("/api/v1/me", headers={"Authorization": "Bearer staff-token"}).status_code == 200
    for scheme in ("Basic", "Token", "Bearerx"):
        resp = client.simulate_get("/api/v1/me", headers={"Authorization": f"{scheme} staff-token"})
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    assert [c[3] for c in rpc.calls if c[1] == "authenticate"] == [{"token": "staff-token"}]


def test_every_401_says_www_authenticate_bearer(client, rpc):
    rpc.answers[("crm", "login")] = Unauthorized("Wrong email or password.")
    answers = [client.simulate_get("/api/v1/me"),
               client.simulate_get("/api/v1/me", headers={"Authorization": "Bearer x"}),
               client.simulate_post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})]
    assert [(r.status_code, r.headers.get("WWW-Authenticate")) for r in answers] == [(401, "Bearer")] * 3


def test_client_token_on_staff_path_is_403(client):
    resp = client.simulate_get("/api/v1/me", headers={"Authorization": "Bearer client-token"})
    assert resp.status_code == 403


def test_principal_travels_as_call_context(client, rpc, staff):
    client.simulate_get("/api/v1/me", headers=staff)
    _, _, context, _ = rpc.last("me")
    assert context["firm_id"] == "f1" and context["user_id"] == "u1" and context["user_kind"] == "staff"


def test_request_id_is_echoed_and_passed_to_services(client, rpc, staff):
    resp = client.simulate_get("/api/v1/me", headers={**staff, "X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    assert rpc.last("me")[2]["request_id"] == "abc-123"


def test_unsafe_request_id_is_replaced(client):
    resp = client.simulate_get("/healthz", headers={"X-Request-ID": "a b\nc"})
    assert resp.headers["X-Request-ID"] != "a b\nc" and len(resp.headers["X-Request-ID"]) == 32


def test_malformed_json_is_400(client, staff):
    resp = client.simulate_post("/api/v1/accounts", headers={**staff, "Content-Type": "application/json"},
                                body="{nope")
    assert resp.status_code == 400
    assert set(resp.json) >= {"title", "description"}


def test_empty_json_body_is_400(client, staff):
    resp = client.simulate_post("/api/v1/accounts", headers={**staff, "Content-Type": "application/json"})
    assert resp.status_code == 400


def test_non_json_body_is_415(client, staff):
    resp = client.simulate_post("/api/v1/accounts", headers={**staff, "Content-Type": "text/plain"}, body="hi")
    assert resp.status_code == 415


def test_body_over_the_limit_is_413_before_any_call(client, rpc, staff):
    resp = client.simulate_post("/api/v1/accounts", headers=staff, json={"name": "x" * 2000, "type": "company"})
    assert resp.status_code == 413
    assert not [c for c in rpc.calls if c[1] == "create_account"]


class ChunkedInput:
    """wsgi.input of a chunked request as gunicorn hands it on: the decoded body, read in pieces, ending where
    the last chunk ends; the request has no Content-Length."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.buffer = b""

    def read(self, size: int = -1) -> bytes:
        while self.chunks and (size < 0 or len(self.buffer) < size):
            self.buffer += self.chunks.pop(0)
        data, self.buffer = (self.buffer, b"") if size < 0 else (self.buffer[:size], self.buffer[size:])
        return data


def post_chunked(client, path: str, headers: dict, chunks: list[bytes]) -> falcon.testing.Result:
    environ = falcon.testing.create_environ(path=path, method="POST", headers={
        **headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = ChunkedInput(chunks)
    start = falcon.testing.StartResponseMock()
    body = b"".join(client.app(environ, start))
    return falcon.testing.Result([body], start.status, start.headers)


def test_chunked_body_is_read_to_its_end(client, rpc, staff):
    rpc.answers[("crm", "create_account")] = lambda payload: payload
    resp = post_chunked(client, "/api/v1/accounts", staff, [b'{"name": "Chun', b'ked", ', b'"type": "company"}'])
    assert resp.status_code == 201 and resp.json == {"name": "Chunked", "type": "company"}


def test_chunked_body_over_the_limit_is_413(client, rpc, staff):
    """No Content-Length to refuse it early: the limit (1,024 bytes here) holds while reading."""
    resp = post_chunked(client, "/api/v1/accounts", staff, [b'{"name": "', *[b"x" * 100] * 20, b'"}'])
    assert resp.status_code == 413
    assert not [c for c in rpc.calls if c[1] == "create_account"]


def test_validation_error_carries_field_messages(client, rpc, staff):
    rpc.answers[("crm", "create_account")] = ValidationFailed("bad", {"type": ["Must be one of: company."]})
    resp = client.simulate_post("/api/v1/accounts", headers=staff, json={"name": "A", "type": "boat"})
    assert resp.status_code == 422
    assert resp.json["errors"] == {"type": ["Must be one of: company."]}


def test_domain_errors_map_to_their_status(client, rpc, staff):
    for exc, status in ((NotFound("gone"), 404), (Conflict("dup"), 409), (UpstreamError("x"), 502)):
        rpc.answers[("crm", "get_account")] = exc
        resp = client.simulate_get(f"/api/v1/accounts/{uuid.uuid4()}", headers=staff)
        assert resp.status_code == status
        assert resp.json["description"] == str(exc)


def test_throttled_carries_retry_after(client, rpc):
    rpc.answers[("crm", "login")] = Throttled("slow down")
    resp = client.simulate_post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})
    assert resp.status_code == 429 and resp.headers["Retry-After"]


def test_retry_after_is_the_wait_the_service_named_and_not_an_error_field(client, rpc):
    rpc.answers[("crm", "login")] = Throttled("slow down", retry_after=900)
    resp = client.simulate_post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "900"
    assert "errors" not in resp.json


def test_non_uuid_id_is_404_without_a_call(client, rpc, staff):
    resp = client.simulate_get("/api/v1/accounts/not-a-uuid", headers=staff)
    assert resp.status_code == 404
    assert not [c for c in rpc.calls if c[1] == "get_account"]


def test_unknown_path_is_json_404(client):
    resp = client.simulate_get("/nowhere")
    assert resp.status_code == 404 and resp.json["title"]


def test_errors_are_json_even_when_xml_is_asked_for(client):
    resp = client.simulate_get("/api/v1/me", headers={"Accept": "application/xml"})
    assert resp.status_code == 401 and resp.headers["Content-Type"].startswith("application/json")


def test_signup_answers_201(client, rpc):
    rpc.answers[("crm", "signup")] = {"token": "t", "user": {}, "firm": {}}
    resp = client.simulate_post("/api/v1/auth/signup", json={"firm_name": "F", "name": "N", "email": "a@b.c",
                                                              "password": "0123456789"})
    assert resp.status_code == 201 and resp.json["token"] == "t"


def test_logout_is_204_for_either_kind_of_user(client, staff):
    assert client.simulate_post("/api/v1/auth/logout", headers=staff).status_code == 204
    assert client.simulate_post("/api/v1/auth/logout",
                                headers={"Authorization": "Bearer client-token"}).status_code == 204


def test_list_passes_only_known_query_parameters(client, rpc, staff):
    rpc.answers[("crm", "list_accounts")] = {"items": [], "next_cursor": None}
    client.simulate_get("/api/v1/accounts", headers=staff, params={"q": "smith", "limit": "5", "_": "123"})
    assert rpc.last("list_accounts")[3]["query"] == {"q": "smith", "limit": "5"}


def test_staff_token_on_a_portal_path_is_403(client, staff):
    assert client.simulate_get("/portal/v1/accounts", headers=staff).status_code == 403


def test_client_token_opens_the_portal(client, rpc):
    rpc.answers[("crm", "list_portal_accounts")] = {"items": []}
    resp = client.simulate_get("/portal/v1/accounts", headers={"Authorization": "Bearer client-token"})
    assert resp.status_code == 200 and rpc.last("list_portal_accounts")[2]["user_kind"] == "client"
