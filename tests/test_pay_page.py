"""The pay page (/p/{token} of an invoice) as Chromium renders it: the client opens the emailed link, pays half
with the test card, then the rest; the invoice is paid, the link refuses a third payment and says so, and the
firm's Inbox+ shows both payments."""
from __future__ import annotations

import re
import time

from tests.emails import to, token_of
from tests.test_billing_payments import CARD, issued_invoice

PHONE = {"width": 375, "height": 740}


def wait_until(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("never happened")


def pay_link_in(email, anonymous) -> str:
    """The invoice's pay link among the email's links (it may also carry a portal invitation's)."""
    text = email.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://\S+/p/[A-Za-z0-9_-]+", text)
    [link] = [u for u in links if anonymous.get(f"/api/public/links/{token_of(u)}").json().get("kind") == "invoice"]
    return link


def fill_payment(page, amount: str, number: str = "4242 4242 4242 4242") -> None:
    page.fill("#amount", amount)
    page.fill("#payer_name", "Jane Smith")
    page.fill("#payer_email", "jane.payer@example.com")
    page.fill("#card_number", number)
    page.fill("#card_expiry", "12/34")
    page.fill("#card_cvc", "123")


def test_a_client_pays_an_emailed_invoice_in_two_halves_with_the_test_card(client_invited, mailbox, page, anonymous):
    api, account, address = client_invited["api"], client_invited["account"], client_invited["address"]
    invoice = issued_invoice(api, account, memo="Thank you for your business.")
    email = mailbox.wait_for(lambda m: to(address)(m) and "INV-0001" in m["Subject"], timeout=30)
    link = pay_link_in(email, anonymous)

    page.set_viewport_size(PHONE)
    page.goto(link)
    assert page.inner_text("header .firm-name") == "Acme CPA"
    assert page.inner_text("h1") == "Invoice INV-0001"
    assert "Tax return 2025" in page.inner_text("table.items") and "EUR 450.00" in page.inner_text("table.items")
    assert page.inner_text("#total") == "EUR 600.00" and page.inner_text("#due") == "EUR 600.00"
    assert "4242 4242 4242 4242" in page.inner_text("#test-hint")
    assert page.input_value("#amount") == "600.00"  # the whole amount due, to change for a part
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone

    # A declined card first: the page says so in words and nothing changes.
    fill_payment(page, "300.00", number="4000 0000 0000 0002")
    page.click("#pay-button")
    page.wait_for_selector("#error:has-text('declined')")
    assert page.inner_text("#due") == "EUR 600.00"

    # Half, with the test card.
    fill_payment(page, "300.00")
    page.click("#pay-button")
    page.wait_for_selector("#result:has-text('EUR 300.00 was received')")
    assert page.inner_text("#paid") == "EUR 300.00" and page.inner_text("#due") == "EUR 300.00"
    assert page.input_value("#amount") == "300.00"

    # The rest, from the keyboard: the CVC again, then Enter submits the form.
    page.focus("#card_cvc")
    page.keyboard.type("123")
    page.keyboard.press("Enter")
    page.wait_for_selector("#state:has-text('paid in full')")
    assert page.locator("#payment").is_hidden()
    assert page.inner_text("#due") == "EUR 0.00"

    # The link takes no more money, and says so when opened again.
    page.reload()
    assert "This invoice is paid in full" in page.inner_text("#state")
    assert page.locator("#payment").count() == 0
    third = anonymous.post(f"/api/public/links/{token_of(link)}/payment",
                           json={"amount": 100, "payer": {"name": "Jane", "email": "jane@example.com"}, "card": CARD})
    assert third.status_code == 409

    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "paid"
    payments = api.get(f"/api/v1/invoices/{invoice['id']}/payments").json()["items"]
    assert sorted(p["amount"] for p in payments) == [30000, 30000]
    received = wait_until(lambda: (found := [i for i in api.get("/api/v1/inbox").json()["items"]
                                             if i["type"] == "payment_received"]) and len(found) == 2 and found)
    assert {i["data"]["payment_id"] for i in received} == {p["id"] for p in payments}
    assert all("EUR 300.00" in i["title"] and "INV-0001" in i["title"] for i in received)


def test_a_void_invoices_page_says_it_takes_no_payment(firm, page):
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()
    invoice = issued_invoice(api, account)
    assert api.post(f"/api/v1/invoices/{invoice['id']}/void").status_code == 200
    page.goto(invoice["url"])
    assert "voided this invoice" in page.inner_text("#state")
    assert page.locator("#payment").count() == 0


def test_the_pay_page_is_private_and_scripted_from_files_only(firm, anonymous):
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()
    invoice = issued_invoice(api, account)
    resp = anonymous.get(f"/p/{token_of(invoice['url'])}")
    assert resp.status_code == 200 and "text/html" in resp.headers["Content-Type"]
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert '<script src="/static/pay.js">' in resp.text and "<script>" not in resp.text
