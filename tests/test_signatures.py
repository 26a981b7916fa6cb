"""Signature requests over the whole system: the firm asks for signatures on a PDF, each signer signs through
his emailed link (or the portal), the sealed PDF appears beside the original and validates with pyHanko, and
`POST /api/public/verify` tells a sealed, intact PDF from a changed one. The pages are in
test_signatures_page.py."""
from __future__ import annotations

import hashlib
import http.client
import io
import os
import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from tests.emails import to, token_of
from tests.samples import PDF
from tests.signing_samples import pyhanko_validate, request_signatures, signable_pdf, signing_link, upload_pdf
from tests.waiting import eventually

JANE, BOB = ("Jane Smith", "jane@home.example"), ("Bob Brown", "bob@bank.example")


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.fixture
def pdf(firm, account):
    return upload_pdf(firm["api"], account)


def sign(anonymous, link, name="Jane Smith", agree=True, **headers):
    return anonymous.post(f"/api/public/links/{token_of(link)}/signature", json={"name": name, "agree": agree},
                          headers=headers)


def sealed_request(api, request_id):
    return eventually(lambda: api.get(f"/api/v1/signature-requests/{request_id}").json(),
                      lambda r: r["signed_document_id"] is not None, timeout=30)


def content(api, document_id) -> bytes:
    resp = api.get(f"/api/v1/documents/{document_id}/content")
    assert resp.status_code == 200, resp.text
    return resp.content


def test_a_request_answers_201_with_each_signer_pending_for_seven_days(firm, pdf, base_url):
    request = request_signatures(firm["api"], pdf, [JANE, BOB], message="Please sign by Friday.")
    assert (request["document_id"], request["status"], request["signed_document_id"]) == (pdf["id"], "pending", None)
    assert [(s["name"], s["email"], s["status"], s["signed_at"]) for s in request["signers"]] == [
        ("Jane Smith", "jane@home.example", "pending", None), ("Bob Brown", "bob@bank.example", "pending", None)]
    urls = [s["url"] for s in request["signers"]]
    assert all(url.startswith(f"{base_url}/p/") for url in urls) and len(set(urls)) == 2
    created = request["created_at"].replace("Z", "+00:00")
    for signer in request["signers"]:
        expires = datetime.fromisoformat(signer["expires_at"].replace("Z", "+00:00"))
        assert expires - datetime.fromisoformat(created) == timedelta(days=7)


def test_each_signer_is_emailed_his_own_link(firm, pdf, mailbox, anonymous):
    request_signatures(firm["api"], pdf, [JANE, BOB])
    jane, bob = signing_link(mailbox, JANE[1]), signing_link(mailbox, BOB[1])
    assert jane != bob
    info = anonymous.get(f"/api/public/links/{token_of(jane)}").json()
    assert (info["kind"], info["firm_name"], info["signature"]["signer"]["email"]) == ("signature", "Acme CPA",
                                                                                        JANE[1])
    assert BOB[1] not in str(info)  # a signer never sees another's address
    message = mailbox.wait_for(to(JANE[1]))
    assert "engagement.pdf" in message["Subject"]


def test_only_a_pdf_can_be_sent_for_signature(firm, account):
    text_file = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": "notes.pdf"},
                                 data=b"just some notes, not a PDF\n")
    assert text_file.status_code in (201, 415), text_file.text
    if text_file.status_code == 201:  # stored under its sniffed type (text), whatever its name says
        document = text_file.json()["items"][0]
        resp = firm["api"].post(f"/api/v1/documents/{document['id']}/signature-requests",
                                json={"signers": [{"name": "Jane", "email": JANE[1]}]})
        assert resp.status_code == 415, resp.text
    image = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": "scan.png"},
                             data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).json()["items"][0]
    resp = firm["api"].post(f"/api/v1/documents/{image['id']}/signature-requests",
                            json={"signers": [{"name": "Jane", "email": JANE[1]}]})
    assert resp.status_code == 415, resp.text


def test_a_pdf_without_pages_is_refused_and_nothing_is_stored(firm, account):
    [document] = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": "stub.pdf"},
                                  data=PDF).json()["items"]
    resp = firm["api"].post(f"/api/v1/documents/{document['id']}/signature-requests",
                            json={"signers": [{"name": "Jane", "email": JANE[1]}]})
    assert resp.status_code == 422 and "document_id" in resp.json()["errors"]
    assert firm["api"].get(f"/api/v1/accounts/{account['id']}/signature-requests").json()["items"] == []


@pytest.mark.parametrize("body", [{"signers": []}, {"signers": [{"name": "J", "email": "not an address"}]},
                                  {"signers": [{"name": "J", "email": "j@x.example"}, {"name": "K",
                                                                                      "email": "J@x.example"}]},
                                  {"signers": [{"email": "j@x.example"}]}, {"signers": [{"name": "J",
                                                                                      "email": "j@x.example"}],
                                                                          "reminders": "yes"}],
                         ids=["none", "bad address", "twice", "no name", "reminders not a boolean"])
def test_bad_signers_are_422_and_nothing_is_stored(firm, account, pdf, body):
    resp = firm["api"].post(f"/api/v1/documents/{pdf['id']}/signature-requests", json=body)
    assert resp.status_code == 422, resp.text
    assert firm["api"].get(f"/api/v1/accounts/{account['id']}/signature-requests").json()["items"] == []


def test_agree_must_be_true_and_a_name_typed(firm, pdf, mailbox, anonymous):
    request_signatures(firm["api"], pdf, [JANE])
    link = signing_link(mailbox, JANE[1])
    assert sign(anonymous, link, agree=False).status_code == 422
    assert sign(anonymous, link, name="   ").status_code == 422
    resp = anonymous.post(f"/api/public/links/{token_of(link)}/signature", json={"name": "Jane Smith"})
    assert resp.status_code == 422 and "agree" in resp.json()["errors"]
    assert anonymous.get(f"/api/public/links/{token_of(link)}").json()["signature"]["signer"]["status"] == "pending"


def test_when_the_last_signer_signs_a_sealed_pdf_is_written_beside_the_unchanged_original(
        firm, account, pdf, mailbox, anonymous, porta_env):
    api = firm["api"]
    original = content(api, pdf["id"])
    request = request_signatures(api, pdf, [JANE, BOB])
    jane, bob = signing_link(mailbox, JANE[1]), signing_link(mailbox, BOB[1])
    first = sign(anonymous, jane, "Jane Q. Smith", **{"User-Agent": "JaneBrowser/1.0 (iPhone)"})
    assert first.status_code == 200 and first.json()["signer"]["status"] == "signed"
    assert api.get(f"/api/v1/signature-requests/{request['id']}").json()["status"] == "pending"
    assert sign(anonymous, bob, "Bob Brown", **{"User-Agent": "BobBrowser/2.0"}).status_code == 200
    done = sealed_request(api, request["id"])
    assert done["status"] == "signed" and all(s["status"] == "signed" for s in done["signers"])
    sealed = api.get(f"/api/v1/documents/{done['signed_document_id']}").json()
    assert (sealed["name"], sealed["folder_id"], sealed["content_type"]) == ("engagement (signed).pdf",
                                                                             pdf["folder_id"], "application/pdf")
    assert content(api, pdf["id"]) == original  # the original, byte for byte
    signed_pdf = content(api, done["signed_document_id"])

    status = pyhanko_validate(signed_pdf, porta_env["PORTA_SEAL_CERT_FILE"])
    assert status.intact and status.valid and status.trusted and status.bottom_line
    pages = PdfReader(io.BytesIO(signed_pdf)).pages
    assert len(pages) == 3 and "page 1" in pages[0].extract_text()
    evidence = " ".join(pages[-1].extract_text().split())
    for expected in ("Signature evidence", "Jane Q. Smith", JANE[1], "Bob Brown", BOB[1], "JaneBrowser/1.0",
                     "BobBrowser/2.0", "127.0.0.1", hashlib.sha256(original).hexdigest(), request["id"]):
        assert expected in evidence, expected


def test_verify_says_sealed_and_intact_names_the_signers_and_a_changed_byte_is_not_intact(
        firm, pdf, mailbox, anonymous, porta_env):
    api = firm["api"]
    request = request_signatures(api, pdf, [JANE])
    sign(anonymous, signing_link(mailbox, JANE[1]), "Jane Q. Smith")
    signed_pdf = content(api, sealed_request(api, request["id"])["signed_document_id"])

    verified = anonymous.post("/api/public/verify", data=signed_pdf, headers={"Content-Type": "application/pdf"})
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert (body["sealed"], body["intact"], body["signature_request_id"]) == (True, True, request["id"])
    assert [(s["name"], s["email"]) for s in body["signers"]] == [("Jane Q. Smith", JANE[1])]

    at = signed_pdf.index(b"/Producer")  # inside the signed byte range
    changed = bytearray(signed_pdf)
    changed[at + 3] ^= 0x01
    changed = bytes(changed)
    assert not pyhanko_validate(changed, porta_env["PORTA_SEAL_CERT_FILE"]).intact
    body = anonymous.post("/api/public/verify", data=changed).json()
    assert (body["sealed"], body["intact"], body["signature_request_id"], body["signers"]) == (True, False, None,
                                                                                              None)
    appended = anonymous.post("/api/public/verify", data=signed_pdf + b"\n% appended after the seal\n").json()
    assert appended["intact"] is False


@pytest.mark.parametrize("body", [PDF, b"not a pdf at all", signable_pdf()], ids=["stub", "text", "unsigned"])
def test_verify_of_anything_not_sealed_here_is_neither(anonymous, body):
    resp = anonymous.post("/api/public/verify", data=body)
    assert resp.status_code == 200 and resp.json()["sealed"] is False and resp.json()["intact"] is False


def test_verify_refuses_an_empty_body_and_a_declared_length_over_its_limit(anonymous, base_url):
    assert anonymous.post("/api/public/verify", data=b"").status_code == 422
    # A Content-Length over 50 MB is refused before any byte is read (http.client sends the header as given).
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.putrequest("POST", "/api/public/verify")
    connection.putheader("Content-Type", "application/pdf")
    connection.putheader("Content-Length", str(50 * 1024 * 1024 + 1))
    connection.endheaders()
    connection.send(b"%PDF-1.7\n")
    assert connection.getresponse().status == 413
    connection.close()


def test_the_sealed_pdf_is_written_once_however_often_the_signed_event_comes(firm, pdf, mailbox, anonymous,
                                                                              service_engine, documents_event):
    from shared.contracts.documents import SIGNATURE_REQUEST_SIGNED

    api = firm["api"]
    request = request_signatures(api, pdf, [JANE])
    sign(anonymous, signing_link(mailbox, JANE[1]))
    done = sealed_request(api, request["id"])
    with service_engine("documents").connect() as conn:
        [event] = conn.execute(text("SELECT payload FROM outbox WHERE event_type = 'signature_request_signed' AND "
                                    "payload -> 'data' -> 'signature_request' ->> 'id' = :id"),
                               {"id": request["id"]}).scalars().all()
    for _ in range(2):  # the same event again, as a redelivery would bring it (under new ids: not deduplicated)
        documents_event(SIGNATURE_REQUEST_SIGNED, event["data"], firm_id=firm["firm"]["id"],
                        account_id=event["account_id"])
    completed = "SELECT count(*) FROM outbox WHERE event_type = 'signature_request_completed' AND " \
                "payload -> 'data' -> 'signature_request' ->> 'id' = :id"
    time.sleep(3)
    with service_engine("documents").connect() as conn:
        assert conn.scalar(text(completed), {"id": request["id"]}) == 1
        sealed_docs = conn.scalar(text("SELECT count(*) FROM documents WHERE object_key LIKE :key"),
                                  {"key": f"%/signatures/{request['id']}/%"})
    assert sealed_docs == 1
    assert api.get(f"/api/v1/signature-requests/{request['id']}").json()["signed_document_id"] == \
        done["signed_document_id"]


def test_the_firm_hears_of_a_completed_request_in_its_inbox(firm, pdf, mailbox, anonymous):
    api = firm["api"]
    request = request_signatures(api, pdf, [JANE])
    sign(anonymous, signing_link(mailbox, JANE[1]))
    item = eventually(lambda: next((i for i in api.get("/api/v1/inbox").json()["items"]
                                    if i["subject_id"] == request["id"]), None), timeout=30)
    assert item["type"] == "signature_completed" and "signed" in item["title"]


def test_a_decline_declines_the_request_closes_the_other_links_and_tells_the_firm(firm, pdf, mailbox, anonymous):
    api = firm["api"]
    request = request_signatures(api, pdf, [JANE, BOB])
    jane, bob = signing_link(mailbox, JANE[1]), signing_link(mailbox, BOB[1])
    assert anonymous.post(f"/api/public/links/{token_of(jane)}/decline", json={"reason": ""}).status_code == 422
    declined = anonymous.post(f"/api/public/links/{token_of(jane)}/decline", json={"reason": "Wrong figures."})
    assert declined.status_code == 200, declined.text
    got = api.get(f"/api/v1/signature-requests/{request['id']}").json()
    assert got["status"] == "declined" and got["signers"][0]["decline_reason"] == "Wrong figures."
    assert sign(anonymous, bob, "Bob Brown").status_code == 410
    assert anonymous.get(f"/p/{token_of(bob)}").status_code == 410
    item = eventually(lambda: next((i for i in api.get("/api/v1/inbox").json()["items"]
                                    if i["subject_id"] == request["id"]), None), timeout=30)
    assert item["type"] == "signature_declined" and "Wrong figures." in item["body"]


def test_the_201s_signer_url_opens_his_signing_page_and_after_a_resend_only_the_new_one_works(
        firm, pdf, mailbox, anonymous):
    api = firm["api"]
    request = request_signatures(api, pdf, [JANE])
    old = request["signers"][0]["url"]
    info = anonymous.get(f"/api/public/links/{token_of(old)}")
    assert info.status_code == 200, info.text
    assert (info.json()["kind"], info.json()["signature"]["signer"]["email"]) == ("signature", JANE[1])
    assert signing_link(mailbox, JANE[1]) == old  # the email carries the same link staff see
    resent = api.post(f"/api/v1/signature-requests/{request['id']}/signers/{request['signers'][0]['id']}/resend")
    assert resent.status_code == 200, resent.text
    new = resent.json()["signers"][0]["url"]
    assert new and new != old
    assert anonymous.get(f"/api/public/links/{token_of(old)}").status_code == 410
    assert anonymous.get(f"/api/public/links/{token_of(new)}").json()["kind"] == "signature"
    assert api.get(f"/api/v1/signature-requests/{request['id']}").json()["signers"][0]["url"] == new
    assert signing_link(mailbox, JANE[1], nth=2) == new
    assert sign(anonymous, new).status_code == 200


def test_a_signer_url_is_null_once_he_signed_or_the_request_is_canceled(firm, pdf, anonymous):
    api = firm["api"]
    request = request_signatures(api, pdf, [JANE, BOB])
    assert sign(anonymous, request["signers"][0]["url"]).status_code == 200
    got = api.get(f"/api/v1/signature-requests/{request['id']}").json()
    assert got["signers"][0]["url"] is None and got["signers"][1]["url"] == request["signers"][1]["url"]
    api.post(f"/api/v1/signature-requests/{request['id']}/cancel")
    listed = api.get(f"/api/v1/accounts/{pdf['account_id']}/signature-requests").json()["items"]
    assert [s["url"] for r in listed if r["id"] == request["id"] for s in r["signers"]] == [None, None]


def test_a_signing_token_is_in_no_documents_row_event_or_stored_result(firm, pdf, mailbox, service_engine):
    request = request_signatures(firm["api"], pdf, [JANE])
    resent = firm["api"].post(f"/api/v1/signature-requests/{request['id']}/signers/"
                              f"{request['signers'][0]['id']}/resend").json()
    signing_link(mailbox, JANE[1], nth=2)  # both emails went out: every event was handled
    tokens = [token_of(request["signers"][0]["url"]), token_of(resent["signers"][0]["url"])]
    with service_engine("documents").connect() as conn:
        for table in ("signers", "signature_requests", "outbox", "handled_messages"):
            rows = [row[0] for row in conn.execute(text(f'SELECT t::text FROM "{table}" t'))]
            assert not [row for row in rows for token in tokens if token in row], table


def test_resend_gives_a_fresh_link_and_the_old_one_stops(firm, pdf, mailbox, anonymous):
    api = firm["api"]
    request = request_signatures(api, pdf, [JANE])
    old = signing_link(mailbox, JANE[1])
    signer = request["signers"][0]
    resent = api.post(f"/api/v1/signature-requests/{request['id']}/signers/{signer['id']}/resend")
    assert resent.status_code == 200, resent.text
    assert resent.json()["signers"][0]["expires_at"] >= signer["expires_at"]
    assert anonymous.get(f"/api/public/links/{token_of(old)}").status_code == 410
    new = signing_link(mailbox, JANE[1], nth=2)
    assert new != old and sign(anonymous, new).status_code == 200


def test_cancel_stops_every_link_and_cannot_be_undone_by_signing(firm, pdf, mailbox, anonymous):
    api = firm["api"]
    request = request_signatures(api, pdf, [JANE])
    link = signing_link(mailbox, JANE[1])
    canceled = api.post(f"/api/v1/signature-requests/{request['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert canceled.json()["signers"][0]["status"] == "canceled"
    assert sign(anonymous, link).status_code == 410
    assert anonymous.get(f"/api/public/links/{token_of(link)}/content").status_code == 410
    assert api.post(f"/api/v1/signature-requests/{request['id']}/signers/{request['signers'][0]['id']}/resend"
                    ).status_code == 409


def test_signing_twice_is_409(firm, pdf, mailbox, anonymous):
    request_signatures(firm["api"], pdf, [JANE, BOB])
    link = signing_link(mailbox, JANE[1])
    assert sign(anonymous, link).status_code == 200
    assert sign(anonymous, link).status_code == 409


def test_an_expired_link_answers_410(firm, pdf, mailbox, anonymous, service_engine):
    request = request_signatures(firm["api"], pdf, [JANE])
    link = signing_link(mailbox, JANE[1])
    # The clock moved past the seven days instead of a sleep: where documents keeps the signer's expiry and
    # where links keeps its link's, each compared with its own clock.
    signer_id = request["signers"][0]["id"]
    for service, sql in (("documents", "UPDATE signers SET expires_at = now() - interval '1 second' WHERE id = :id"),
                         ("links", "UPDATE links SET expires_at = now() - interval '1 second' "
                                   "WHERE kind = 'signature' AND target->>'id' = :id")):
        with service_engine(service).begin() as conn:
            assert conn.execute(text(sql), {"id": signer_id}).rowcount >= 1, service
    assert anonymous.get(f"/api/public/links/{token_of(link)}").status_code == 410
    assert sign(anonymous, link).status_code == 410
    assert firm["api"].get(f"/api/v1/signature-requests/{request['id']}").json()["status"] == "expired"


def test_the_content_is_the_original_pdf(firm, pdf, mailbox, anonymous):
    request_signatures(firm["api"], pdf, [JANE])
    resp = anonymous.get(f"/api/public/links/{token_of(signing_link(mailbox, JANE[1]))}/content")
    assert resp.status_code == 200 and resp.content == content(firm["api"], pdf["id"])
    assert resp.headers["Content-Type"] == "application/pdf" and resp.headers["Cache-Control"] == "private, no-store"


def test_a_portal_user_sees_and_signs_his_request_in_the_portal(client_portal, mailbox):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    pdf = upload_pdf(staff, client_portal["account"])
    request = request_signatures(staff, pdf, [("Jane Smith", client_portal["address"]), BOB])
    [listed] = client.get(f"{base}/signature-requests").json()["items"]
    assert (listed["id"], listed["signer"]["status"]) == (request["id"], "pending")
    assert client.post(f"{base}/signature-requests/{request['id']}/signature",
                       json={"name": "Jane Smith", "agree": False}).status_code == 422
    signed = client.post(f"{base}/signature-requests/{request['id']}/signature",
                         json={"name": "Jane Smith", "agree": True})
    assert signed.status_code == 200, signed.text
    assert signed.json()["signer"]["status"] == "signed"
    got = staff.get(f"/api/v1/signature-requests/{request['id']}").json()
    assert [s["status"] for s in got["signers"]] == ["signed", "pending"]
    assert client.post(f"{base}/signature-requests/{request['id']}/signature",
                       json={"name": "Jane Smith", "agree": True}).status_code == 409


def test_a_portal_user_who_is_no_signer_does_not_see_the_request(client_portal):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    request = request_signatures(staff, upload_pdf(staff, client_portal["account"]), [BOB])
    assert client.get(f"{base}/signature-requests").json()["items"] == []
    assert client.post(f"{base}/signature-requests/{request['id']}/signature",
                       json={"name": "Jane", "agree": True}).status_code == 404
    assert client.post(f"{base}/signature-requests/{uuid.uuid4()}/signature",
                       json={"name": "Jane", "agree": True}).status_code == 404


def test_a_signer_with_notify_off_gets_no_email(client_invited, mailbox):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    api.patch(f"/api/v1/accounts/{account['id']}/access/{address}", json={"notify": False})
    before = len([m for m in mailbox.messages() if to(address)(m)])
    request_signatures(api, upload_pdf(api, account), [("Jane Smith", address), BOB])
    signing_link(mailbox, BOB[1])  # the third party's email went out...
    time.sleep(2)
    assert len([m for m in mailbox.messages() if to(address)(m)]) == before  # ...and none to Jane


def test_the_list_is_newest_first(firm, account, pdf):
    first = request_signatures(firm["api"], pdf, [JANE])
    second = request_signatures(firm["api"], pdf, [BOB])
    listed = firm["api"].get(f"/api/v1/accounts/{account['id']}/signature-requests").json()
    assert [r["id"] for r in listed["items"]] == [second["id"], first["id"]]


def test_the_run_has_a_seal_of_its_own(porta_env):
    assert os.path.exists(porta_env["PORTA_SEAL_KEY_FILE"]) and os.path.exists(porta_env["PORTA_SEAL_CERT_FILE"])
