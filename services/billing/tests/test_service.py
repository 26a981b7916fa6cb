"""The billing service over RPC: a container on the run's broker, its real database; crm and links doubles."""
from __future__ import annotations

import base64
import io
import uuid

import eventlet
import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from billing.models import LedgerEntry, Payment
from shared.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed


def draft(**changes):
    return {"items": [{"description": "Tax return 2025", "quantity": 1, "unit_price": 45000},
                      {"description": "Bookkeeping hours", "quantity": 3, "unit_price": 4000}],
            "currency": "EUR", "due_date": "2026-12-31", "memo": "Thank you", **changes}


def issued(proxy, account=None, **changes):
    invoice = proxy.create_invoice(account or str(uuid.uuid4()), draft(**changes))
    return proxy.issue_invoice(invoice["id"])


def test_staff_draft_an_invoice_and_read_it_back(billing, firm):
    user = str(uuid.uuid4())
    payload = draft()
    with billing(firm, user_id=user) as proxy:
        invoice = proxy.create_invoice(str(uuid.uuid4()), payload)
        assert invoice["status"] == "draft" and invoice["number"] is None and invoice["url"] is None
        assert invoice["created_by"] == user
        assert [(i["description"], i["quantity"], i["unit_price"], i["amount"]) for i in invoice["items"]] == [
            ("Tax return 2025", 1, 45000, 45000), ("Bookkeeping hours", 3, 4000, 12000)]
        assert invoice["subtotal"] == invoice["total"] == invoice["amount_due"] == 57000
        assert invoice["amount_paid"] == invoice["amount_refunded"] == invoice["credit_applied"] == 0
        assert invoice["due_date"] == "2026-12-31" and invoice["memo"] == "Thank you"
        assert proxy.get_invoice(invoice["id"]) == invoice


def test_another_firms_invoice_and_a_malformed_id_are_not_found(billing, firm):
    with billing(firm) as proxy:
        invoice = proxy.create_invoice(str(uuid.uuid4()), draft())
    with billing(str(uuid.uuid4())) as other:
        for call in (lambda: other.get_invoice(invoice["id"]), lambda: other.issue_invoice(invoice["id"]),
                     lambda: other.invoice_pdf(invoice["id"])):
            with pytest.raises(NotFound):
                call()
    with billing(firm) as proxy, pytest.raises(NotFound):
        proxy.get_invoice("not-an-id")


def test_only_staff_bill(billing, firm):
    with billing(firm, kind="client") as proxy, pytest.raises(Forbidden):
        proxy.create_invoice(str(uuid.uuid4()), draft())
    with billing() as anonymous, pytest.raises(Unauthorized):
        anonymous.create_invoice(str(uuid.uuid4()), draft())


def test_writes_ask_crm_for_manage_billing_and_reads_for_sight(billing, firm):
    account = str(uuid.uuid4())
    with billing(firm) as proxy:
        invoice = proxy.create_invoice(account, draft())
        proxy.get_invoice(invoice["id"])
    rights = [call.kwargs.get("right") for call in billing.crm.authorize_account.call_args_list]
    assert rights == ["manage_billing", None]


def test_a_float_or_a_string_amount_is_a_validation_error(billing, firm):
    with billing(firm) as proxy:
        for price in (0.5, "45000", 450.0):
            with pytest.raises(ValidationFailed):
                proxy.create_invoice(str(uuid.uuid4()), draft(items=[{"description": "Half", "quantity": 1,
                                                                       "unit_price": price}]))
        invoice = issued(proxy)
        with pytest.raises(ValidationFailed) as refused:
            proxy.record_offline_payment(invoice["id"], {"amount": 10.0, "method": "cash"})
        assert "amount" in refused.value.errors


def test_a_currency_is_iso_4217_with_its_own_exponent(billing, firm):
    with billing(firm) as proxy:
        assert proxy.create_invoice(str(uuid.uuid4()), draft(currency="JPY"))["exponent"] == 0
        assert proxy.create_invoice(str(uuid.uuid4()), draft(currency="BHD"))["exponent"] == 3
        for code in ("ZZZ", "XAU"):  # not a currency; gold has no minor unit
            with pytest.raises(ValidationFailed) as refused:
                proxy.create_invoice(str(uuid.uuid4()), draft(currency=code))
            assert "currency" in refused.value.errors


def test_a_draft_can_be_changed_and_an_issued_invoice_cannot(billing, firm):
    with billing(firm) as proxy:
        invoice = proxy.create_invoice(str(uuid.uuid4()), draft())
        changed = proxy.update_invoice(invoice["id"], {"items": [{"description": "Audit", "quantity": 2,
                                                                  "unit_price": 100}], "memo": None})
        assert changed["total"] == 200 and changed["memo"] is None and changed["currency"] == "EUR"
        proxy.issue_invoice(invoice["id"])
        with pytest.raises(Conflict):
            proxy.update_invoice(invoice["id"], {"memo": "too late"})


def test_issuing_numbers_the_invoice_charges_it_and_gives_a_pay_link(billing, firm):
    account = str(uuid.uuid4())
    with billing(firm) as proxy:
        invoice = issued(proxy, account)
        assert invoice["number"] == 1 and invoice["display_number"] == "INV-0001" and invoice["status"] == "open"
        assert invoice["url"] is None  # a write's answer is stored for replay: no token in it
        read = proxy.get_invoice(invoice["id"])
        token = billing.links.token_of(read["link_id"])
        assert read["url"].endswith(f"/p/{token}")
        link = billing.links.links[read["link_id"]]
        assert link["kind"] == "invoice" and link["retrievable"] and link["target"] == {"type": "invoice",
                                                                                         "id": invoice["id"]}
        [charge] = proxy.list_ledger(account, {})["items"]
        assert (charge["kind"], charge["amount"], charge["invoice_id"]) == ("charge", 57000, invoice["id"])
        with pytest.raises(Conflict):
            proxy.issue_invoice(invoice["id"])


def test_numbers_are_gapless_and_increasing_when_issued_concurrently(billing, firm):
    with billing(firm) as proxy:
        drafts = [proxy.create_invoice(str(uuid.uuid4()), draft())["id"] for _ in range(12)]

    def issue(invoice_id):
        with billing(firm) as caller:
            return caller.issue_invoice(invoice_id)["number"]

    pool = eventlet.GreenPool(12)
    numbers = list(pool.imap(issue, drafts))
    assert sorted(numbers) == list(range(1, 13))
    with billing(str(uuid.uuid4())) as other:  # another firm counts from 1 on its own
        assert issued(other)["number"] == 1


def test_issuing_applies_the_accounts_credit_in_that_currency_only(billing, firm):
    account = str(uuid.uuid4())
    with billing(firm) as proxy:
        proxy.record_prepayment(account, {"amount": 20000, "currency": "EUR", "method": "bank_transfer"})
        proxy.record_prepayment(account, {"amount": 999, "currency": "USD", "method": "cash"})
        proxy.record_prepayment(str(uuid.uuid4()), {"amount": 50000, "currency": "EUR", "method": "cash"})
        invoice = issued(proxy, account)
        assert invoice["credit_applied"] == 20000 and invoice["amount_due"] == 37000
        assert invoice["status"] == "partially_paid"
        assert proxy.get_credit(account)["balances"] == [{"currency": "EUR", "amount": 0},
                                                         {"currency": "USD", "amount": 999}]
        proxy.record_prepayment(account, {"amount": 100000, "currency": "EUR", "method": "check"})
        covered = issued(proxy, account)
        assert covered["status"] == "paid" and covered["credit_applied"] == 57000 and covered["amount_due"] == 0
        assert proxy.get_credit(account)["balances"][0] == {"currency": "EUR", "amount": 43000}


def test_an_offline_payment_settles_the_invoice_and_never_more_than_is_due(billing, firm):
    with billing(firm) as proxy:
        invoice = issued(proxy)
        half = proxy.record_offline_payment(invoice["id"], {"amount": 28500, "method": "check", "reference": "#101"})
        assert (half["amount"], half["method"], half["provider"], half["refundable"]) == (28500, "check", "offline",
                                                                                          28500)
        assert proxy.get_invoice(invoice["id"])["status"] == "partially_paid"
        with pytest.raises(ValidationFailed):
            proxy.record_offline_payment(invoice["id"], {"amount": 28501, "method": "cash"})
        proxy.record_offline_payment(invoice["id"], {"amount": 28500, "method": "cash"})
        paid = proxy.get_invoice(invoice["id"])
        assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", 57000, 0)
        with pytest.raises(Conflict):
            proxy.record_offline_payment(invoice["id"], {"amount": 1, "method": "cash"})
        assert [p["amount"] for p in proxy.list_invoice_payments(invoice["id"])["items"]] == [28500, 28500]
        assert proxy.get_payment(half["id"])["reference"] == "#101"


def test_a_draft_and_a_void_invoice_take_no_payment(billing, firm):
    with billing(firm) as proxy:
        invoice = proxy.create_invoice(str(uuid.uuid4()), draft())
        with pytest.raises(Conflict):
            proxy.record_offline_payment(invoice["id"], {"amount": 1, "method": "cash"})
        proxy.issue_invoice(invoice["id"])
        voided = proxy.void_invoice(invoice["id"])
        assert voided["status"] == "void" and voided["amount_due"] == 0
        with pytest.raises(Conflict):
            proxy.record_offline_payment(invoice["id"], {"amount": 1, "method": "cash"})


def test_voiding_reverses_the_charge_and_the_link_says_so_but_not_once_paid(billing, firm):
    account = str(uuid.uuid4())
    with billing(firm) as proxy:
        invoice = issued(proxy, account)
        link_id = proxy.get_invoice(invoice["id"])["link_id"]
        token = billing.links.token_of(link_id)
        proxy.void_invoice(invoice["id"])
        assert [(e["kind"], e["amount"]) for e in proxy.list_ledger(account, {})["items"]] == [("charge", 57000),
                                                                                               ("void", 57000)]
        assert proxy.get_invoice(invoice["id"])["url"] is None
        shown = proxy.describe_invoice_link(token, "127.0.0.1")
        assert (shown["status"], shown["payable"]) == ("void", False)
        with pytest.raises(Conflict):
            proxy.void_invoice(invoice["id"])
        paid = issued(proxy, account)
        proxy.record_offline_payment(paid["id"], {"amount": 1, "method": "cash"})
        with pytest.raises(Conflict):
            proxy.void_invoice(paid["id"])


def test_refunds_never_exceed_what_was_paid_and_set_the_status(billing, firm):
    with billing(firm) as proxy:
        invoice = issued(proxy)
        payment = proxy.record_offline_payment(invoice["id"], {"amount": 57000, "method": "bank_transfer"})
        first = proxy.refund_payment(payment["id"], {"amount": 7000, "reason": "Discount"})
        assert first["refund"]["amount"] == 7000 and first["payment"]["refundable"] == 50000
        assert proxy.get_invoice(invoice["id"])["status"] == "partially_refunded"
        with pytest.raises(ValidationFailed) as refused:
            proxy.refund_payment(payment["id"], {"amount": 50001})
        assert "amount" in refused.value.errors
        proxy.refund_payment(payment["id"], {"amount": 50000})
        after = proxy.get_invoice(invoice["id"])
        assert (after["status"], after["amount_refunded"], after["amount_due"]) == ("refunded", 57000, 0)
        assert proxy.get_payment(payment["id"])["refundable"] == 0


def test_unapplied_credit_can_be_refunded_but_not_credit_already_spent(billing, firm):
    account = str(uuid.uuid4())
    with billing(firm) as proxy:
        prepaid = proxy.record_prepayment(account, {"amount": 60000, "currency": "EUR", "method": "cash"})["payment"]
        assert prepaid["invoice_id"] is None
        issued(proxy, account)  # takes 57000 of the credit
        assert proxy.get_payment(prepaid["id"])["refundable"] == 3000
        with pytest.raises(ValidationFailed):
            proxy.refund_payment(prepaid["id"], {"amount": 3001})
        proxy.refund_payment(prepaid["id"], {"amount": 3000})
        assert proxy.get_credit(account)["balances"] == [{"currency": "EUR", "amount": 0}]


def test_a_replay_answers_as_the_first_and_another_body_is_a_conflict(billing, firm):
    with billing(firm) as proxy:
        invoice = issued(proxy)
        body = {"amount": 1000, "method": "cash"}
        first = proxy.record_offline_payment(invoice["id"], body, idempotency_key="pay-1")
        assert proxy.record_offline_payment(invoice["id"], body, idempotency_key="pay-1") == first
        with pytest.raises(Conflict):
            proxy.record_offline_payment(invoice["id"], {"amount": 2000, "method": "cash"}, idempotency_key="pay-1")
        assert len(proxy.list_invoice_payments(invoice["id"])["items"]) == 1
        # a refused request keeps no key: corrected, it runs under the same key
        with pytest.raises(ValidationFailed):
            proxy.record_offline_payment(invoice["id"], {"amount": 10**9, "method": "cash"}, idempotency_key="k2")
        assert proxy.record_offline_payment(invoice["id"], {"amount": 5, "method": "cash"},
                                            idempotency_key="k2")["amount"] == 5


def test_an_issue_replayed_with_its_key_answers_the_first_issue(billing, firm):
    with billing(firm) as proxy:
        invoice = proxy.create_invoice(str(uuid.uuid4()), draft())
        first = proxy.issue_invoice(invoice["id"], idempotency_key="issue-1")
        assert proxy.issue_invoice(invoice["id"], idempotency_key="issue-1") == first
        with pytest.raises(Conflict):  # the same key for another invoice
            proxy.issue_invoice(proxy.create_invoice(str(uuid.uuid4()), draft())["id"], idempotency_key="issue-1")


def test_a_malformed_idempotency_key_is_a_validation_error(billing, firm):
    with billing(firm) as proxy:
        invoice = issued(proxy)
        for key in ("", "x" * 256, "bad\nkey"):
            with pytest.raises(ValidationFailed) as refused:
                proxy.record_offline_payment(invoice["id"], {"amount": 1, "method": "cash"}, idempotency_key=key)
            assert "idempotency_key" in refused.value.errors


def test_twenty_concurrent_copies_of_one_payment_record_one(billing, firm, engine):
    with billing(firm) as proxy:
        invoice = issued(proxy)
    body = {"amount": 1234, "method": "bank_transfer", "reference": "wire 77"}

    def pay(_):
        with billing(firm) as caller:
            return caller.record_offline_payment(invoice["id"], body, idempotency_key="same-key")

    answers = list(eventlet.GreenPool(20).imap(pay, range(20)))
    assert len({a["id"] for a in answers}) == 1
    with engine.connect() as connection:
        entries = connection.execute(select(LedgerEntry.kind).where(LedgerEntry.invoice_id == uuid.UUID(
            invoice["id"]), LedgerEntry.kind == "payment")).all()
        payments = connection.execute(select(Payment.id).where(Payment.invoice_id == uuid.UUID(invoice["id"]))).all()
    assert len(entries) == 1 and len(payments) == 1


def test_the_ledger_lists_every_entry_oldest_first_in_pages(billing, firm):
    account = str(uuid.uuid4())
    with billing(firm) as proxy:
        proxy.record_prepayment(account, {"amount": 100, "currency": "EUR", "method": "cash"})
        invoice = issued(proxy, account)
        payment = proxy.record_offline_payment(invoice["id"], {"amount": 900, "method": "cash"})
        proxy.refund_payment(payment["id"], {"amount": 50})
        first = proxy.list_ledger(account, {"limit": 2})
        rest = proxy.list_ledger(account, {"limit": 50, "cursor": first["next_cursor"]})
        kinds = [e["kind"] for e in first["items"] + rest["items"]]
        assert kinds == ["credit", "charge", "credit_applied", "payment", "refund"]
        assert rest["next_cursor"] is None
        with pytest.raises(ValidationFailed):
            proxy.list_ledger(account, {"cursor": "not-ours"})


def test_the_database_refuses_to_change_or_delete_a_ledger_entry(billing, firm, engine):
    account = str(uuid.uuid4())
    with billing(firm) as proxy:
        issued(proxy, account)
    for statement in ("UPDATE ledger_entries SET amount = 1 WHERE account_id = :a",
                      "DELETE FROM ledger_entries WHERE account_id = :a"):
        with engine.connect() as connection, pytest.raises(Exception, match="immutable"):
            connection.execute(text(statement), {"a": account})
    with engine.connect() as connection:
        assert connection.execute(text("SELECT amount FROM ledger_entries WHERE account_id = :a"),
                                  {"a": account}).scalar() == 57000


def test_the_invoice_pdf_is_made_from_the_same_data(billing, firm):
    with billing(firm) as proxy:
        invoice = issued(proxy, currency="BHD")
        document = proxy.invoice_pdf(invoice["id"])
    assert document["filename"] == "INV-0001.pdf" and document["content_type"] == "application/pdf"
    content = base64.b64decode(document["content_base64"])
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    for expected in ("Ledger & Co", "INV-0001", "Smith Family", "Tax return 2025", "BHD 45.000", "BHD 57.000",
                     "2026-12-31", "Thank you"):
        assert expected in words, expected


def test_the_pay_link_describes_the_invoice_and_says_when_it_takes_no_more(billing, firm):
    with billing(firm) as proxy:
        invoice = issued(proxy)
        token = billing.links.token_of(proxy.get_invoice(invoice["id"])["link_id"])
    with billing() as public:
        described = public.describe_invoice_link(token, "127.0.0.1")
        assert (described["amount_due"], described["payable"], described["firm_id"]) == (57000, True, firm)
        with pytest.raises(NotFound):
            public.describe_invoice_link("wrong", "127.0.0.1")
    with billing(firm) as proxy:
        proxy.record_offline_payment(invoice["id"], {"amount": 57000, "method": "cash"})
    with billing() as public:
        assert public.describe_invoice_link(token, "127.0.0.1")["payable"] is False
