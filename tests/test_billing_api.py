"""Billing for staff over the running system: invoices, numbers, pay links, offline payments, refunds, credit,
the ledger, idempotency through the gateway, the PDF and the emails and Inbox+ items that follow."""
from __future__ import annotations

import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader

from tests.emails import to

ITEMS = [{"description": "Tax return 2025", "quantity": 1, "unit_price": 45000},
         {"description": "Bookkeeping hours", "quantity": 3, "unit_price": 4000}]


def draft(api, account, **changes):
    resp = api.post(f"/api/v1/accounts/{account['id']}/invoices",
                    json={"items": ITEMS, "currency": "EUR", "due_date": "2026-12-31", "memo": "Thank you",
                          **changes})
    assert resp.status_code == 201, resp.text
    return resp.json()


def issue(api, invoice, **headers):
    resp = api.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


def wait_until(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("never happened")


def test_issuing_gives_the_next_number_and_a_pay_link(firm, account):
    api = firm["api"]
    first = draft(api, account)
    assert (first["status"], first["number"], first["url"], first["total"]) == ("draft", None, None, 57000)
    issued = issue(api, first)
    assert issued["status"] == "open" and issued["number"] == 1 and issued["display_number"] == "INV-0001"
    token = issued["url"].rsplit("/p/", 1)[1]
    assert issued["url"].endswith(f"/p/{token}") and len(token) >= 22
    assert issued["url"].startswith("http")
    assert issue(api, draft(api, account))["number"] == 2
    assert api.post(f"/api/v1/invoices/{first['id']}/issue").status_code == 409
    assert api.patch(f"/api/v1/invoices/{first['id']}", json={"memo": "late"}).status_code == 409


def test_a_float_amount_is_a_422_and_nothing_is_stored(firm, account):
    api = firm["api"]
    resp = api.post(f"/api/v1/accounts/{account['id']}/invoices", json={
        "items": [{"description": "Half", "quantity": 1, "unit_price": 10.5}], "currency": "EUR",
        "due_date": "2026-12-31"})
    assert resp.status_code == 422 and "items" in resp.json()["errors"]
    assert api.get(f"/api/v1/accounts/{account['id']}/invoices").json()["items"] == []


def test_invoices_are_listed_by_status(firm, account):
    api = firm["api"]
    open_one = issue(api, draft(api, account))
    draft_one = draft(api, account)
    listed = api.get(f"/api/v1/accounts/{account['id']}/invoices", params={"status": "open"}).json()["items"]
    assert [i["id"] for i in listed] == [open_one["id"]]
    drafts = api.get(f"/api/v1/accounts/{account['id']}/invoices", params={"status": "draft"}).json()["items"]
    assert [i["id"] for i in drafts] == [draft_one["id"]]
    assert api.get(f"/api/v1/accounts/{account['id']}/invoices", params={"status": "nope"}).status_code == 422


def test_offline_payments_refunds_and_the_ledger(firm, account):
    api = firm["api"]
    invoice = issue(api, draft(api, account))
    paid = api.post(f"/api/v1/invoices/{invoice['id']}/payments", json={"amount": 57000, "method": "check",
                                                                       "reference": "#1001"})
    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "paid"
    assert api.post(f"/api/v1/invoices/{invoice['id']}/payments", json={"amount": 1, "method": "cash"}
                    ).status_code == 409
    too_much = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 57001})
    assert too_much.status_code == 422 and "amount" in too_much.json()["errors"]
    refund = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 7000, "reason": "Goodwill"})
    assert refund.status_code == 201 and refund.json()["payment"]["refundable"] == 50000
    after = api.get(f"/api/v1/invoices/{invoice['id']}").json()
    assert (after["status"], after["amount_refunded"]) == ("partially_refunded", 7000)
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["amount_refunded"] == 7000
    assert [p["id"] for p in api.get(f"/api/v1/invoices/{invoice['id']}/payments").json()["items"]] == [payment["id"]]
    ledger = api.get(f"/api/v1/accounts/{account['id']}/ledger").json()["items"]
    assert [(e["kind"], e["amount"]) for e in ledger] == [("charge", 57000), ("payment", 57000), ("refund", 7000)]


def test_prepaid_credit_is_applied_when_issuing(firm, account):
    api = firm["api"]
    credit = api.post(f"/api/v1/accounts/{account['id']}/credit", json={"amount": 20000, "currency": "EUR",
                                                                        "method": "bank_transfer"})
    assert credit.status_code == 201, credit.text
    assert credit.json()["balances"] == [{"currency": "EUR", "amount": 20000}]
    invoice = issue(api, draft(api, account))
    assert (invoice["credit_applied"], invoice["amount_due"], invoice["status"]) == (20000, 37000, "partially_paid")
    assert api.get(f"/api/v1/accounts/{account['id']}/credit").json()["balances"] == [{"currency": "EUR",
                                                                                       "amount": 0}]


def test_a_voided_invoices_link_says_so_and_takes_no_money(firm, account, anonymous):
    api = firm["api"]
    invoice = issue(api, draft(api, account))
    token = invoice["url"].rsplit("/p/", 1)[1]
    voided = api.post(f"/api/v1/invoices/{invoice['id']}/void")
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    shown = anonymous.get(f"/api/public/links/{token}")
    assert shown.status_code == 200 and shown.json()["invoice"]["status"] == "void"
    paid = anonymous.post(f"/api/public/links/{token}/payment", json={
        "amount": 100, "payer": {"name": "Pat", "email": "pat@example.com"},
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}})
    assert paid.status_code == 409, paid.text
    assert api.post(f"/api/v1/invoices/{invoice['id']}/void").status_code == 409


def test_a_replay_returns_the_first_answer_and_another_body_is_a_409(firm, account):
    api = firm["api"]
    invoice = issue(api, draft(api, account))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount": 1000, "method": "cash"}
    first = api.post(f"/api/v1/invoices/{invoice['id']}/payments", json=body, headers=key)
    again = api.post(f"/api/v1/invoices/{invoice['id']}/payments", json=body, headers=key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = api.post(f"/api/v1/invoices/{invoice['id']}/payments", json={"amount": 2000, "method": "cash"},
                     headers=key)
    assert other.status_code == 409
    assert len(api.get(f"/api/v1/invoices/{invoice['id']}/payments").json()["items"]) == 1


def test_twenty_concurrent_copies_of_one_payment_with_one_key_record_one_payment(firm, account, api_for):
    api = firm["api"]
    invoice = issue(api, draft(api, account))
    key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
    body = {"amount": 25000, "method": "bank_transfer", "reference": "wire 42"}

    def pay(_):
        return api_for(firm["token"]).post(f"/api/v1/invoices/{invoice['id']}/payments", json=body, headers=key)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(pay, range(20)))
    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(api.get(f"/api/v1/invoices/{invoice['id']}/payments").json()["items"]) == 1
    ledger = api.get(f"/api/v1/accounts/{account['id']}/ledger").json()["items"]
    assert [e["kind"] for e in ledger].count("payment") == 1
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["amount_paid"] == 25000


def test_the_invoice_pdf_is_served_from_the_same_data(firm, account):
    api = firm["api"]
    invoice = issue(api, draft(api, account, currency="JPY", items=[{"description": "Consulting", "quantity": 2,
                                                                      "unit_price": 15000}]))
    resp = api.get(f"/api/v1/invoices/{invoice['id']}/pdf")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.content)).pages)
    for expected in ("INV-0001", "Smith Family", "Consulting", "JPY 15,000", "JPY 30,000"):
        assert expected in text, expected


def test_the_client_gets_the_invoice_email_with_its_link_and_pdf_and_staff_hear_of_payments(client_invited,
                                                                                            mailbox):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    invoice = issue(api, draft(api, account))
    message = mailbox.wait_for(lambda m: to(address)(m) and "INV-0001" in m["Subject"], timeout=30)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert invoice["url"] in text and "EUR 570.00" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "INV-0001.pdf" and attachment.get_content_type() == "application/pdf"
    assert "Tax return 2025" in PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    api.post(f"/api/v1/invoices/{invoice['id']}/payments", json={"amount": 20000, "method": "cash"})
    receipt = mailbox.wait_for(lambda m: to(address)(m) and "received your payment" in m["Subject"], timeout=30)
    assert "EUR 200.00" in receipt["Subject"]
    items = wait_until(lambda: [i for i in api.get("/api/v1/inbox").json()["items"] if i["type"] == "payment_received"])
    assert "EUR 200.00" in items[0]["title"] and "INV-0001" in items[0]["title"]


def test_a_client_who_turned_invoice_emails_off_gets_none(client_invited, mailbox):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    resp = api.put(f"/api/v1/accounts/{account['id']}/access/{address}/notifications",
                   json={"categories": {"invoices_payments": False}})
    assert resp.status_code == 200, resp.text
    other = "bob-" + address  # a second client address of the account, NOTIFY on
    bob = api.post("/api/v1/contacts", json={"first_name": "Bob", "last_name": "Smith", "emails": [other]}).json()
    api.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": bob["id"]})
    assert api.patch(f"/api/v1/accounts/{account['id']}/access/{other}", json={"notify": True}).status_code == 200
    issue(api, draft(api, account))
    mailbox.wait_for(lambda m: to(other)(m) and "INV-0001" in m["Subject"], timeout=30)  # both were decided at once
    assert not [m for m in mailbox.messages() if m["To"] == address and "INV-0001" in m["Subject"]]
