"""The Stripe path end to end: the firm's keys, a Checkout Session created through the `stripe` package against a
stand-in for Stripe's API that this module starts (the run's PORTA_STRIPE_API_BASE points billing's
`stripe.api_base` at it), and Stripe's webhook, signed with Stripe's own scheme
(`stripe.WebhookSignature.generate_signature_header`): recorded once when correctly signed, refused (400,
nothing recorded) when not."""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from tests.test_billing_payments import PAYER, issued_invoice, payments_of, token_of

REVOKED_KEY = "sk_test_revoked0000000000"


def form_to_tree(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`line_items[0][price_data][currency]=eur`) back into nested dicts."""
    tree: dict = {}
    for name, value in pairs:
        parts = name.replace("]", "").split("[")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


class StripeStandIn(ThreadingHTTPServer):
    """Answers `POST /v1/checkout/sessions` as Stripe's API does (the fields billing reads), remembering each
    request; a key named REVOKED_KEY gets Stripe's 401."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), StripeHandler)
        self.requests: list[dict] = []
        self.sessions: dict[str, dict] = {}


class StripeHandler(BaseHTTPRequestHandler):
    server: StripeStandIn

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        form = form_to_tree(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()))
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        self.server.requests.append({"path": urlsplit(self.path).path, "key": key, "form": form,
                                     "idempotency_key": self.headers.get("Idempotency-Key")})
        if key == REVOKED_KEY:
            self._answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
            return
        if urlsplit(self.path).path != "/v1/checkout/sessions":
            self._answer(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}})
            return
        item = form["line_items"]["0"]
        session_id = f"cs_test_{uuid.uuid4().hex}"
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
            "payment_status": "unpaid", "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "amount_total": int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
            "currency": item["price_data"]["currency"], "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"), "metadata": form.get("metadata", {}),
            "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
        }
        self.server.sessions[session_id] = session
        self._answer(200, session)


@pytest.fixture(scope="module")
def stripe_api(porta_system):
    """The stand-in, on the port of the run's PORTA_STRIPE_API_BASE."""
    server = StripeStandIn(urlsplit(os.environ["PORTA_STRIPE_API_BASE"]).port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_firm(firm):
    """A firm paid through Stripe: its secret key and webhook signing secret stored."""
    keys = {"stripe_secret_key": f"sk_test_{uuid.uuid4().hex}", "stripe_webhook_secret": f"whsec_{uuid.uuid4().hex}"}
    resp = firm["api"].put("/api/v1/settings/payments", json={"provider": "stripe", **keys})
    assert resp.status_code == 200, resp.text
    return {**firm, **keys}


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


def start_checkout(client, invoice, amount, key=None):
    resp = client.post(f"/api/public/links/{token_of(invoice)}/payment", json={"amount": amount, "payer": PAYER},
                       headers={"Idempotency-Key": key} if key else {})
    assert resp.status_code == 201, resp.text
    return resp.json()


def completed(stripe_api, checkout_url, **changes):
    """Stripe's `checkout.session.completed` event for the session behind `checkout_url`, as JSON text."""
    session = {**stripe_api.sessions[checkout_url.rsplit("/", 1)[1]], "status": "complete",
               "payment_status": "paid", "payment_intent": f"pi_{uuid.uuid4().hex[:24]}", **changes}
    return json.dumps({"id": f"evt_{uuid.uuid4().hex}", "object": "event", "api_version": "2025-01-27",
                       "created": int(time.time()), "type": "checkout.session.completed", "livemode": False,
                       "data": {"object": session}})


def deliver(client, payload, secret=None, header=None):
    """POST the event as Stripe does: the raw body and its Stripe-Signature header."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    signature = header if header is not None else stripe.WebhookSignature.generate_signature_header(payload, secret)
    if signature:
        headers["Stripe-Signature"] = signature
    return client.post("/api/webhooks/stripe", data=payload.encode(), headers=headers)


def test_paying_with_stripe_answers_its_checkout_page_and_records_nothing_yet(stripe_api, stripe_firm, account,
                                                                              anonymous):
    invoice = issued_invoice(stripe_firm["api"], account)
    info = anonymous.get(f"/api/public/links/{token_of(invoice)}").json()
    assert info["payment"]["provider"] == "stripe"
    answer = start_checkout(anonymous, invoice, 20000)
    assert set(answer) >= {"checkout_url"} and answer["checkout_url"].startswith("https://checkout.stripe.test/")
    assert answer.get("payment") is None
    sent = stripe_api.requests[-1]
    assert sent["path"] == "/v1/checkout/sessions" and sent["key"] == stripe_firm["stripe_secret_key"]
    assert sent["form"]["line_items"]["0"]["price_data"]["unit_amount"] == "20000"
    assert sent["form"]["line_items"]["0"]["price_data"]["currency"] == "eur"
    assert sent["form"]["metadata"]["porta_invoice_id"] == invoice["id"]
    assert sent["form"]["success_url"].endswith(f"/p/{token_of(invoice)}?checkout=complete")
    assert sent["idempotency_key"]  # a retried create is the same session at Stripe
    assert payments_of(stripe_firm["api"], invoice) == []
    assert stripe_firm["api"].get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "open"


def test_a_correctly_signed_webhook_records_the_payment_once(stripe_api, stripe_firm, account, anonymous):
    api = stripe_firm["api"]
    invoice = issued_invoice(api, account)
    payload = completed(stripe_api, start_checkout(anonymous, invoice, 20000)["checkout_url"])
    first = deliver(anonymous, payload, stripe_firm["stripe_webhook_secret"])
    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "recorded": True}
    [payment] = payments_of(api, invoice)
    session_id = json.loads(payload)["data"]["object"]["id"]
    assert (payment["provider"], payment["provider_ref"], payment["amount"]) == ("stripe", session_id, 20000)
    assert payment["payer"]["email"] == PAYER["email"]
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["amount_due"] == 40000
    # Stripe redelivers (a timeout on its side, a retry): answered, never recorded again, also all at once.
    with ThreadPoolExecutor(max_workers=4) as pool:
        again = list(pool.map(lambda _: deliver(anonymous, payload, stripe_firm["stripe_webhook_secret"]), range(4)))
    assert [a.json() for a in again] == [{"received": True, "recorded": False}] * 4
    assert len(payments_of(api, invoice)) == 1


@pytest.mark.parametrize("forgery", ["another secret", "another body", "no signature", "stale signature"])
def test_a_wrongly_signed_webhook_is_a_400_and_records_nothing(stripe_api, stripe_firm, account, anonymous, forgery):
    api = stripe_firm["api"]
    invoice = issued_invoice(api, account)
    payload = completed(stripe_api, start_checkout(anonymous, invoice, 20000)["checkout_url"])
    secret = stripe_firm["stripe_webhook_secret"]
    if forgery == "another secret":
        resp = deliver(anonymous, payload, f"whsec_{uuid.uuid4().hex}")
    elif forgery == "another body":  # signed, then the amount raised
        header = stripe.WebhookSignature.generate_signature_header(payload, secret)
        resp = deliver(anonymous, payload.replace('"amount_total": 20000', '"amount_total": 60000'), header=header)
    elif forgery == "no signature":
        resp = deliver(anonymous, payload, header="")
    else:
        stale = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=int(time.time()) - 3600)
        resp = deliver(anonymous, payload, header=stale)
    assert resp.status_code == 400, resp.text
    assert payments_of(api, invoice) == []
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "open"
    assert deliver(anonymous, payload, secret).json()["recorded"] is True  # the genuine one still counts


def test_a_webhook_naming_no_payment_of_ours_is_a_400(stripe_api, anonymous):
    payload = json.dumps({"id": "evt_x", "object": "event", "type": "checkout.session.completed",
                          "data": {"object": {"id": "cs_test_unknown", "object": "checkout.session"}}})
    assert deliver(anonymous, payload, "whsec_whatever0000").status_code == 400
    assert anonymous.post("/api/webhooks/stripe", data=b"\xff\xfe", headers={"Stripe-Signature": "t=1"}).status_code \
        == 400


def test_money_that_arrives_after_the_invoice_was_paid_becomes_credit(stripe_api, stripe_firm, account, anonymous):
    api = stripe_firm["api"]
    invoice = issued_invoice(api, account)
    payload = completed(stripe_api, start_checkout(anonymous, invoice, 60000)["checkout_url"])
    offline = api.post(f"/api/v1/invoices/{invoice['id']}/payments", json={"amount": 60000, "method": "check"})
    assert offline.status_code == 201, offline.text
    assert deliver(anonymous, payload, stripe_firm["stripe_webhook_secret"]).json()["recorded"] is True
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["amount_paid"] == 60000  # never beyond its total
    assert api.get(f"/api/v1/accounts/{account['id']}/credit").json()["balances"] == \
        [{"currency": "EUR", "amount": 60000}]


def test_keys_stripe_refuses_are_a_409_and_record_nothing(stripe_api, firm, account, anonymous):
    api = firm["api"]
    assert api.put("/api/v1/settings/payments", json={
        "provider": "stripe", "stripe_secret_key": REVOKED_KEY, "stripe_webhook_secret": "whsec_0000000000"}
    ).status_code == 200
    invoice = issued_invoice(api, account)
    resp = anonymous.post(f"/api/public/links/{token_of(invoice)}/payment", json={"amount": 100, "payer": PAYER})
    assert resp.status_code == 409 and "Stripe" in resp.json()["description"]
    assert payments_of(api, invoice) == []
