"""Authorised once per request, and access removed at once (docs/access.md): services keep crm's
answer to "may he open this account?" under the firm's access version, so a request the gateway
authenticated costs one crm call once warm; every removal moves the version, so the very next request
after it is refused, whatever the services had kept. Each test reads first (the answer is kept), removes,
and asks again exactly once."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.samples import employee

DOCUMENTS = "/api/v1/accounts/{}/documents"


def read_twice(api, path: str) -> None:
    """Two successful reads: the second is answered from what the services kept."""
    for _ in range(2):
        resp = api.get(path)
        assert resp.status_code == 200, resp.text


@pytest.fixture
def account(firm):
    resp = firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def emma(firm, mailbox, anonymous, api_for):
    """`emma(account=None, rights=())`: an active employee (assigned to `account`) and her user id."""

    def make(account=None, rights=()):
        api = employee(firm, mailbox, anonymous, api_for, account, rights=list(rights))
        return api, api.get("/api/v1/me").json()["id"]

    return make


# -- clients ------------------------------------------------------------------------------------------


def test_login_off_refuses_the_clients_very_next_request(client_portal):
    client, staff, base = client_portal["client"], client_portal["staff"], client_portal["base"]
    read_twice(client, f"{base}/documents")
    off = staff.patch(f"/api/v1/accounts/{client_portal['account']['id']}/access/{client_portal['address']}",
                      json={"login": False})
    assert off.status_code == 200, off.text
    assert client.get(f"{base}/documents").status_code == 404


def test_login_off_refuses_the_next_read_of_a_thread_the_client_just_read(client_portal):
    client, staff, base, account = (client_portal[k] for k in ("client", "staff", "base", "account"))
    thread = staff.post(f"/api/v1/accounts/{account['id']}/chats", json={"subject": "W-2", "body": "Send it"})
    assert thread.status_code == 201, thread.text
    read_twice(client, f"{base}/chats/{thread.json()['id']}/messages")
    staff.patch(f"/api/v1/accounts/{account['id']}/access/{client_portal['address']}", json={"login": False})
    assert client.get(f"{base}/chats/{thread.json()['id']}/messages").status_code == 404


def test_a_deleted_account_is_gone_from_the_clients_very_next_request(client_portal):
    client, staff, base = client_portal["client"], client_portal["staff"], client_portal["base"]
    read_twice(client, f"{base}/documents")
    assert staff.delete(f"/api/v1/accounts/{client_portal['account']['id']}").status_code == 204
    assert client.get(f"{base}/documents").status_code == 404


def test_logout_refuses_the_very_next_request(client_portal):
    client, base = client_portal["client"], client_portal["base"]
    read_twice(client, f"{base}/documents")
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get(f"{base}/documents").status_code == 401


# -- staff --------------------------------------------------------------------------------------------


def test_an_unassigned_employee_is_refused_on_his_very_next_request(firm, account, emma):
    api, _ = emma(account)
    read_twice(api, DOCUMENTS.format(account["id"]))
    assert firm["api"].put(f"/api/v1/accounts/{account['id']}/team", json={"user_ids": []}).status_code == 200
    assert api.get(DOCUMENTS.format(account["id"])).status_code == 404


def test_losing_view_all_accounts_refuses_the_very_next_request(firm, account, emma):
    api, member = emma(rights=["view_all_accounts"])
    read_twice(api, DOCUMENTS.format(account["id"]))
    assert firm["api"].patch(f"/api/v1/team/{member}", json={"rights": []}).status_code == 200
    assert api.get(DOCUMENTS.format(account["id"])).status_code == 404


def test_an_admin_made_employee_is_refused_on_his_very_next_request(firm, account, emma):
    api, member = emma()
    assert firm["api"].patch(f"/api/v1/team/{member}", json={"role": "admin"}).status_code == 200
    read_twice(api, DOCUMENTS.format(account["id"]))  # admins see every account
    assert firm["api"].patch(f"/api/v1/team/{member}", json={"role": "employee"}).status_code == 200
    assert api.get(DOCUMENTS.format(account["id"])).status_code == 404


def test_a_removed_team_member_is_refused_on_his_very_next_request(firm, account, emma):
    api, member = emma(account)
    read_twice(api, DOCUMENTS.format(account["id"]))
    assert firm["api"].delete(f"/api/v1/team/{member}").status_code == 204
    assert api.get(DOCUMENTS.format(account["id"])).status_code == 401


# -- cost ---------------------------------------------------------------------------------------------


def crm_calls(porta_system, request_id: str) -> list[str]:
    """The entrypoints crm's JSON log shows for one request id, in the order they ended."""
    calls = []
    for line in (porta_system.log_dir / "crm.log").read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("request_id") == request_id and record.get("entrypoint"):
            calls.append(record["entrypoint"])
    return calls


def test_a_repeated_request_costs_one_crm_call(porta_system, firm, account):
    ids = [f"once-{uuid.uuid4().hex[:12]}" for _ in range(4)]
    for request_id in ids:
        resp = firm["api"].get(DOCUMENTS.format(account["id"]), headers={"X-Request-ID": request_id})
        assert resp.status_code == 200, resp.text
    # Lines are written as calls end: once the last request's line is there, every earlier one is too.
    deadline = time.monotonic() + 10
    while not crm_calls(porta_system, ids[-1]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert crm_calls(porta_system, ids[0]) == ["authenticate", "authorize_account"]
    assert [crm_calls(porta_system, request_id) for request_id in ids[1:]] == [["authenticate"]] * 3
