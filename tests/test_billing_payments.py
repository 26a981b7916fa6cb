"""Paying online over the running system, with the `test` provider (a card processor in test mode: the test
run has PORTA_PAYMENTS_TEST_MODE on): the pay link's payment, declines, idempotency, the firm's payment
settings, and the client portal's invoices, payments, credit and prepayments."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
DECLINED = {**CARD, "number": "4000000000000002"}
PAYER = {"name": "Pat Payer", "email": "pat@example.com"}
ITEMS = [{"description": "Tax return 2025", "quantity": 1, "unit_price": 45000},
         {"description": "Bookkeeping hours", "quantity": 3, "unit_price": 5000}]


def issued_invoice(api, account, **changes):
    """An issued invoice of the account (total 600.00 EUR unless `items` say otherwise), read back with its url."""
    drafted = api.post(f"/api/v1/accounts/{account['id']}/invoices",
                       json={"items": ITEMS, "currency": "EUR", "due_date": "2026-12-31", **changes})
    assert drafted.status_code == 201, drafted.text
    issued = api.post(f"/api/v1/invoices/{drafted.json()['id']}/issue")
    assert issued.status_code == 200, issued.text
    invoice = api.get(f"/api/v1/invoices/{drafted.json()['id']}").json()
    assert invoice["url"], invoice
    return invoice


def token_of(invoice):
    return invoice["url"].rsplit("/p/", 1)[1]


def pay(client, invoice, amount, card=CARD, key=None, payer=PAYER):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/public/links/{token_of(invoice)}/payment",
                       json={"amount": amount, "payer": payer, "card": card}, headers=headers)


def payments_of(api, invoice):
    resp = api.get(f"/api/v1/invoices/{invoice['id']}/payments")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


# -- the pay link ----------------------------------------------------------------------------------------------


def test_the_pay_link_shows_the_invoice_and_that_the_firm_takes_test_cards(firm, account, anonymous):
    invoice = issued_invoice(firm["api"], account, memo="Thanks!")
    info = anonymous.get(f"/api/public/links/{token_of(invoice)}")
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["kind"] == "invoice" and body["firm_name"] == "Acme CPA"
    assert body["payment"] == {"provider": "test", "test_mode": True}
    shown = body["invoice"]
    assert (shown["id"], shown["total"], shown["amount_due"], shown["payable"]) == (invoice["id"], 60000, 60000, True)
    assert [i["amount"] for i in shown["items"]] == [45000, 15000] and shown["memo"] == "Thanks!"
    assert "account_id" not in shown and "created_by" not in shown  # a payer sees the invoice, not the firm's books


def test_a_payer_pays_part_with_the_test_card_and_the_firm_sees_it(firm, account, anonymous):
    api = firm["api"]
    invoice = issued_invoice(api, account)
    paid = pay(anonymous, invoice, 20000)
    assert paid.status_code == 201, paid.text
    body = paid.json()
    assert body["payment"]["amount"] == 20000 and body["payment"]["reference"] == "Card ending 4242"
    assert body["invoice"]["status"] == "partially_paid" and body["invoice"]["amount_due"] == 40000
    [recorded] = payments_of(api, invoice)
    assert (recorded["id"], recorded["method"], recorded["provider"]) == (body["payment"]["id"], "card", "test")
    assert recorded["payer"] == {"name": "Pat Payer", "email": "pat@example.com"}
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["amount_paid"] == 20000


def test_a_declined_card_is_a_402_and_nothing_is_recorded(firm, account, anonymous):
    api = firm["api"]
    invoice = issued_invoice(api, account)
    ledger_before = api.get(f"/api/v1/accounts/{account['id']}/ledger").json()["items"]
    declined = pay(anonymous, invoice, 20000, card=DECLINED)
    assert declined.status_code == 402, declined.text
    assert "declined" in declined.json()["description"]
    assert payments_of(api, invoice) == []
    assert api.get(f"/api/v1/accounts/{account['id']}/ledger").json()["items"] == ledger_before
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "open"


def test_more_than_is_due_is_a_422(firm, account, anonymous):
    invoice = issued_invoice(firm["api"], account)
    too_much = pay(anonymous, invoice, 60001)
    assert too_much.status_code == 422 and "amount" in too_much.json()["errors"]
    assert pay(anonymous, invoice, 12.5).status_code == 422  # never a float
    assert payments_of(firm["api"], invoice) == []


def test_a_paid_invoices_link_refuses_more_money_with_409(firm, account, anonymous):
    invoice = issued_invoice(firm["api"], account)
    assert pay(anonymous, invoice, 60000).json()["invoice"]["status"] == "paid"
    refused = pay(anonymous, invoice, 1)
    assert refused.status_code == 409 and "paid" in refused.json()["description"]
    shown = anonymous.get(f"/api/public/links/{token_of(invoice)}").json()["invoice"]
    assert (shown["status"], shown["payable"], shown["amount_due"]) == ("paid", False, 0)


def test_a_void_invoices_link_says_so_and_refuses_money_with_409(firm, account, anonymous):
    api = firm["api"]
    invoice = issued_invoice(api, account)
    assert api.post(f"/api/v1/invoices/{invoice['id']}/void").status_code == 200
    refused = pay(anonymous, invoice, 100)
    assert refused.status_code == 409, refused.text
    shown = anonymous.get(f"/api/public/links/{token_of(invoice)}").json()["invoice"]
    assert (shown["status"], shown["payable"]) == ("void", False)


def test_a_wrong_token_pays_nothing(anonymous_from):
    resp = anonymous_from().post("/api/public/links/not-a-real-token-at-all-000/payment",
                                 json={"amount": 100, "payer": PAYER, "card": CARD})
    assert resp.status_code == 404


def test_a_payment_without_payer_or_card_is_a_422(firm, account, anonymous):
    invoice = issued_invoice(firm["api"], account)
    url = f"/api/public/links/{token_of(invoice)}/payment"
    assert "payer" in anonymous.post(url, json={"amount": 100, "card": CARD}).json()["errors"]
    no_card = anonymous.post(url, json={"amount": 100, "payer": PAYER})
    assert no_card.status_code == 422 and "card" in no_card.json()["errors"]
    assert payments_of(firm["api"], invoice) == []


# -- idempotency ------------------------------------------------------------------------------------------------


def test_a_replayed_payment_answers_as_the_first_and_records_once(firm, account, anonymous):
    invoice = issued_invoice(firm["api"], account)
    key = str(uuid.uuid4())
    first = pay(anonymous, invoice, 10000, key=key)
    again = pay(anonymous, invoice, 10000, key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(payments_of(firm["api"], invoice)) == 1
    other = pay(anonymous, invoice, 10001, key=key)
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["description"]


def test_a_declined_attempt_leaves_its_key_free_for_the_corrected_one(firm, account, anonymous):
    invoice = issued_invoice(firm["api"], account)
    key = str(uuid.uuid4())
    assert pay(anonymous, invoice, 10000, card=DECLINED, key=key).status_code == 402
    corrected = pay(anonymous, invoice, 10000, key=key)  # another card under the same key: nothing was kept
    assert corrected.status_code == 201, corrected.text
    assert [p["id"] for p in payments_of(firm["api"], invoice)] == [corrected.json()["payment"]["id"]]


def test_concurrent_copies_of_one_payment_record_one(firm, account, base_url):
    from tests.conftest import Api

    invoice = issued_invoice(firm["api"], account)
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: pay(Api(base_url), invoice, 25000, key=key), range(10)))
    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["payment"]["id"] for a in answers}) == 1
    assert len(payments_of(firm["api"], invoice)) == 1


# -- the firm's payment settings -------------------------------------------------------------------------------


def test_payment_settings_default_to_the_test_provider_in_test_mode(firm):
    settings = firm["api"].get("/api/v1/settings/payments")
    assert settings.status_code == 200, settings.text
    body = settings.json()
    assert body["provider"] == "test" and body["test_mode"] is True
    assert body["available_providers"] == ["test", "stripe"]
    assert body["stripe"]["secret_key_set"] is False and body["stripe"]["webhook_url"].endswith("/api/webhooks/stripe")


def test_stripe_keys_are_write_only(firm):
    api = firm["api"]
    secret, webhook = "sk_test_" + uuid.uuid4().hex, "whsec_" + uuid.uuid4().hex
    put = api.put("/api/v1/settings/payments", json={"provider": "stripe", "stripe_secret_key": secret,
                                                     "stripe_webhook_secret": webhook})
    assert put.status_code == 200, put.text
    for answer in (put, api.get("/api/v1/settings/payments")):
        assert secret not in answer.text and webhook not in answer.text
        assert answer.json()["provider"] == "stripe"
        assert answer.json()["stripe"]["secret_key_set"] and answer.json()["stripe"]["webhook_secret_set"]
    # Back to the test provider: the keys are kept (left out), until given as null.
    assert api.put("/api/v1/settings/payments", json={"provider": "test"}).json()["stripe"]["secret_key_set"]
    cleared = api.put("/api/v1/settings/payments", json={"provider": "test", "stripe_secret_key": None})
    assert cleared.json()["stripe"]["secret_key_set"] is False


def test_stripe_without_its_keys_is_a_422(firm):
    resp = firm["api"].put("/api/v1/settings/payments", json={"provider": "stripe"})
    assert resp.status_code == 422 and set(resp.json()["errors"]) == {"stripe_secret_key", "stripe_webhook_secret"}
    bad = firm["api"].put("/api/v1/settings/payments", json={"provider": "stripe", "stripe_secret_key": "pk_x"})
    assert bad.status_code == 422
    assert firm["api"].get("/api/v1/settings/payments").json()["provider"] == "test"


# -- the client portal ------------------------------------------------------------------------------------------


def test_a_client_lists_issued_invoices_never_drafts(client_portal):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    account = client_portal["account"]
    invoice = issued_invoice(staff, account)
    staff.post(f"/api/v1/accounts/{account['id']}/invoices",
               json={"items": ITEMS, "currency": "EUR", "due_date": "2026-12-31"})
    listed = client.get(f"{base}/invoices")
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == [invoice["id"]]
    assert client.get(f"{base}/invoices", params={"status": "draft"}).json()["items"] == []


def test_a_client_pays_an_invoice_from_the_portal_as_himself(client_portal):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    invoice = issued_invoice(staff, client_portal["account"])
    url = f"{base}/invoices/{invoice['id']}/payments"
    paid = client.post(url, json={"amount": 60000, "card": CARD}, headers={"Idempotency-Key": "portal-1"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["invoice"]["status"] == "paid"
    [recorded] = payments_of(staff, invoice)
    assert recorded["payer"]["email"] == client_portal["address"].lower()
    assert client.post(url, json={"amount": 60000, "card": CARD}, headers={"Idempotency-Key": "portal-1"}).json() \
        == paid.json()
    assert client.post(url, json={"amount": 1, "card": CARD}).status_code == 409


def test_another_accounts_invoice_is_unknown_in_the_portal(client_portal, firm):
    other_account = client_portal["staff"].post("/api/v1/accounts", json={"name": "Other", "type": "family"}).json()
    invoice = issued_invoice(client_portal["staff"], other_account)
    resp = client_portal["client"].post(f"{client_portal['base']}/invoices/{invoice['id']}/payments",
                                        json={"amount": 100, "card": CARD})
    assert resp.status_code == 404


def test_prepayment_is_refused_while_the_portal_setting_is_off(client_portal):
    resp = client_portal["client"].post(f"{client_portal['base']}/prepayments",
                                        json={"amount": 5000, "currency": "EUR", "card": CARD})
    assert resp.status_code == 403
    assert client_portal["client"].get(f"{client_portal['base']}/credit").json()["balances"] == []


def test_a_prepayment_becomes_credit_that_the_next_invoice_uses(client_portal):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    assert staff.patch("/api/v1/settings/portal", json={"prepayment": True}).status_code == 200
    declined = client.post(f"{base}/prepayments", json={"amount": 5000, "currency": "EUR", "card": DECLINED})
    assert declined.status_code == 402
    paid = client.post(f"{base}/prepayments", json={"amount": 5000, "currency": "EUR", "card": CARD},
                       headers={"Idempotency-Key": "prepay-1"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["balances"] == [{"currency": "EUR", "amount": 5000}]
    assert client.get(f"{base}/credit").json()["balances"] == [{"currency": "EUR", "amount": 5000}]
    account = client_portal["account"]
    assert staff.get(f"/api/v1/accounts/{account['id']}/credit").json()["balances"] == \
        [{"currency": "EUR", "amount": 5000}]
    invoice = issued_invoice(staff, account)
    assert (invoice["credit_applied"], invoice["amount_due"]) == (5000, 55000)
