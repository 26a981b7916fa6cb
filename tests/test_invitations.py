"""Invitations by email: a single-use /p/ link from the links service, sent by notifications.

These run over the whole system and read the run's real SMTP mailbox; the portal one drives
Debian's Chromium through the invitation page.
"""
from __future__ import annotations

import pytest

from tests.emails import link_in, to, token_of
from tests.waiting import eventually

PASSWORD = "jane's long password"


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


def test_a_wrong_token_page_says_the_link_is_not_valid(anonymous_from):
    # From an address of its own: other tests' wrong tokens from 127.0.0.1 may have it waiting (a 429 page).
    resp = anonymous_from().get("/p/not-a-real-token-at-all")
    assert resp.status_code == 404 and "no longer valid" in resp.text


def test_a_staff_member_who_accepts_in_the_browser_lands_on_a_page_that_exists(firm, mailbox, page):
    address = "emma-" + firm["email"]
    firm["api"].post("/api/v1/team", json={"name": "Emma", "email": address, "role": "employee"})
    link = link_in(mailbox.wait_for(to(address), timeout=20))
    pages_opened = []
    page.on("response", lambda r: pages_opened.append((r.url, r.status)) if r.request.is_navigation_request()
            else None)
    page.goto(link)
    page.fill("#password", "emma's long password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Your account is active")
    assert address in page.inner_text("main")
    assert pages_opened and all(status == 200 for _, status in pages_opened), pages_opened


# -- a revocation takes effect before its call answers (issue 9, item 4) ------------------------------
# Each test stops the notifications service first where the call would have a new link issued: whatever
# the events are doing (here: nothing at all), the old link must be refused as soon as the call answers.


def _accept(anonymous, link: str):
    return anonymous.post(f"/api/public/invitations/{token_of(link)}", json={"password": PASSWORD})


def _refused(anonymous, link: str) -> None:
    accepted = _accept(anonymous, link)
    assert accepted.status_code in (404, 410), accepted.text
    assert anonymous.get(f"/p/{token_of(link)}").status_code in (404, 410)
    assert anonymous.get(f"/api/public/links/{token_of(link)}").status_code in (404, 410)


def test_replacing_a_pending_address_kills_the_old_link_before_the_patch_answers(client_invited, porta_system,
                                                                                 mailbox, anonymous):
    api, contact = client_invited["api"], client_invited["contact"]
    new_address = "jane.new-" + client_invited["address"].split("-", 1)[1]
    porta_system.kill("notifications")
    assert api.patch(f"/api/v1/contacts/{contact['id']}", json={"emails": [new_address]}).status_code == 200
    _refused(anonymous, client_invited["link"])
    # The new address's link, issued once the events flow again, works.
    porta_system.start("notifications")
    message = mailbox.wait_for(to(new_address), timeout=30)
    assert _accept(anonymous, link_in(message)).status_code == 200


def test_reinvite_kills_the_earlier_link_before_it_answers(client_invited, porta_system, mailbox, anonymous):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    porta_system.kill("notifications")
    assert api.post(f"/api/v1/accounts/{account['id']}/access/{address}/reinvite").status_code == 200
    _refused(anonymous, client_invited["link"])
    porta_system.start("notifications")
    fresh = mailbox.wait_for(lambda m: to(address)(m) and link_in(m) != client_invited["link"], timeout=30)
    assert _accept(anonymous, link_in(fresh)).status_code == 200


@pytest.mark.parametrize("bulk", [False, True], ids=["one", "bulk"])
def test_login_off_kills_the_pending_invitation_link_at_once(client_invited, anonymous, bulk):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    if bulk:
        resp = api.patch("/api/v1/access", json={"items": [{"account_id": account["id"], "email": address,
                                                             "login": False}]})
    else:
        resp = api.patch(f"/api/v1/accounts/{account['id']}/access/{address}", json={"login": False})
    assert resp.status_code == 200, resp.text
    _refused(anonymous, client_invited["link"])


def test_login_off_then_on_again_sends_a_new_invitation_and_the_old_link_stays_dead(client_invited, porta_system,
                                                                                     anonymous):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    porta_system.kill("notifications")
    path = f"/api/v1/accounts/{account['id']}/access/{address}"
    assert api.patch(path, json={"login": False}).status_code == 200
    assert api.patch(path, json={"login": True}).json()["status"] == "invited"
    _refused(anonymous, client_invited["link"])


def test_removing_an_invited_team_member_kills_his_link_at_once(firm, mailbox, anonymous):
    address = "emma-" + firm["email"]
    member = firm["api"].post("/api/v1/team", json={"name": "Emma", "email": address, "role": "employee"}).json()
    link = link_in(mailbox.wait_for(to(address), timeout=20))
    assert firm["api"].delete(f"/api/v1/team/{member['id']}").status_code == 204
    _refused(anonymous, link)
