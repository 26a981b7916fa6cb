"""Invitations by email: a single-use /p/ link from the links service, sent by notifications.

These run over the whole system and read the run's real SMTP mailbox; the portal one drives
Debian's Chromium through the invitation page.
"""
from __future__ import annotations

from tests.emails import link_in, to, token_of
from tests.waiting import eventually


def test_team_member_invitation_arrives_and_works_once(firm, mailbox, anonymous, api_for):
    address = "emma-" + firm["email"]
    firm["api"].post("/api/v1/team", json={"name": "Emma", "email": address, "role": "employee"})
    message = mailbox.wait_for(to(address), timeout=20)
    assert "Acme CPA" in message["Subject"]
    token = token_of(link_in(message))
    accepted = anonymous.post(f"/api/public/invitations/{token}", json={"password": "emma's long password"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["user"]["kind"] == "staff"
    assert api_for(accepted.json()["token"]).get("/api/v1/me").json()["email"] == address
    again = anonymous.post(f"/api/public/invitations/{token}", json={"password": "another long password"})
    assert again.status_code == 410
    eventually(lambda: anonymous.get(f"/p/{token}").status_code == 410)


def test_a_weak_password_is_422_and_leaves_the_link_usable(client_invited, anonymous):
    token = token_of(client_invited["link"])
    assert anonymous.post(f"/api/public/invitations/{token}", json={"password": "short"}).status_code == 422
    assert anonymous.get(f"/api/public/links/{token}").json()["kind"] == "invitation"


def test_portal_invitation_email_names_firm_and_account(client_invited):
    message = client_invited["message"]
    assert "Smith Family" in message.get_body(preferencelist=("plain",)).get_content()
    assert message.get_body(preferencelist=("html",)) is not None


def test_reinvite_voids_the_earlier_link(client_invited, mailbox, anonymous):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    first = token_of(client_invited["link"])
    assert api.post(f"/api/v1/accounts/{account['id']}/access/{address}/reinvite").status_code == 200
    second = mailbox.wait_for(lambda m: to(address)(m) and token_of(link_in(m)) != first, timeout=20)
    assert anonymous.get(f"/p/{first}").status_code == 410
    assert anonymous.get(f"/p/{token_of(link_in(second))}").status_code == 200


def test_changing_a_pending_address_invites_the_new_one_and_voids_the_old_link(client_invited, mailbox, anonymous):
    api, contact = client_invited["api"], client_invited["contact"]
    new_address = "jane.new-" + client_invited["address"].split("-", 1)[1]
    assert api.patch(f"/api/v1/contacts/{contact['id']}", json={"emails": [new_address]}).status_code == 200
    message = mailbox.wait_for(to(new_address), timeout=20)
    assert anonymous.get(f"/p/{token_of(client_invited['link'])}").status_code == 410
    assert anonymous.get(f"/p/{token_of(link_in(message))}").status_code == 200


def test_invited_client_sets_a_password_in_the_browser_and_lands_in_the_portal(client_invited, page, api_for):
    page.goto(client_invited["link"])
    assert "Acme CPA invited you" in page.inner_text("h1")
    page.fill("#password", "jane's long password")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal")
    page.wait_for_selector("#accounts li:has-text('Smith Family')")
    # LOGIN off removes the account from her portal at once, session included.
    token = page.evaluate("sessionStorage.getItem('porta_token')")
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    assert api_for(token).get("/portal/v1/accounts").json()["next_cursor"] is None
    assert [a["name"] for a in api_for(token).get("/portal/v1/accounts").json()["items"]] == ["Smith Family"]
    api.patch(f"/api/v1/accounts/{account['id']}/access/{address}", json={"login": False})
    assert api_for(token).get("/portal/v1/accounts").json()["items"] == []


def test_a_wrong_token_page_says_the_link_is_not_valid(anonymous):
    resp = anonymous.get("/p/not-a-real-token-at-all")
    assert resp.status_code == 404 and "no longer valid" in resp.text
