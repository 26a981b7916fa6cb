"""API.md's identity and team rows, over the running system."""
from __future__ import annotations

import uuid

from tests.emails import link_in, to, token_of

PASSWORD = "correct horse battery"


def test_signup_returns_token_user_and_firm(firm):
    assert firm["user"]["kind"] == "staff" and firm["user"]["role"] == "owner"
    assert firm["firm"]["name"] == "Acme CPA" and firm["user"]["firm_id"] == firm["firm"]["id"]
    assert firm["user"]["email"] == firm["email"]
    assert "password" not in firm["user"] and "password_hash" not in firm["user"]


def test_signup_with_an_email_that_has_a_login_elsewhere_makes_another_firm(firm, anonymous):
    # A 409 here would tell anyone that the address has a Porta login (issue 9, item 1).
    resp = anonymous.post("/api/v1/auth/signup", json={"firm_name": "X", "name": "Y", "email": firm["email"].upper(),
                                                        "password": "another long password"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["firm"]["id"] != firm["firm"]["id"]


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


# -- one email, logins in several firms (issue 9, item 1) ----------------------------------------------


def _victim() -> str:
    return f"victim-{uuid.uuid4().hex[:10]}@example.com"


def _invite_staff(firm, address):
    return firm["api"].post("/api/v1/team", json={"name": "Vic Tim", "email": address, "role": "employee"})


def _login_on_as_client(firm, address):
    """An account of `firm` whose contact has `address`, LOGIN turned on for it: the PATCH answer."""
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "Tim Family", "type": "family"}).json()
    contact = api.post("/api/v1/contacts", json={"first_name": "Vic", "last_name": "Tim",
                                                 "emails": [address]}).json()
    api.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": contact["id"]})
    return api.patch(f"/api/v1/accounts/{account['id']}/access/{address}", json={"login": True})


def _accept(anonymous, mailbox, address, firm_name, password):
    message = mailbox.wait_for(lambda m: to(address)(m) and firm_name in m["Subject"], timeout=20)
    accepted = anonymous.post(f"/api/public/invitations/{token_of(link_in(message))}", json={"password": password})
    assert accepted.status_code == 200, accepted.text
    return accepted.json()


def test_a_pending_invitation_of_one_firm_reserves_nothing(signup, anonymous):
    stranger, own, other = signup("Firm B"), signup("Firm A"), signup("Firm C")
    address = _victim()
    assert _invite_staff(stranger, address).status_code == 201
    # He can still sign his own firm up, be invited by another, and be made another firm's client.
    signed = anonymous.post("/api/v1/auth/signup", json={"firm_name": "Victim & Co", "name": "Vic",
                                                          "email": address, "password": PASSWORD})
    assert signed.status_code == 201, signed.text
    invited = _invite_staff(own, address)
    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "invited"
    client = _login_on_as_client(other, address)
    assert client.status_code == 200, client.text
    assert client.json()["status"] == "invited"


def test_no_answer_reveals_that_another_firm_has_the_address(signup, anonymous, mailbox):
    stranger, own = signup("Firm B"), signup("Firm A")
    address = _victim()
    _invite_staff(stranger, address)
    _accept(anonymous, mailbox, address, "Firm B", PASSWORD)  # an active login in firm B
    invited = _invite_staff(own, address)
    assert invited.status_code == 201 and invited.json()["status"] == "invited"
    client = _login_on_as_client(signup("Firm C"), address)
    assert client.status_code == 200 and client.json()["status"] == "invited"
    # Firm B's login opens firm B only; firm A sees its own invited member, nothing of B.
    team = own["api"].get("/api/v1/team").json()["items"]
    assert [m["status"] for m in team if m["email"] == address] == ["invited"]


def test_a_password_that_opens_two_firms_lists_them_then_logs_in_to_the_one_named(signup, anonymous, api_for,
                                                                                  mailbox):
    address = _victim()
    own = anonymous.post("/api/v1/auth/signup", json={"firm_name": "Victim & Co", "name": "Vic", "email": address,
                                                       "password": PASSWORD}).json()
    employer = signup("Firm A")
    _invite_staff(employer, address)
    _accept(anonymous, mailbox, address, "Firm A", PASSWORD)

    listed = anonymous.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert listed.status_code == 200, listed.text
    assert "token" not in listed.json() and "user" not in listed.json()
    assert sorted(listed.json()["firms"], key=lambda f: f["name"]) == [
        {"id": employer["firm"]["id"], "name": "Firm A"}, {"id": own["firm"]["id"], "name": "Victim & Co"}]

    for firm_id in (employer["firm"]["id"], own["firm"]["id"]):
        chosen = anonymous.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD,
                                                            "firm_id": firm_id})
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["user"]["firm_id"] == firm_id
        assert api_for(chosen.json()["token"]).get("/api/v1/me").json()["firm"]["id"] == firm_id
    # A firm where this address has no login (or the wrong password there): the usual 401.
    nowhere = anonymous.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD,
                                                         "firm_id": signup("Firm Z")["firm"]["id"]})
    assert nowhere.status_code == 401
    wrong = anonymous.post("/api/v1/auth/login", json={"email": address, "password": "not the password",
                                                       "firm_id": own["firm"]["id"]})
    assert wrong.status_code == 401


def test_a_client_of_two_firms_logs_in_to_each_portal(signup, anonymous, api_for, mailbox):
    address = _victim()
    first, second = signup("Firm A"), signup("Firm C")
    for firm in (first, second):
        _login_on_as_client(firm, address)
        _accept(anonymous, mailbox, address, firm["firm"]["name"], PASSWORD)
    listed = anonymous.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD}).json()
    assert {f["id"] for f in listed["firms"]} == {first["firm"]["id"], second["firm"]["id"]}
    chosen = anonymous.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD,
                                                        "firm_id": second["firm"]["id"]}).json()
    assert chosen["user"]["kind"] == "client"
    assert len(api_for(chosen["token"]).get("/portal/v1/accounts").json()["items"]) == 1


def test_a_password_that_opens_one_of_the_firms_logs_in_there_directly(signup, anonymous, mailbox):
    address = _victim()
    anonymous.post("/api/v1/auth/signup", json={"firm_name": "Victim & Co", "name": "Vic", "email": address,
                                                "password": PASSWORD})
    employer = signup("Firm A")
    _invite_staff(employer, address)
    _accept(anonymous, mailbox, address, "Firm A", "a different long password")
    resp = anonymous.post("/api/v1/auth/login", json={"email": address, "password": "a different long password"})
    assert resp.status_code == 200 and resp.json()["user"]["firm_id"] == employer["firm"]["id"]
