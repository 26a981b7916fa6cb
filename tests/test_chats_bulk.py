"""Bulk messages (`POST /api/v1/chats/bulk`, `GET /api/v1/chats/bulk/{id}`) over the running system:
threads made in the background, in batches any chats instance may take, once per account even across a
crash."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from tests.waiting import eventually


def accounts_of_jane(client_portal, count: int) -> list[dict[str, Any]]:
    """The Smith Family account and `count - 1` more on which Jane (active in the portal) gets LOGIN at once."""
    staff, made = client_portal["staff"], [client_portal["account"]]
    for n in range(count - 1):
        account = staff.post("/api/v1/accounts", json={"name": f"Smith {n}", "type": "company"}).json()
        staff.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": client_portal["contact"]["id"]})
        made.append(account)
    staff.patch("/api/v1/access", json={"items": [{"account_id": a["id"], "email": client_portal["address"],
                                                   "login": True} for a in made[1:]]})
    return made


def finished(staff, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    return eventually(lambda: staff.get(f"/api/v1/chats/bulk/{job_id}").json(),
                      lambda job: job["status"] == "done", timeout=timeout)


def threads_of(staff, account_id: str) -> list[dict[str, Any]]:
    resp = staff.get(f"/api/v1/accounts/{account_id}/chats")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def test_a_bulk_message_answers_202_at_once_and_makes_one_personalised_thread_per_account(client_portal):
    staff = client_portal["staff"]
    accounts = accounts_of_jane(client_portal, 3)
    resp = staff.post("/api/v1/chats/bulk", json={"account_ids": [a["id"] for a in accounts],
                                                  "subject": "Documents for [ACCOUNT_NAME]",
                                                  "body": "Dear [CONTACT_FIRST_NAME], please send them."})
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert (job["status"], job["total"], job["done"], job["failed"]) == ("queued", 3, 0, 0)
    assert finished(staff, job["id"])["done"] == 3
    for account in accounts:
        [thread] = threads_of(staff, account["id"])
        assert thread["subject"] == f"Documents for {account['name']}"
        [message] = staff.get(f"/api/v1/chats/{thread['id']}/messages").json()["items"]
        assert message["body"] == "Dear Jane, please send them."


def test_a_template_gives_the_subject_body_and_tasks_of_each_thread(client_portal):
    staff = client_portal["staff"]
    [account] = accounts_of_jane(client_portal, 1)
    template = staff.post("/api/v1/chat-templates", json={
        "name": "Year end", "subject": "[CURRENT_YEAR] for [ACCOUNT_NAME]", "body": "Hello [CONTACT_FIRST_NAME]",
        "tasks": [{"title": "Upload your W-2"}]}).json()
    job = staff.post("/api/v1/chats/bulk", json={"account_ids": [account["id"]], "template_id": template["id"]}).json()
    assert finished(staff, job["id"])["done"] == 1
    [thread] = threads_of(staff, account["id"])
    assert thread["subject"].endswith("for Smith Family")
    assert [t["title"] for t in thread["tasks"]] == ["Upload your W-2"]


def test_each_failed_account_is_listed_with_why(client_portal):
    staff = client_portal["staff"]
    [active] = accounts_of_jane(client_portal, 1)
    nobody = staff.post("/api/v1/accounts", json={"name": "No Portal", "type": "family"}).json()
    unknown = str(uuid.uuid4())
    job = staff.post("/api/v1/chats/bulk", json={"account_ids": [active["id"], nobody["id"], unknown],
                                                 "subject": "Hi", "body": "Hello"}).json()
    done = finished(staff, job["id"])
    assert (done["done"], done["failed"]) == (1, 2)
    reasons = {f["account_id"]: f["reason"] for f in done["failures"]}
    assert "activated portal account" in reasons[nobody["id"]]
    assert reasons[unknown].startswith("No such account")
    assert threads_of(staff, nobody["id"]) == []


def test_an_account_named_twice_gets_one_thread(client_portal):
    staff = client_portal["staff"]
    [account] = accounts_of_jane(client_portal, 1)
    job = staff.post("/api/v1/chats/bulk", json={"account_ids": [account["id"]] * 2, "subject": "Hi",
                                                 "body": "Hello"}).json()
    assert job["total"] == 1
    finished(staff, job["id"])
    assert len(threads_of(staff, account["id"])) == 1


def test_a_bulk_message_without_subject_and_template_is_422_and_stores_nothing(firm):
    account = firm["api"].post("/api/v1/accounts", json={"name": "A", "type": "family"}).json()
    resp = firm["api"].post("/api/v1/chats/bulk", json={"account_ids": [account["id"]], "body": "Hello"})
    assert resp.status_code == 422 and "subject" in resp.json()["errors"]


def test_an_unknown_shortcode_is_422_naming_it(firm):
    account = firm["api"].post("/api/v1/accounts", json={"name": "A", "type": "family"}).json()
    resp = firm["api"].post("/api/v1/chats/bulk", json={"account_ids": [account["id"]], "subject": "Hi",
                                                        "body": "Dear [NICKNAME]"})
    assert resp.status_code == 422 and "[NICKNAME]" in str(resp.json()["errors"]["body"])


def test_another_staff_members_job_is_not_found_to_an_employee(client_portal, mailbox, anonymous, api_for):
    from tests.samples import employee

    staff = client_portal["staff"]
    job = staff.post("/api/v1/chats/bulk", json={"account_ids": [client_portal["account"]["id"]],
                                                 "subject": "Hi", "body": "Hello"}).json()
    emma = employee({"api": staff, "email": client_portal["address"]}, mailbox, anonymous, api_for,
                    client_portal["account"])
    assert emma.get(f"/api/v1/chats/bulk/{job['id']}").status_code == 404


def test_a_crash_mid_job_resumes_without_making_any_thread_twice(client_portal, porta_system, service_engine):
    staff = client_portal["staff"]
    accounts = accounts_of_jane(client_portal, 100)  # four batches
    job = staff.post("/api/v1/chats/bulk", json={"account_ids": [a["id"] for a in accounts], "subject": "Hi",
                                                 "body": "Hello"}).json()
    eventually(lambda: staff.get(f"/api/v1/chats/bulk/{job['id']}").json(),
               lambda j: j["done"] > 0 or j["status"] == "done", timeout=120)
    porta_system.kill("chats")  # as a crash would, mid-batch or between batches
    porta_system.start("chats")
    done = finished(staff, job["id"], timeout=240)
    assert (done["done"], done["failed"]) == (100, 0), done["failures"][:3]
    with service_engine("chats").connect() as connection:
        counts = connection.execute(text("SELECT account_id, count(*) FROM threads WHERE firm_id = :firm "
                                         "GROUP BY account_id"), {"firm": staff.get("/api/v1/me").json()["firm_id"]}
                                    ).all()
    assert len(counts) == 100 and {count for _, count in counts} == {1}
