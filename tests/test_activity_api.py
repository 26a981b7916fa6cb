"""API.md's activity feed (`GET /api/v1/activity?account_id=`), over the running system.

crm's events reach notifications through the outbox and RabbitMQ, so entries appear shortly after
the change: the tests poll.
"""
from __future__ import annotations

import re

from tests.waiting import eventually


def feed(api, **params):
    resp = api.get("/api/v1/activity", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def created_and_renamed(api):
    """An account created and then renamed; returns it once both entries are in the feed."""
    account = api.post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()
    assert api.patch(f"/api/v1/accounts/{account['id']}", json={"name": "Smith & Sons"}).status_code == 200
    eventually(lambda: feed(api, account_id=account["id"])["items"], lambda items: len(items) == 2)
    return account


def test_creating_and_renaming_an_account_shows_two_entries_newest_first(firm):
    api = firm["api"]
    account = created_and_renamed(api)
    items = feed(api, account_id=account["id"])["items"]
    assert [i["event_type"] for i in items] == ["account_updated", "account_created"]
    assert [i["summary"] for i in items] == ["Account renamed to “Smith & Sons”", "Account “Smith Family” created"]
    assert {i["account_id"] for i in items} == {account["id"]}
    assert {i["actor_id"] for i in items} == {firm["user"]["id"]}
    assert all(i["occurred_at"].endswith("Z") for i in items)


def test_another_firm_sees_none_of_them(firm, signup):
    account = created_and_renamed(firm["api"])
    other = signup("Theirs")["api"]
    assert feed(other, account_id=account["id"])["items"] == []
    assert account["id"] not in {i["account_id"] for i in feed(other)["items"]}


def test_an_employee_without_view_all_accounts_sees_only_his_accounts_entries(firm, mailbox, anonymous, api_for):
    owner = firm["api"]
    mine, other = created_and_renamed(owner), created_and_renamed(owner)
    address = "emma-" + firm["email"]
    emma = owner.post("/api/v1/team", json={"name": "Emma", "email": address, "role": "employee"}).json()
    owner.put(f"/api/v1/accounts/{mine['id']}/team", json={"user_ids": [emma["id"]]})
    text = mailbox.wait_for(lambda m: address in m["To"], timeout=20).get_body(("plain",)).get_content()
    token = re.search(r"/p/([A-Za-z0-9_-]+)", text).group(1)
    accepted = anonymous.post(f"/api/public/invitations/{token}", json={"password": "emma's long password"})
    assert accepted.status_code == 200, accepted.text
    assert other["id"] in {i["account_id"] for i in feed(owner)["items"]}
    items = feed(api_for(accepted.json()["token"]))["items"]
    assert {i["account_id"] for i in items} == {mine["id"]}  # not the other account, nor firm-wide entries


def test_the_firms_feed_pages_with_a_cursor(firm):
    api = firm["api"]
    created_and_renamed(api)  # with the signup: at least three entries
    first = feed(api, limit=2)
    second = feed(api, limit=2, cursor=first["next_cursor"])
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_bad_feed_parameters_are_422(firm):
    api = firm["api"]
    assert api.get("/api/v1/activity", params={"limit": 0}).status_code == 422
    assert api.get("/api/v1/activity", params={"cursor": "garbage"}).status_code == 422
    assert api.get("/api/v1/activity", params={"account_id": "not-a-uuid"}).status_code == 422


def test_the_feed_needs_a_staff_token(anonymous):
    assert anonymous.get("/api/v1/activity").status_code == 401
