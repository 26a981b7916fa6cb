"""API.md's accounts rows, over the running system."""
from __future__ import annotations

import uuid


def create(api, name, type_="individual", **extra):
    resp = api.post("/api/v1/accounts", json={"name": name, "type": type_, **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_get_patch_delete(firm):
    api = firm["api"]
    account = create(api, "Smith Family", "family")
    assert account["guest"] is False and account["created_at"].endswith("Z")
    assert api.get(f"/api/v1/accounts/{account['id']}").json() == account
    patched = api.patch(f"/api/v1/accounts/{account['id']}", json={"name": "Smith & Sons", "type": "company"})
    assert patched.status_code == 200 and patched.json()["name"] == "Smith & Sons"
    assert api.delete(f"/api/v1/accounts/{account['id']}").status_code == 204
    assert api.get(f"/api/v1/accounts/{account['id']}").status_code == 404


def test_guest_account(firm):
    assert create(firm["api"], "Bank of Elsewhere", "company", guest=True)["guest"] is True


def test_list_pages_with_cursor_and_searches_with_q(firm):
    api = firm["api"]
    ids = [create(api, f"Client {i}")["id"] for i in range(5)] + [create(api, "Zebra Ltd", "company")["id"]]
    first = api.get("/api/v1/accounts", params={"limit": 4}).json()
    second = api.get("/api/v1/accounts", params={"limit": 4, "cursor": first["next_cursor"]}).json()
    assert second["next_cursor"] is None
    assert [a["id"] for a in first["items"] + second["items"]] == list(reversed(ids))
    found = api.get("/api/v1/accounts", params={"q": "zEBRA"}).json()["items"]
    assert [a["name"] for a in found] == ["Zebra Ltd"]


def test_bad_list_parameters_are_422(firm):
    api = firm["api"]
    assert api.get("/api/v1/accounts", params={"limit": 0}).status_code == 422
    assert api.get("/api/v1/accounts", params={"limit": 201}).status_code == 422
    assert api.get("/api/v1/accounts", params={"limit": "many"}).status_code == 422
    assert api.get("/api/v1/accounts", params={"cursor": "garbage"}).status_code == 422


def test_bad_bodies_are_4xx_and_change_nothing(firm):
    api = firm["api"]
    assert api.post("/api/v1/accounts", json={"name": "X", "type": "boat"}).status_code == 422
    assert api.post("/api/v1/accounts", json={"name": "X", "type": "company", "owner": "me"}).status_code == 422
    assert api.post("/api/v1/accounts", json=["not", "an", "object"]).status_code == 422
    assert api.post("/api/v1/accounts", data="{oops", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.post("/api/v1/accounts", data="name=X", headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.post("/api/v1/accounts", json={"name": "x" * 2_000_000, "type": "company"}).status_code == 413
    assert api.get("/api/v1/accounts").json()["items"] == []


def test_another_firms_account_is_404_for_every_verb(signup):
    ours, theirs = signup("Ours"), signup("Theirs")
    account = create(theirs["api"], "Their client")
    path = f"/api/v1/accounts/{account['id']}"
    assert ours["api"].get(path).status_code == 404
    assert ours["api"].patch(path, json={"name": "Mine"}).status_code == 404
    assert ours["api"].delete(path).status_code == 404
    assert theirs["api"].get(path).json()["name"] == "Their client"
    assert ours["api"].get("/api/v1/accounts").json()["items"] == []


def test_unknown_and_malformed_ids_are_404(firm):
    assert firm["api"].get(f"/api/v1/accounts/{uuid.uuid4()}").status_code == 404
    assert firm["api"].get("/api/v1/accounts/123").status_code == 404


def test_accounts_need_a_staff_token(anonymous):
    assert anonymous.get("/api/v1/accounts").status_code == 401
