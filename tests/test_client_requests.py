"""Client requests over the whole system: the firm sends a questionnaire; the person with the emailed link
answers it without logging in (saved as he types, files per question), submits once; the firm sees the
answers and hears of them in its Inbox+. With login required only the portal answers. The Chromium tests
fill half the questionnaire, reload, finish and submit, and see a canceled or expired link's page."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.emails import link_in, to
from tests.samples import PDF, documents_of
from tests.waiting import eventually

QUESTIONS = [
    {"id": "name", "kind": "text", "label": "Your full name", "required": True},
    {"id": "kids", "kind": "number", "label": "How many children live with you?"},
    {"id": "married", "kind": "yes_no", "label": "Were you married on December 31?", "required": True},
    {"id": "status", "kind": "choice", "label": "Filing status", "options": ["Single", "Jointly", "Separately"]},
    {"id": "moved", "kind": "date", "label": "When did you move in?"},
    {"id": "w2", "kind": "file", "label": "Your W-2"},
]


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


def send_request(api, account, **fields) -> dict:
    body = {"title": "2025 tax return", "message": "A few questions before we file.", "questions": QUESTIONS,
            "recipients": [], "login_required": False, **fields}
    resp = api.post(f"/api/v1/accounts/{account['id']}/client-requests", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def token_of(request: dict) -> str:
    return request["url"].rsplit("/", 1)[1]


def answer(anonymous, token, answers, submit=None):
    body = {"answers": answers} | ({"submit": submit} if submit is not None else {})
    return anonymous.post(f"/api/public/links/{token}/answers", json=body)


def send_file(anonymous, token, question_id, name, data):
    return anonymous.post(f"/api/public/links/{token}/files", params={"question_id": question_id, "filename": name},
                          data=data, headers={"Content-Type": "application/octet-stream"})


def inbox_item(api, request) -> dict | None:
    return next((i for i in api.get("/api/v1/inbox").json()["items"] if i["subject_id"] == request["id"]), None)


def test_a_request_goes_out_as_a_link_emailed_to_its_recipients(firm, account, mailbox, anonymous):
    request = send_request(firm["api"], account, recipients=["assistant@example.org"])
    assert request["status"] == "sent" and request["url"].startswith("http")
    assert [q["id"] for q in request["questions"]] == [q["id"] for q in QUESTIONS]
    message = mailbox.wait_for(to("assistant@example.org"), timeout=20)
    assert link_in(message) == request["url"]
    assert "2025 tax return" in message["Subject"]
    info = anonymous.get(f"/api/public/links/{token_of(request)}").json()
    assert (info["kind"], info["firm_name"], info["client_request"]["title"]) == ("client_request", "Acme CPA",
                                                                                   "2025 tax return")
    listed = firm["api"].get(f"/api/v1/accounts/{account['id']}/client-requests")
    assert listed.status_code == 200, listed.text
    assert [(r["id"], r["url"]) for r in listed.json()["items"]] == [(request["id"], request["url"])]


def test_partial_answers_are_kept_and_the_firm_sees_them(firm, account, anonymous):
    request = send_request(firm["api"], account)
    token = token_of(request)
    assert answer(anonymous, token, {"name": "Jane Smith"}).status_code == 200
    assert answer(anonymous, token, {"kids": 2, "married": True}).status_code == 200
    assert answer(anonymous, token, {"kids": None}).status_code == 200
    again = anonymous.get(f"/api/public/links/{token}").json()["client_request"]
    assert again["answers"] == {"name": "Jane Smith", "married": True}
    seen = firm["api"].get(f"/api/v1/client-requests/{request['id']}").json()
    assert seen["answers"] == {"name": "Jane Smith", "married": True} and seen["status"] == "sent"


@pytest.mark.parametrize(("question_id", "value"), [
    ("name", 7), ("kids", "two"), ("married", "yes"), ("status", "Married"), ("moved", "31/12/2025"),
    ("w2", ["0b0c0f0e-0000-4000-8000-000000000001"]), ("nope", "x"),
])
def test_a_wrong_type_is_422_naming_the_question(firm, account, anonymous, question_id, value):
    request = send_request(firm["api"], account)
    resp = answer(anonymous, token_of(request), {"name": "Jane", question_id: value})
    assert resp.status_code == 422 and list(resp.json()["errors"]["answers"]) == [question_id]
    assert anonymous.get(f"/api/public/links/{token_of(request)}").json()["client_request"]["answers"] == {}


def test_submit_checks_required_questions_notifies_the_firm_once_and_the_link_turns_read_only(
        firm, account, anonymous):
    api = firm["api"]
    request = send_request(api, account)
    token = token_of(request)
    answer(anonymous, token, {"kids": 1})
    refused = answer(anonymous, token, {}, submit=True)
    assert refused.status_code == 422
    assert sorted(refused.json()["errors"]["answers"]) == ["married", "name"]
    assert "Your full name" in refused.json()["description"]
    done = answer(anonymous, token, {"name": "Jane Smith", "married": False}, submit=True)
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert answer(anonymous, token, {"name": "Janet"}).status_code == 409
    assert answer(anonymous, token, {}, submit=True).status_code == 409
    assert send_file(anonymous, token, "w2", "w2.pdf", PDF).status_code == 409
    assert anonymous.get(f"/p/{token}").status_code == 200  # read-only, still there to read
    eventually(lambda: inbox_item(api, request) is not None, timeout=20)
    item = inbox_item(api, request)
    assert item["type"] == "client_request_submitted" and "2025 tax return" in item["title"]
    assert item["event_count"] == 1
    seen = api.get(f"/api/v1/client-requests/{request['id']}").json()
    assert seen["status"] == "submitted" and seen["submitted_by"]["kind"] == "link"
    feed = api.get("/api/v1/activity", params={"account_id": account["id"]}).json()["items"]
    assert [e["event_type"] for e in feed].count("client_request_submitted") == 1


def test_files_for_a_question_land_in_the_client_folder_and_are_its_answer(firm, account, anonymous):
    api = firm["api"]
    request = send_request(api, account)
    token = token_of(request)
    resp = send_file(anonymous, token, "w2", "w2.pdf", PDF)
    assert resp.status_code == 201, resp.text
    [item] = resp.json()["items"]
    assert resp.json()["answer"] == [item["id"]]
    [document] = documents_of(api, account)
    folders = {f["id"]: f for f in api.get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]}
    assert folders[document["folder_id"]]["root"] == "client" and document["source"] == "link"
    seen = api.get(f"/api/v1/client-requests/{request['id']}").json()
    assert seen["document_ids"] == {"w2": [item["id"]]} and seen["answers"]["w2"] == [item["id"]]
    assert send_file(anonymous, token, "name", "x.pdf", PDF).status_code == 422  # not a file question


def test_cancel_makes_the_link_answer_410_everywhere(firm, account, anonymous):
    request = send_request(firm["api"], account)
    token = token_of(request)
    canceled = firm["api"].post(f"/api/v1/client-requests/{request['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert anonymous.get(f"/p/{token}").status_code == 410 and "no longer valid" in anonymous.get(f"/p/{token}").text
    assert anonymous.get(f"/api/public/links/{token}").status_code == 410
    assert answer(anonymous, token, {"name": "Jane"}).status_code == 410
    assert send_file(anonymous, token, "w2", "late.pdf", PDF).status_code == 410
    assert documents_of(firm["api"], account) == []


def expire(service_engine, request) -> None:
    """The clock moved past the expiry: where documents keeps the request's and where links keeps its link's."""
    for service, table, row in (("documents", "client_requests", "id = :id"),
                                ("links", "links", "target->>'id' = :id AND kind = 'client_request'")):
        with service_engine(service).begin() as conn:
            moved = conn.execute(text(f"UPDATE {table} SET expires_at = now() - interval '1 second' WHERE {row}"),
                                 {"id": request["id"]})
            assert moved.rowcount == 1, (service, moved.rowcount)


def test_an_expired_link_answers_410(firm, account, anonymous, service_engine):
    request = send_request(firm["api"], account, expires_at=(datetime.now(UTC) + timedelta(days=7)).isoformat())
    token = token_of(request)
    assert answer(anonymous, token, {"name": "Jane"}).status_code == 200
    expire(service_engine, request)
    assert answer(anonymous, token, {"name": "Janet"}).status_code == 410
    assert anonymous.get(f"/p/{token}").status_code == 410


def test_login_required_answers_only_in_the_portal(client_portal, mailbox, anonymous):
    api, account, address = client_portal["staff"], client_portal["account"], client_portal["address"]
    refused = api.post(f"/api/v1/accounts/{account['id']}/client-requests", json={
        "title": "2025 tax return", "questions": QUESTIONS, "login_required": True,
        "recipients": ["stranger@example.org"]})
    assert refused.status_code == 422 and "stranger@example.org" in refused.text
    request = send_request(api, account, login_required=True, recipients=[address])
    assert request["url"] is None
    message = mailbox.wait_for(lambda m: to(address)(m) and "2025 tax return" in m["Subject"], timeout=20)
    assert re.search(r"https?://\S+/portal\b", message.get_body(preferencelist=("plain",)).get_content())
    client, base = client_portal["client"], client_portal["base"]
    [listed] = client.get(f"{base}/client-requests").json()["items"]
    assert listed["id"] == request["id"] and listed["status"] == "sent"
    saved = client.post(f"{base}/client-requests/{request['id']}/answers", json={"answers": {"name": "Jane"}})
    assert saved.status_code == 200, saved.text
    uploaded = client.post(f"{base}/client-requests/{request['id']}/files", params={"question_id": "w2",
                                                                                   "filename": "w2.pdf"},
                           data=PDF, headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 201, uploaded.text
    done = client.post(f"{base}/client-requests/{request['id']}/answers",
                       json={"answers": {"married": True}, "submit": True})
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert done.json()["answers"]["w2"] == uploaded.json()["answer"]
    seen = api.get(f"/api/v1/client-requests/{request['id']}").json()
    assert seen["submitted_by"]["kind"] == "client" and seen["submitted_by"]["email"] == address
    assert client.post(f"{base}/client-requests/{request['id']}/answers",
                       json={"answers": {"name": "Janet"}}).status_code == 409


# -- in Chromium -----------------------------------------------------------------------------------------


def test_the_questionnaire_in_chromium_fill_half_reload_finish_submit(firm, account, mailbox, page, anonymous):
    api = firm["api"]
    request = send_request(api, account, recipients=["assistant@example.org"])
    link = link_in(mailbox.wait_for(to("assistant@example.org"), timeout=20))
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(link)
    assert page.inner_text("h1") == "2025 tax return" and "Acme CPA" in page.inner_text("#firm")
    # Half of it, by keyboard and mouse as a person would; each change is saved after a short pause.
    page.fill("#a-name", "Jane Smith")
    page.fill("#a-kids", "2")
    page.check("#q-married input[value=yes]")
    page.wait_for_selector("#save-state:has-text('All changes saved')")
    page.locator("#q-married input[value=yes]").wait_for()
    eventually(lambda: api.get(f"/api/v1/client-requests/{request['id']}").json()["answers"] ==
               {"name": "Jane Smith", "kids": 2, "married": True}, timeout=10)

    page.reload()
    assert page.input_value("#a-name") == "Jane Smith" and page.input_value("#a-kids") == "2"
    assert page.is_checked("#q-married input[value=yes]")

    page.check("#q-status input[value=Jointly]")
    page.fill("#a-moved", "2025-03-01")
    page.set_input_files("#a-w2", files=[{"name": "w2.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.wait_for_selector("#files-w2 li:has-text('w2.pdf')")
    page.fill("#a-name", "")  # a required question left empty: the error shows next to it
    page.click("#submit")
    page.wait_for_selector("#error-name:has-text('required')")
    assert page.inner_text("#error-married") == ""
    page.fill("#a-name", "Jane A. Smith")
    page.keyboard.press("Tab")
    page.click("#submit")
    page.wait_for_selector("#submitted-note:visible")
    assert page.is_disabled("#a-name")

    seen = api.get(f"/api/v1/client-requests/{request['id']}").json()
    assert seen["status"] == "submitted"
    assert {k: v for k, v in seen["answers"].items() if k != "w2"} == {
        "name": "Jane A. Smith", "kids": 2, "married": True, "status": "Jointly", "moved": "2025-03-01"}
    assert len(seen["answers"]["w2"]) == 1 and seen["document_ids"]["w2"] == seen["answers"]["w2"]
    page.reload()
    assert "can no longer be changed" in page.inner_text("#submitted-note") and page.is_disabled("#a-name")


def test_a_canceled_and_an_expired_questionnaire_say_so_in_chromium(firm, account, page, service_engine):
    api = firm["api"]
    canceled, expired = send_request(api, account), send_request(api, account)
    page.goto(canceled["url"])
    api.post(f"/api/v1/client-requests/{canceled['id']}/cancel")
    page.fill("#a-name", "Jane")  # the page was open: its autosave hears of the cancel
    page.wait_for_selector("#error:has-text('no longer works')")
    assert page.is_disabled("#a-name")
    page.reload()
    assert "This link is no longer valid" in page.inner_text("h1")
    expire(service_engine, expired)
    page.goto(expired["url"])
    assert "This link is no longer valid" in page.inner_text("h1")
