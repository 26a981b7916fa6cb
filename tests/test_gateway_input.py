"""Bad input over the running system: the gateway answers a clear 4xx, and no service sees it.

NUL characters and lone surrogates (API.md: never a 5xx for bad input) in JSON bodies, query strings,
path parameters and multipart text fields; JSON nested past reason; booleans that are not booleans;
a query parameter given twice.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.samples import documents_of, form, make_request, private_root, token_of

NUL = "Jane\x00Smith"
SURROGATE = "Jane\ud800Smith"


def send_json(api: Any, method: str, path: str, body: Any) -> Any:
    """`body` as JSON text: json.dumps writes NUL and a lone surrogate as \\u escapes, as any client may."""
    return getattr(api, method)(path, data=json.dumps(body), headers={"Content-Type": "application/json"})


def assert_names(resp: Any, *path: str) -> None:
    """A 422 whose `errors` name the field at `path` (nested fields as marshmallow nests them)."""
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    for key in path:
        assert key in errors, resp.json()
        errors = errors[key]
    assert errors and all(isinstance(message, str) for message in errors), resp.json()


@pytest.fixture
def account(firm) -> dict:
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_bad_text_in_public_json_bodies_is_a_422_naming_the_field(anonymous, bad):
    email = f"olive-{uuid.uuid4().hex[:10]}@example.com"
    signup = {"firm_name": bad, "name": "Olive", "email": email, "password": "correct horse battery"}
    assert_names(send_json(anonymous, "post", "/api/v1/auth/signup", signup), "firm_name")
    assert_names(send_json(anonymous, "post", "/api/v1/auth/signup", {**signup, "firm_name": "F", "password": bad}),
                 "password")
    assert_names(send_json(anonymous, "post", "/api/v1/auth/login", {"email": email, "password": "correct" + bad}),
                 "password")
    # Nothing was created: the address signs up now.
    ok = send_json(anonymous, "post", "/api/v1/auth/signup", {**signup, "firm_name": "F"})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_bad_text_in_staff_json_bodies_is_a_422_naming_the_field_and_changes_nothing(firm, account, bad):
    api, base = firm["api"], f"/api/v1/accounts/{account['id']}"
    assert_names(send_json(api, "post", "/api/v1/accounts", {"name": bad, "type": "company"}), "name")
    assert_names(send_json(api, "patch", base, {"name": bad}), "name")
    assert_names(send_json(api, "post", "/api/v1/contacts", {"first_name": bad, "last_name": "S", "emails": []}),
                 "first_name")
    assert_names(send_json(api, "post", "/api/v1/contacts", {"first_name": "J", "last_name": "S",
                                                             "emails": ["jane@example.com", "a" + bad + "@b.c"]}),
                 "emails", "1")
    assert_names(send_json(api, "post", f"{base}/jobs", {"name": bad, "status": "open"}), "name")
    assert_names(send_json(api, "post", f"{base}/folders", {"name": bad, "client_access": "none"}), "name")
    assert_names(send_json(api, "patch", "/api/v1/settings/portal", {"announcement_text": bad}), "announcement_text")
    # A bad key is named too (with the bad character replaced, so the answer is valid JSON).
    resp = send_json(api, "patch", "/api/v1/settings/portal", {bad: True})
    assert resp.status_code == 422 and list(resp.json()["errors"]) == ["Jane\ufffdSmith"], resp.text

    assert [a["id"] for a in api.get("/api/v1/accounts").json()["items"]] == [account["id"]]
    assert api.get(base).json()["name"] == "Smith Family"
    assert api.get(f"{base}/jobs").json()["items"] == []
    assert all(f["name"] != bad for f in api.get(f"{base}/folders").json()["items"])
    assert api.get("/api/v1/settings/portal").json().get("announcement_text") in (None, "")


def test_nul_in_a_query_or_a_path_parameter_is_a_422_naming_it(firm, account):
    api = firm["api"]
    assert_names(api.get("/api/v1/accounts", params={"q": NUL}), "q")
    assert_names(api.get("/api/v1/accounts?q=%ED%A0%80%00"), "q")  # an encoded surrogate arrives replaced; NUL does not
    assert_names(api.patch(f"/api/v1/accounts/{account['id']}/access/jane%00@example.com", json={"notify": True}),
                 "email")


def test_nul_in_a_link_uploads_uploader_name_is_a_422_and_stores_nothing(firm, account, anonymous):
    token = token_of(make_request(firm["api"], account))
    raw = anonymous.post(f"/api/public/links/{token}/files", params={"filename": "w2.pdf", "uploader_name": NUL},
                         data=b"%PDF-1.4\n%%EOF\n", headers={"Content-Type": "application/octet-stream"})
    assert_names(raw, "uploader_name")
    body, headers = form(("uploader_name", None, NUL.encode()), ("file", "w2.pdf", b"%PDF-1.4\n%%EOF\n"))
    multipart = anonymous.post(f"/api/public/links/{token}/files", data=body, headers=headers)
    assert_names(multipart, "uploader_name")
    assert documents_of(firm["api"], account) == []
    assert private_root(firm["api"], account)


def test_json_nested_past_reason_is_a_400(firm, anonymous):
    for api, path in ((anonymous, "/api/v1/auth/signup"), (firm["api"], "/api/v1/accounts")):
        resp = api.post(path, data="[" * 100_000, headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, resp.text
        assert resp.json()["title"]
    resp = firm["api"].post("/api/v1/accounts", data='{"name": ' + "[" * 200 + "]" * 200 + ', "type": "company"}',
                            headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text


def test_booleans_in_json_bodies_must_be_booleans(firm, account):
    api = firm["api"]
    for not_a_boolean in (0, 1, "true", "yes", None):
        assert_names(api.patch("/api/v1/settings/portal", json={"prepayment": not_a_boolean}), "prepayment")
        assert_names(api.post("/api/v1/accounts", json={"name": "G", "type": "company", "guest": not_a_boolean}),
                     "guest")
    assert api.get("/api/v1/settings/portal").json()["prepayment"] is False
    assert [a["id"] for a in api.get("/api/v1/accounts").json()["items"]] == [account["id"]]
    assert api.patch("/api/v1/settings/portal", json={"prepayment": True}).json()["prepayment"] is True


def test_booleans_in_query_strings_are_the_words_true_and_false(firm):
    assert firm["api"].get("/api/v1/inbox", params={"unread": "true"}).status_code == 200
    assert firm["api"].get("/api/v1/inbox", params={"unread": "false"}).status_code == 200


@pytest.mark.parametrize("query", ["limit=1&limit=2", "q=a&q=b", "unread=true&unread=false", "cursor=&cursor="])
def test_a_query_parameter_given_twice_is_a_400(firm, query):
    path = "/api/v1/inbox" if "unread" in query else "/api/v1/accounts"
    resp = firm["api"].get(f"{path}?{query}")
    assert resp.status_code == 400, resp.text
    assert query.split("=")[0] in resp.json()["description"]
