"""The client portal's announcement and jobs over the whole system: a client user with access to an
account reads the firm's announcement while it is on, and his jobs' client statuses (never the internal
ones) while work in progress is on; without access, or on another firm's account, both are not found."""
from __future__ import annotations

import pytest


@pytest.fixture
def portal(client_portal):
    return client_portal


def settings(portal, **switches):
    resp = portal["staff"].patch("/api/v1/settings/portal", json=switches)
    assert resp.status_code == 200, resp.text


def test_the_announcement_text_shows_only_while_the_switch_is_on(portal):
    client, base = portal["client"], portal["base"]
    settings(portal, announcement_text="We are closed on Friday.")
    resp = client.get(f"{base}/announcement")
    assert resp.status_code == 200 and resp.json() == {"enabled": False, "text": None}
    settings(portal, announcement=True)
    assert client.get(f"{base}/announcement").json() == {"enabled": True, "text": "We are closed on Friday."}
    settings(portal, announcement=False)
    assert client.get(f"{base}/announcement").json() == {"enabled": False, "text": None}


def test_jobs_show_client_statuses_only_while_work_in_progress_is_on(portal):
    staff, client, base, account = portal["staff"], portal["client"], portal["base"], portal["account"]
    jobs = f"/api/v1/accounts/{account['id']}/jobs"
    shown = staff.post(jobs, json={"name": "2026 tax return", "status": "Partner review",
                                   "client_status": "In progress"}).json()
    staff.post(jobs, json={"name": "Internal cleanup", "status": "Open"})
    resp = client.get(f"{base}/jobs")
    assert resp.status_code == 403 and "work in progress" in resp.json()["description"]
    settings(portal, work_in_progress=True)
    resp = client.get(f"{base}/jobs")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"items": [{"id": shown["id"], "name": "2026 tax return", "client_status": "In progress",
                                      "updated_at": shown["updated_at"]}], "next_cursor": None}
    assert "Partner review" not in resp.text
    # A status change the firm makes shows at once; paging works as on every list.
    staff.patch(f"/api/v1/jobs/{shown['id']}", json={"client_status": "Ready to sign"})
    staff.post(jobs, json={"name": "Bookkeeping", "status": "Open", "client_status": "Waiting for you"})
    first = client.get(f"{base}/jobs", params={"limit": 1}).json()
    assert [j["client_status"] for j in first["items"]] == ["Waiting for you"] and first["next_cursor"]
    rest = client.get(f"{base}/jobs", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [j["client_status"] for j in rest["items"]] == ["Ready to sign"] and rest["next_cursor"] is None
    assert client.get(f"{base}/jobs", params={"limit": 0}).status_code == 422


def test_after_login_off_both_are_not_found(portal):
    settings(portal, announcement=True, announcement_text="Hi", work_in_progress=True)
    client, base = portal["client"], portal["base"]
    assert client.get(f"{base}/announcement").status_code == 200
    portal["staff"].patch(f"/api/v1/accounts/{portal['account']['id']}/access/{portal['address']}",
                          json={"login": False})
    assert client.get(f"{base}/announcement").status_code == 404
    assert client.get(f"{base}/jobs").status_code == 404


def test_another_account_of_the_firm_or_of_another_firm_is_not_found(portal, signup):
    settings(portal, announcement=True, announcement_text="Hi", work_in_progress=True)
    client = portal["client"]
    ours = portal["staff"].post("/api/v1/accounts", json={"name": "Smith LLC", "type": "company"}).json()
    theirs_firm = signup("Theirs")
    theirs_firm["api"].patch("/api/v1/settings/portal", json={"announcement": True, "work_in_progress": True,
                                                              "announcement_text": "Their secret"})
    theirs = theirs_firm["api"].post("/api/v1/accounts", json={"name": "Their client", "type": "company"}).json()
    for account_id in (ours["id"], theirs["id"]):
        for tail in ("announcement", "jobs"):
            resp = client.get(f"/portal/v1/accounts/{account_id}/{tail}")
            assert resp.status_code == 404, f"{tail}: {resp.status_code} {resp.text}"
            assert "Their secret" not in resp.text


def test_staff_tokens_are_refused_on_these_portal_paths(portal):
    for tail in ("announcement", "jobs"):
        assert portal["staff"].get(f"{portal['base']}/{tail}").status_code == 403
