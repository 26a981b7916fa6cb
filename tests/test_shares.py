"""Shares over the whole system: staff share documents of one account with third parties; each recipient
opens his own emailed link, views PDFs and images in the browser, downloads the rest or everything as one
zip; every open and download is counted for him and is an activity entry; expiry and revoke make his link
410. The Chromium tests are in test_shares_page.py."""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.emails import link_in, to
from tests.samples import employee
from tests.share_samples import pdf_with_text, png, recipient, share, token, uploaded
from tests.waiting import eventually

RETURN = pdf_with_text("Tax return 2025")


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.fixture
def documents(firm, account):
    """A PDF, a PNG and a CSV of the account."""
    api = firm["api"]
    return [uploaded(api, account, "return.pdf", RETURN), uploaded(api, account, "scan.png", png()),
            uploaded(api, account, "figures.csv", b"item,amount\nrent,1200\n")]


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def activity(api, account) -> list[str]:
    return [e["summary"] for e in api.get("/api/v1/activity", params={"account_id": account["id"]}).json()["items"]]


def test_each_recipient_gets_an_email_of_his_own_with_his_own_link(firm, account, documents, mailbox):
    shared = share(firm["api"], documents[:1], ["banker@example.org", "lawyer@example.org"], send_email=True,
                   message="Here is the return you asked for.")
    banker = mailbox.wait_for(to("banker@example.org"), timeout=20)
    lawyer = mailbox.wait_for(to("lawyer@example.org"), timeout=20)
    assert link_in(banker) == recipient(shared, "banker@example.org")["url"]
    assert link_in(lawyer) == recipient(shared, "lawyer@example.org")["url"]
    assert link_in(banker) != link_in(lawyer)
    for message, other in ((banker, "lawyer@example.org"), (lawyer, "banker@example.org")):
        assert other not in message.as_string()
        assert message["Cc"] is None and message["Bcc"] is None
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "Here is the return you asked for." in body and "return.pdf" in body


def test_a_share_is_listed_on_its_account_with_each_recipients_link(firm, account, documents):
    shared = share(firm["api"], documents, ["banker@example.org"])
    assert shared["document_ids"] == [d["id"] for d in documents]
    resp = firm["api"].get(f"/api/v1/accounts/{account['id']}/shares")
    assert resp.status_code == 200, resp.text
    [listed] = resp.json()["items"]
    assert listed["id"] == shared["id"]
    assert listed["recipients"][0]["url"] == shared["recipients"][0]["url"]
    assert (listed["recipients"][0]["status"], listed["recipients"][0]["opens"]) == ("active", 0)


def test_the_link_shows_the_documents_and_no_other_recipient(firm, account, documents, anonymous):
    shared = share(firm["api"], documents, ["banker@example.org", "lawyer@example.org"], message="For the loan.")
    resp = anonymous.get(f"/api/public/links/{token(recipient(shared, 'banker@example.org')['url'])}")
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert (info["kind"], info["firm_name"], info["message"]) == ("share", "Acme CPA", "For the loan.")
    assert [(d["name"], d["viewable"]) for d in info["share"]["documents"]] == [
        ("return.pdf", True), ("scan.png", True), ("figures.csv", False)]
    assert "lawyer@example.org" not in resp.text
    page = anonymous.get(f"/p/{token(recipient(shared, 'banker@example.org')['url'])}")
    assert page.status_code == 200 and "lawyer@example.org" not in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"


def content(anonymous, shared_url: str, document: dict, **params):
    return anonymous.get(f"/api/public/links/{token(shared_url)}/documents/{document['id']}/content", params=params)


def test_pdfs_and_images_are_shown_inline_and_anything_else_is_a_download(firm, account, documents, anonymous):
    url = share(firm["api"], documents, ["banker@example.org"])["recipients"][0]["url"]
    pdf, image, csv = (content(anonymous, url, d, disposition="inline") for d in documents)
    assert pdf.status_code == 200 and pdf.content == RETURN
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.headers["Content-Disposition"].startswith("inline")
    assert image.headers["Content-Disposition"].startswith("inline") and image.content == png()
    assert csv.headers["Content-Disposition"].startswith("attachment") and csv.content == b"item,amount\nrent,1200\n"
    plain = content(anonymous, url, documents[0])
    assert plain.headers["Content-Disposition"].startswith("attachment")


def test_a_range_is_honoured_and_a_resumed_download_counts_once(firm, account, documents, anonymous):
    shared = share(firm["api"], documents[:1], ["banker@example.org"])
    url = shared["recipients"][0]["url"]
    first = anonymous.get(f"/api/public/links/{token(url)}/documents/{documents[0]['id']}/content",
                          headers={"Range": "bytes=0-9"})
    rest = anonymous.get(f"/api/public/links/{token(url)}/documents/{documents[0]['id']}/content",
                         headers={"Range": "bytes=10-"})
    assert (first.status_code, rest.status_code) == (206, 206)
    assert first.content + rest.content == RETURN
    assert rest.headers["Content-Range"] == f"bytes 10-{len(RETURN) - 1}/{len(RETURN)}"
    assert firm["api"].get(f"/api/v1/shares/{shared['id']}").json()["recipients"][0]["downloads"] == 1


def test_download_all_is_one_zip_of_every_document_with_its_length_known(firm, account, documents, anonymous):
    again = uploaded(firm["api"], account, "return.pdf", pdf_with_text("Amended return"))
    url = share(firm["api"], [*documents, again], ["banker@example.org"])["recipients"][0]["url"]
    resp = anonymous.get(f"/api/public/links/{token(url)}/archive")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/zip"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    assert archive.namelist() == ["return.pdf", "scan.png", "figures.csv", "return (2).pdf"]
    assert archive.read("return.pdf") == RETURN and archive.read("scan.png") == png()
    assert archive.testzip() is None


def test_every_open_and_download_is_counted_for_that_recipient_and_is_an_activity_entry(
        firm, account, documents, anonymous):
    api = firm["api"]
    shared = share(api, documents, ["banker@example.org", "lawyer@example.org"])
    banker = token(recipient(shared, "banker@example.org")["url"])
    assert anonymous.get(f"/p/{banker}").status_code == 200
    assert anonymous.get(f"/api/public/links/{banker}").status_code == 200
    assert content(anonymous, f"/p/{banker}", documents[0], disposition="inline").status_code == 200  # a view
    assert content(anonymous, f"/p/{banker}", documents[2]).status_code == 200
    assert anonymous.get(f"/api/public/links/{banker}/archive").status_code == 200
    counted = {r["email"]: r for r in api.get(f"/api/v1/shares/{shared['id']}").json()["recipients"]}
    assert (counted["banker@example.org"]["opens"], counted["banker@example.org"]["downloads"]) == (3, 2)
    assert counted["banker@example.org"]["opened_at"] is not None
    assert (counted["lawyer@example.org"]["opens"], counted["lawyer@example.org"]["downloads"]) == (0, 0)
    expected = ["banker@example.org downloaded all shared documents (zip)",
                "banker@example.org downloaded “figures.csv”", "banker@example.org viewed “return.pdf”",
                "banker@example.org opened the shared documents"]
    eventually(lambda: all(line in activity(api, account) for line in expected), timeout=20)


def expire(service_engine, recipient_id: str) -> None:
    """The clock moved past his expiry (documents keeps it; his link has none of its own)."""
    with service_engine("documents").begin() as conn:
        moved = conn.execute(text("UPDATE share_recipients SET expires_at = now() - interval '1 second' "
                                  "WHERE id = :id"), {"id": recipient_id})
        assert moved.rowcount == 1


def test_after_his_expiry_the_link_is_410_and_extending_it_brings_the_same_link_back(
        firm, account, documents, anonymous, service_engine):
    api = firm["api"]
    shared = share(api, documents[:1], [{"email": "banker@example.org", "expires_at": in_days(2)}])
    banker = shared["recipients"][0]
    expire(service_engine, banker["id"])
    link = token(banker["url"])
    for resp in (anonymous.get(f"/p/{link}"), anonymous.get(f"/api/public/links/{link}"),
                 content(anonymous, banker["url"], documents[0]), anonymous.get(f"/api/public/links/{link}/archive")):
        assert resp.status_code == 410, resp.text
    assert "This share has expired." in anonymous.get(f"/p/{token(banker['url'])}").text
    assert api.get(f"/api/v1/shares/{shared['id']}").json()["recipients"][0]["status"] == "expired"
    extended = api.patch(f"/api/v1/shares/{shared['id']}/recipients/{banker['id']}", json={"expires_at": in_days(7)})
    assert extended.status_code == 200, extended.text
    again = extended.json()["recipients"][0]
    assert (again["status"], again["url"]) == ("active", banker["url"])
    assert content(anonymous, banker["url"], documents[0]).status_code == 200


def test_shortening_a_link_to_the_past_is_refused_and_changes_nothing(firm, account, documents):
    api = firm["api"]
    shared = share(api, documents[:1], [{"email": "banker@example.org", "expires_at": in_days(2)}])
    banker = shared["recipients"][0]
    resp = api.patch(f"/api/v1/shares/{shared['id']}/recipients/{banker['id']}", json={"expires_at": in_days(-1)})
    assert resp.status_code == 422 and "expires_at" in resp.json()["errors"]
    assert api.get(f"/api/v1/shares/{shared['id']}").json()["recipients"][0]["expires_at"] == banker["expires_at"]


def test_revoking_one_recipient_stops_only_his_link(firm, account, documents, anonymous):
    api = firm["api"]
    shared = share(api, documents[:1], ["banker@example.org", "lawyer@example.org"])
    banker, lawyer = recipient(shared, "banker@example.org"), recipient(shared, "lawyer@example.org")
    revoked = api.post(f"/api/v1/shares/{shared['id']}/recipients/{banker['id']}/revoke")
    assert revoked.status_code == 200
    assert recipient(revoked.json(), "banker@example.org")["status"] == "revoked"
    assert recipient(revoked.json(), "banker@example.org")["url"] is None
    assert anonymous.get(f"/p/{token(banker['url'])}").status_code == 410
    assert content(anonymous, banker["url"], documents[0]).status_code == 410
    assert anonymous.get(f"/p/{token(lawyer['url'])}").status_code == 200
    extend = api.patch(f"/api/v1/shares/{shared['id']}/recipients/{banker['id']}", json={"expires_at": None})
    assert extend.status_code == 409


def test_revoking_the_share_stops_every_link_and_the_page_says_so(firm, account, documents, anonymous):
    api = firm["api"]
    shared = share(api, documents, ["banker@example.org", "lawyer@example.org"])
    resp = api.post(f"/api/v1/shares/{shared['id']}/revoke")
    assert resp.status_code == 200 and resp.json()["status"] == "revoked"
    for person in shared["recipients"]:
        page = anonymous.get(f"/p/{token(person['url'])}")
        assert page.status_code == 410 and "no longer valid" in page.text
        assert anonymous.get(f"/api/public/links/{token(person['url'])}/archive").status_code == 410
    assert api.post(f"/api/v1/shares/{shared['id']}/revoke").status_code == 200  # again: harmless


def test_a_deleted_document_disappears_from_the_share(firm, account, documents, anonymous):
    api = firm["api"]
    shared = share(api, documents, ["banker@example.org"])
    assert api.delete(f"/api/v1/documents/{documents[0]['id']}").status_code == 204
    assert api.get(f"/api/v1/shares/{shared['id']}").json()["document_ids"] == [d["id"] for d in documents[1:]]
    url = shared["recipients"][0]["url"]
    names = [d["name"] for d in anonymous.get(f"/api/public/links/{token(url)}").json()["share"]["documents"]]
    assert names == ["scan.png", "figures.csv"]
    assert content(anonymous, url, documents[0]).status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(anonymous.get(f"/api/public/links/{token(url)}/archive").content))
    assert archive.namelist() == ["scan.png", "figures.csv"]


def test_documents_of_two_accounts_are_never_one_share(firm, account, documents):
    api = firm["api"]
    other = api.post("/api/v1/accounts", json={"name": "Jones", "type": "individual"}).json()
    theirs = uploaded(api, other, "jones.pdf", RETURN)
    resp = api.post("/api/v1/shares", json={"document_ids": [documents[0]["id"], theirs["id"]],
                                            "recipients": [{"email": "banker@example.org"}]})
    assert resp.status_code == 422 and "document_ids" in resp.json()["errors"]
    assert api.get(f"/api/v1/accounts/{account['id']}/shares").json()["items"] == []


@pytest.mark.parametrize("body, field", [
    ({"recipients": [{"email": "a@example.org"}, {"email": "A@example.org"}]}, "recipients"),
    ({"recipients": [{"email": "a@example.org", "expires_at": "2020-01-01T00:00:00Z"}]}, "expires_at"),
    ({"recipients": [{"email": "not an address"}]}, "recipients"),
    ({"recipients": []}, "recipients"),
    ({"recipients": [{"email": "a@example.org"}], "send_email": "yes"}, "send_email"),
], ids=["same address twice", "expiry in the past", "not an address", "nobody", "send_email not a boolean"])
def test_a_bad_share_is_422_naming_the_field_and_stores_nothing(firm, account, documents, body, field):
    api = firm["api"]
    resp = api.post("/api/v1/shares", json={"document_ids": [documents[0]["id"]], **body})
    assert resp.status_code == 422, resp.text
    assert field in str(resp.json()["errors"])
    assert api.get(f"/api/v1/accounts/{account['id']}/shares").json()["items"] == []


def test_an_unknown_document_is_404(firm, account, documents):
    resp = firm["api"].post("/api/v1/shares", json={"document_ids": [documents[0]["id"], str(uuid.uuid4())],
                                                    "recipients": [{"email": "a@example.org"}]})
    assert resp.status_code == 404


def test_a_document_on_an_account_hidden_from_an_employee_answers_as_an_unknown_one(
        firm, account, documents, mailbox, anonymous, api_for):
    emma = employee(firm, mailbox, anonymous, api_for, rights=["manage_documents"])
    body = {"recipients": [{"email": "a@example.org"}]}
    hidden = emma.post("/api/v1/shares", json={"document_ids": [documents[0]["id"]], **body})
    unknown = emma.post("/api/v1/shares", json={"document_ids": [str(uuid.uuid4())], **body})
    assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json()) and hidden.status_code == 404
    shared = share(firm["api"], documents[:1], ["a@example.org"])
    for method, path, json in (("get", f"/api/v1/shares/{shared['id']}", None),
                               ("post", f"/api/v1/shares/{shared['id']}/revoke", None)):
        assert getattr(emma, method)(path, json=json).status_code == 404
    assert firm["api"].get(f"/api/v1/shares/{shared['id']}").json()["status"] == "active"
