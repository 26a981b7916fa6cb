"""The signing page in Chromium: the PDF drawn in the page, the typed name and the consent, decline; two
signers, one of them on a phone-sized screen; expired and revoked links answer a page in plain words."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from tests.emails import token_of
from tests.signing_samples import pyhanko_validate, request_signatures, signing_link, upload_pdf
from tests.waiting import eventually

JANE, BOB = ("Jane Smith", "jane@home.example"), ("Bob Brown", "bob@bank.example")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.fixture
def phone(browser):
    """A second browser, the size of a phone, with a phone's touch and user agent."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
    yield context.new_page()
    context.close()


def drawn_pages(page) -> int:
    """How many PDF pages the page drew: the viewer's canvases, once pdf.js says it is done."""
    page.wait_for_selector("#pages[data-pages]", timeout=20000)
    return page.locator("#pages canvas").count()


def sign_in(page, name: str) -> None:
    page.fill("#signed-name", name)
    page.check("#agree")
    page.click("#sign-button")
    page.wait_for_selector("#signed-note:not([hidden])")


def test_two_signers_one_on_a_phone_sign_and_the_sealed_pdf_validates(firm, account, mailbox, page, phone,
                                                                       porta_env):
    api = firm["api"]
    pdf = upload_pdf(api, account)
    request = request_signatures(api, pdf, [JANE, BOB], message="Please sign the engagement letter.")

    page.goto(signing_link(mailbox, JANE[1]))
    assert "Acme CPA asks you to sign “engagement.pdf”" in page.inner_text("h1")
    assert "Please sign the engagement letter." in page.inner_text("#message")
    assert "Jane Smith (jane@home.example)" in page.inner_text("#who")
    assert drawn_pages(page) == 2  # the PDF itself, in the page
    page.click("#sign-button")  # nothing typed, nothing ticked: the page says what is missing
    assert "Type your name" in page.inner_text("#error")
    page.fill("#signed-name", "Jane Q. Smith")
    page.click("#sign-button")
    assert "Tick the box" in page.inner_text("#error")
    page.check("#agree")
    page.click("#sign-button")
    page.wait_for_selector("#signed-note:not([hidden])")
    assert page.locator("#sign-form").count() == 0

    phone.goto(signing_link(mailbox, BOB[1]))
    assert drawn_pages(phone) == 2
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the phone: no sideways scrolling
    canvas_width = phone.locator("#pages canvas").first.bounding_box()["width"]
    assert 0 < canvas_width <= PHONE["width"]
    sign_in(phone, "Bob Brown")

    done = eventually(lambda: api.get(f"/api/v1/signature-requests/{request['id']}").json(),
                      lambda r: r["signed_document_id"] is not None, timeout=30)
    signed_pdf = api.get(f"/api/v1/documents/{done['signed_document_id']}/content").content
    status = pyhanko_validate(signed_pdf, porta_env["PORTA_SEAL_CERT_FILE"])
    assert status.intact and status.valid and status.trusted
    evidence = " ".join(PdfReader(io.BytesIO(signed_pdf)).pages[-1].extract_text().split())
    assert "Jane Q. Smith" in evidence and "Bob Brown" in evidence and "iPhone OS 17_0" in evidence

    page.reload()  # a signer who signed still reaches his page, which says so
    assert "You signed this document" in page.inner_text("#signed-note")


def test_a_signer_declines_with_a_reason_on_the_page(firm, account, mailbox, page):
    api = firm["api"]
    request = request_signatures(api, upload_pdf(api, account), [JANE])
    page.goto(signing_link(mailbox, JANE[1]))
    page.click("#decline-box summary")
    page.click("#decline-button")
    assert "Say why" in page.inner_text("#error")
    page.fill("#reason", "The fee is not what we agreed.")
    page.click("#decline-button")
    page.wait_for_selector("#declined-note:not([hidden])")
    got = api.get(f"/api/v1/signature-requests/{request['id']}").json()
    assert got["status"] == "declined" and got["signers"][0]["decline_reason"] == "The fee is not what we agreed."
    page.reload()
    assert "no longer valid" in page.content() or "declined" in page.content()


def test_a_canceled_request_shows_a_page_in_plain_words(firm, account, mailbox, page):
    api = firm["api"]
    request = request_signatures(api, upload_pdf(api, account), [JANE])
    link = signing_link(mailbox, JANE[1])
    page.goto(link)
    assert drawn_pages(page) == 2
    api.post(f"/api/v1/signature-requests/{request['id']}/cancel")
    answer = page.goto(link)
    assert answer.status == 410
    assert "no longer valid" in page.content()
    assert page.locator("#sign-form").count() == 0


def test_an_old_link_after_a_resend_shows_a_page_in_plain_words(firm, account, mailbox, page):
    api = firm["api"]
    request = request_signatures(api, upload_pdf(api, account), [JANE])
    old = request["signers"][0]["url"]  # the link staff copy is the one emailed
    assert page.goto(old).status == 200 and drawn_pages(page) == 2
    resent = api.post(f"/api/v1/signature-requests/{request['id']}/signers/{request['signers'][0]['id']}/resend")
    assert page.goto(old).status == 410
    assert "no longer valid" in page.content()
    page.goto(resent.json()["signers"][0]["url"])
    sign_in(page, "Jane Smith")


def test_an_expired_link_shows_a_page_in_plain_words(firm, account, mailbox, page, service_engine):
    api = firm["api"]
    request = request_signatures(api, upload_pdf(api, account), [JANE])
    link = signing_link(mailbox, JANE[1])
    page.goto(link)
    assert drawn_pages(page) == 2
    signer_id = request["signers"][0]["id"]
    for service, sql in (("documents", "UPDATE signers SET expires_at = now() - interval '1 second' WHERE id = :id"),
                         ("links", "UPDATE links SET expires_at = now() - interval '1 second' "
                                   "WHERE kind = 'signature' AND target->>'id' = :id")):
        with service_engine(service).begin() as conn:
            conn.execute(text(sql), {"id": signer_id})
    # The page was open before the link ran out: signing from it now is refused in words on the page.
    page.fill("#signed-name", "Jane Smith")
    page.check("#agree")
    page.click("#sign-button")
    page.wait_for_selector("#error:has-text('expired')", timeout=10000)
    assert page.goto(link).status == 410
    assert "no longer valid" in page.content()
    assert api.get(f"/api/v1/signature-requests/{request['id']}").json()["status"] == "expired"


def test_the_page_is_private_and_loads_nothing_from_elsewhere(firm, account, mailbox, page, anonymous):
    api = firm["api"]
    request_signatures(api, upload_pdf(api, account), [JANE])
    link = signing_link(mailbox, JANE[1])
    resp = anonymous.get(f"/p/{token_of(link)}")
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(link)
    drawn_pages(page)
    base = link.split("/p/")[0]
    assert requested and all(url.startswith(base) for url in requested)
