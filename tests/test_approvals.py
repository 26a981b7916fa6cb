"""Approvals over the whole system: staff send a document for approval to emails; each approver gets his own
link, sees the document and approves, or disapproves saying why, from the link or the portal; the firm's
Inbox+ hears of each decision. The last tests drive the approval page in Chromium."""
from __future__ import annotations

import uuid

import pytest

from tests.emails import link_in, to
from tests.samples import employee
from tests.share_samples import pdf_with_text, token, uploaded
from tests.waiting import eventually

RETURN = pdf_with_text("Tax return 2025")
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.fixture
def document(firm, account):
    return uploaded(firm["api"], account, "return.pdf", RETURN)


def ask(api, document: dict, emails: list[str], **fields) -> dict:
    resp = api.post(f"/api/v1/documents/{document['id']}/approval-requests", json={"emails": emails, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def approver(request: dict, email: str) -> dict:
    return next(a for a in request["approvers"] if a["email"] == email)


def decide(anonymous, url: str, decision: str, comment: str | None = None):
    return anonymous.post(f"/api/public/links/{token(url)}/approval", json={"decision": decision, "comment": comment})


def inbox_item(api, request: dict) -> dict | None:
    return next((i for i in api.get("/api/v1/inbox").json()["items"] if i["subject_id"] == request["id"]), None)


def test_each_approver_is_emailed_his_own_link(firm, document, mailbox):
    request = ask(firm["api"], document, ["partner@example.org", "spouse@example.org"], message="Please check p. 2.")
    assert request["status"] == "pending" and request["document_id"] == document["id"]
    for email in ("partner@example.org", "spouse@example.org"):
        message = mailbox.wait_for(to(email), timeout=20)
        assert link_in(message) == approver(request, email)["url"]
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "return.pdf" in body and "Please check p. 2." in body
    assert approver(request, "partner@example.org")["url"] != approver(request, "spouse@example.org")["url"]


def test_a_read_of_the_request_shows_each_approvers_url_and_it_opens_his_page(firm, document, anonymous):
    request = ask(firm["api"], document, ["partner@example.org", "spouse@example.org"])
    read = firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()
    assert read["status"] == "pending"
    for email in ("partner@example.org", "spouse@example.org"):
        url = approver(read, email)["url"]
        assert url == approver(request, email)["url"] and url.startswith("http")
        page = anonymous.get(f"/p/{token(url)}")
        assert page.status_code == 200 and "asks you to approve “return.pdf”" in page.text
        assert anonymous.get(f"/api/public/links/{token(url)}").json()["approval"]["email"] == email


def test_an_approver_who_decided_has_no_url_left_to_copy(firm, account, document, anonymous):
    request = ask(firm["api"], document, ["partner@example.org", "spouse@example.org"])
    assert decide(anonymous, approver(request, "partner@example.org")["url"], "approved").status_code == 200
    read = firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()
    assert approver(read, "partner@example.org")["url"] is None
    assert approver(read, "spouse@example.org")["url"] == approver(request, "spouse@example.org")["url"]
    listed = firm["api"].get(f"/api/v1/accounts/{account['id']}/approval-requests").json()["items"]
    assert [[a["url"] for a in r["approvers"]] for r in listed] == [[a["url"] for a in read["approvers"]]]


def test_the_link_shows_the_document_to_approve(firm, document, anonymous):
    url = ask(firm["api"], document, ["partner@example.org"], message="Sign-off please")["approvers"][0]["url"]
    info = anonymous.get(f"/api/public/links/{token(url)}").json()
    assert (info["kind"], info["firm_name"], info["message"]) == ("approval", "Acme CPA", "Sign-off please")
    assert (info["approval"]["document_name"], info["approval"]["status"]) == ("return.pdf", "pending")
    content = anonymous.get(f"/api/public/links/{token(url)}/content")
    assert content.status_code == 200 and content.content == RETURN
    assert content.headers["Content-Type"] == "application/pdf"
    assert content.headers["Content-Disposition"].startswith("inline")
    part = anonymous.get(f"/api/public/links/{token(url)}/content", headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.content) == (206, RETURN[:8])


def test_the_request_is_approved_once_every_approver_approved(firm, document, anonymous):
    request = ask(firm["api"], document, ["partner@example.org", "spouse@example.org"])
    assert decide(anonymous, approver(request, "partner@example.org")["url"], "approved").status_code == 200
    assert firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()["status"] == "pending"
    answer = decide(anonymous, approver(request, "spouse@example.org")["url"], "approved", "Looks right.")
    assert answer.status_code == 200 and answer.json()["request_status"] == "approved"
    read = firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()
    assert read["status"] == "approved" and read["decided_at"] is not None
    assert {a["email"]: (a["status"], a["decided_through"]) for a in read["approvers"]} == {
        "partner@example.org": ("approved", "link"), "spouse@example.org": ("approved", "link")}


def test_disapproving_needs_a_comment(firm, document, anonymous):
    request = ask(firm["api"], document, ["partner@example.org"])
    url = request["approvers"][0]["url"]
    for comment in (None, "   "):
        resp = decide(anonymous, url, "disapproved", comment)
        assert resp.status_code == 422 and "comment" in resp.json()["errors"]
    assert firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()["status"] == "pending"


def test_one_disapproval_settles_the_request_and_nobody_decides_after(firm, document, anonymous):
    request = ask(firm["api"], document, ["partner@example.org", "spouse@example.org"])
    partner, spouse = approver(request, "partner@example.org")["url"], approver(request, "spouse@example.org")["url"]
    assert decide(anonymous, partner, "disapproved", "Line 12 is wrong.").status_code == 200
    assert decide(anonymous, partner, "approved").status_code == 409
    assert decide(anonymous, spouse, "approved").status_code == 409
    read = firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()
    assert read["status"] == "disapproved"
    assert approver(read, "partner@example.org")["comment"] == "Line 12 is wrong."
    assert approver(read, "spouse@example.org")["status"] == "pending"


@pytest.mark.parametrize("body", [{"decision": "maybe"}, {}, {"decision": "approved", "comment": 5}],
                         ids=["unknown decision", "no decision", "comment not a string"])
def test_a_bad_decision_is_422_and_changes_nothing(firm, document, anonymous, body):
    request = ask(firm["api"], document, ["partner@example.org"])
    resp = anonymous.post(f"/api/public/links/{token(request['approvers'][0]['url'])}/approval", json=body)
    assert resp.status_code == 422, resp.text
    assert firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()["approvers"][0]["status"] == "pending"


def test_the_firms_inbox_gets_each_decision(firm, document, anonymous):
    request = ask(firm["api"], document, ["partner@example.org", "spouse@example.org"])
    decide(anonymous, approver(request, "partner@example.org")["url"], "approved")
    eventually(lambda: inbox_item(firm["api"], request) is not None, timeout=20)
    item = inbox_item(firm["api"], request)
    assert item["type"] == "approval_decided" and item["title"] == "partner@example.org approved “return.pdf”"
    decide(anonymous, approver(request, "spouse@example.org")["url"], "disapproved", "Wrong year.")
    eventually(lambda: inbox_item(firm["api"], request)["title"] == "spouse@example.org disapproved “return.pdf”",
               timeout=20)
    item = inbox_item(firm["api"], request)
    assert item["unread"] and "Wrong year." in item["body"] and item["count"] == 2


def test_a_deleted_documents_approval_link_no_longer_works(firm, document, anonymous):
    url = ask(firm["api"], document, ["partner@example.org"])["approvers"][0]["url"]
    assert firm["api"].delete(f"/api/v1/documents/{document['id']}").status_code == 204
    assert anonymous.get(f"/p/{token(url)}").status_code == 404
    assert decide(anonymous, url, "approved").status_code == 404


def test_sending_for_approval_is_422_for_bad_addresses_and_stores_nothing(firm, account, document):
    for body in ({"emails": []}, {"emails": ["a@example.org", "A@example.org"]}, {"emails": ["nobody"]}):
        resp = firm["api"].post(f"/api/v1/documents/{document['id']}/approval-requests", json=body)
        assert resp.status_code == 422 and "emails" in resp.json()["errors"], resp.text
    assert firm["api"].get(f"/api/v1/accounts/{account['id']}/approval-requests").json()["items"] == []


def test_an_approval_request_on_a_hidden_account_answers_as_an_unknown_one(
        firm, document, mailbox, anonymous, api_for):
    request = ask(firm["api"], document, ["partner@example.org"])
    emma = employee(firm, mailbox, anonymous, api_for, rights=["manage_documents"])
    hidden = emma.get(f"/api/v1/approval-requests/{request['id']}")
    unknown = emma.get(f"/api/v1/approval-requests/{uuid.uuid4()}")
    assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json()) and hidden.status_code == 404
    sent = emma.post(f"/api/v1/documents/{document['id']}/approval-requests", json={"emails": ["x@example.org"]})
    assert sent.status_code == 404


# -- the portal ----------------------------------------------------------------------------------


def test_a_portal_user_sees_and_decides_the_requests_sent_to_him(client_portal):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    document = uploaded(staff, client_portal["account"], "return.pdf", RETURN)
    mine = ask(staff, document, [client_portal["address"], "partner@example.org"])
    ask(staff, document, ["partner@example.org"])  # not his: not listed
    listed = client.get(f"{base}/approval-requests")
    assert listed.status_code == 200, listed.text
    assert [(i["id"], i["my_status"], i["document_name"]) for i in listed.json()["items"]] == [
        (mine["id"], "pending", "return.pdf")]
    decided = client.post(f"{base}/approval-requests/{mine['id']}/decision",
                          json={"decision": "disapproved", "comment": "My name is misspelt."})
    assert decided.status_code == 200, decided.text
    assert (decided.json()["my_status"], decided.json()["status"]) == ("disapproved", "disapproved")
    read = staff.get(f"/api/v1/approval-requests/{mine['id']}").json()
    assert approver(read, client_portal["address"])["decided_through"] == "portal"
    again = client.post(f"{base}/approval-requests/{mine['id']}/decision", json={"decision": "approved"})
    assert again.status_code == 409


def test_the_portal_cannot_decide_a_request_not_sent_to_him(client_portal):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    document = uploaded(staff, client_portal["account"], "return.pdf", RETURN)
    other = ask(staff, document, ["partner@example.org"])
    resp = client.post(f"{base}/approval-requests/{other['id']}/decision", json={"decision": "approved"})
    assert resp.status_code == 404
    assert staff.get(f"/api/v1/approval-requests/{other['id']}").json()["status"] == "pending"


# -- the page, in Chromium -------------------------------------------------------------------------


def test_the_approval_page_draws_the_pdf_and_disapproving_asks_for_a_comment(firm, document, mailbox, page):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    request = ask(firm["api"], document, ["partner@example.org"], message="Before we file it.")
    page.goto(link_in(mailbox.wait_for(to("partner@example.org"), timeout=20)))
    assert page.inner_text("h1") == "Acme CPA asks you to approve “return.pdf”"
    page.wait_for_selector("#document[data-pages='1'] canvas")
    assert page.locator("#document canvas").evaluate("""c => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 200) return true; return false; }""")
    page.click("#disapprove")
    assert "say in the comment" in page.inner_text("#error")
    page.fill("#comment", "Page 2 has last year's address.")
    page.click("#disapprove")
    page.wait_for_selector("#decided:has-text('You disapproved')")
    read = firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()
    assert (read["status"], read["approvers"][0]["comment"]) == ("disapproved", "Page 2 has last year's address.")
    page.reload()
    assert page.locator("#decide").is_hidden() and "You disapproved this document" in page.inner_text("#decided")
    assert violations == []


def test_approving_on_a_phone(firm, document, browser):
    request = ask(firm["api"], document, ["partner@example.org"])
    url = request["approvers"][0]["url"]
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(url)
        phone.wait_for_selector("#document[data-pages='1'] canvas")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.focus("#approve")
        phone.keyboard.press("Enter")
        phone.wait_for_selector("#decided:has-text('You approved')")
    finally:
        context.close()
    assert firm["api"].get(f"/api/v1/approval-requests/{request['id']}").json()["status"] == "approved"
