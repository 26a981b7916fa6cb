"""API.md's identity and team rows, over the running system."""
from __future__ import annotations


def test_signup_returns_token_user_and_firm(firm):
    assert firm["user"]["kind"] == "staff" and firm["user"]["role"] == "owner"
    assert firm["firm"]["name"] == "Acme CPA" and firm["user"]["firm_id"] == firm["firm"]["id"]
    assert firm["user"]["email"] == firm["email"]
    assert "password" not in firm["user"] and "password_hash" not in firm["user"]


def test_signup_twice_with_one_email_is_409(firm, anonymous):
    resp = anonymous.post("/api/v1/auth/signup", json={"firm_name": "X", "name": "Y", "email": firm["email"].upper(),
                                                        "password": "correct horse battery"})
    assert resp.status_code == 409 and resp.json()["title"]


def test_signup_with_bad_fields_is_422_naming_them(anonymous):
    resp = anonymous.post("/api/v1/auth/signup", json={"firm_name": "", "email": "nope", "password": "short"})
    assert resp.status_code == 422
    assert {"firm_name", "name", "email", "password"} <= set(resp.json()["errors"])


def test_login_returns_a_token_that_opens_me(firm, anonymous, api_for):
    resp = anonymous.post("/api/v1/auth/login", json={"email": firm["email"], "password": "correct horse battery"})
    assert resp.status_code == 200 and resp.json()["user"]["kind"] == "staff"
    me = api_for(resp.json()["token"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["role"] == "owner" and "manage_billing" in me.json()["rights"]
    assert me.json()["firm"]["id"] == firm["firm"]["id"]


def test_wrong_password_is_401(firm, anonymous):
    resp = anonymous.post("/api/v1/auth/login", json={"email": firm["email"], "password": "wrong password"})
    assert resp.status_code == 401


def test_logout_stops_the_token_at_once(firm):
    api = firm["api"]
    assert api.post("/api/v1/auth/logout").status_code == 204
    assert api.get("/api/v1/me").status_code == 401


def test_team_invite_list_patch_delete(firm):
    api = firm["api"]
    invited = api.post("/api/v1/team", json={"name": "Emma", "email": "emma-" + firm["email"], "role": "employee",
                                             "rights": ["manage_documents"]})
    assert invited.status_code == 201, invited.text
    member = invited.json()
    assert member["status"] == "invited" and member["rights"] == ["manage_documents"]
    listed = api.get("/api/v1/team").json()
    assert {m["id"] for m in listed["items"]} == {member["id"], firm["user"]["id"]}
    patched = api.patch(f"/api/v1/team/{member['id']}", json={"rights": ["manage_billing", "view_all_accounts"]})
    assert patched.status_code == 200 and patched.json()["rights"] == ["manage_billing", "view_all_accounts"]
    assert api.delete(f"/api/v1/team/{member['id']}").status_code == 204
    assert [m["id"] for m in api.get("/api/v1/team").json()["items"]] == [firm["user"]["id"]]


def test_team_invite_with_an_unknown_right_is_422(firm):
    resp = firm["api"].post("/api/v1/team", json={"name": "E", "email": "e-" + firm["email"], "role": "employee",
                                                  "rights": ["launch_rockets"]})
    assert resp.status_code == 422 and "rights" in resp.json()["errors"]


def test_another_firms_team_member_is_404(signup):
    ours, theirs = signup("Ours"), signup("Theirs")
    member = theirs["api"].post("/api/v1/team", json={"name": "T", "email": "t-" + theirs["email"],
                                                      "role": "admin"}).json()
    assert ours["api"].patch(f"/api/v1/team/{member['id']}", json={"role": "employee"}).status_code == 404
    assert ours["api"].delete(f"/api/v1/team/{member['id']}").status_code == 404
