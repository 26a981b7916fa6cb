"""The share page in Chromium: a recipient opens his emailed link, views the PDF (drawn in the page by pdf.js)
and the image, downloads everything as one zip; after his expiry, or a revoke, the page says so in plain
words. All of it under the pages' Content-Security-Policy, with no violation."""
from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import text

from tests.emails import link_in, to
from tests.share_samples import pdf_with_text, png, share, uploaded

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.fixture
def documents(firm, account):
    api = firm["api"]
    return [uploaded(api, account, "return.pdf", pdf_with_text("Tax return 2025")),
            uploaded(api, account, "scan.png", png(40, 30)),
            uploaded(api, account, "figures.csv", b"item,amount\nrent,1200\n")]


def violations_of(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found


def drawn(page, selector: str) -> bool:
    """Whether the canvas holds anything but blank pixels (pdf.js drew the page)."""
    return page.locator(selector).evaluate("""canvas => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < data.length; i += 4) if (data[i] < 200) return true;
        return false; }""")


def test_the_recipient_views_the_pdf_and_the_image_and_downloads_everything(firm, account, documents, mailbox,
                                                                             page, tmp_path):
    violations = violations_of(page)
    share(firm["api"], documents, ["banker@example.org"], send_email=True, message="For your loan file.")
    link = link_in(mailbox.wait_for(to("banker@example.org"), timeout=20))
    page.goto(link)
    assert page.inner_text("header.firm") == "Acme CPA"
    assert page.inner_text("h1") == "Acme CPA shared 3 documents with you"
    assert "For your loan file." in page.inner_text("#message")
    rows = page.locator(".document")
    assert rows.count() == 3 and rows.nth(2).locator("button.view").count() == 0  # a CSV is only downloaded
    rows.nth(0).locator("button.view").click()
    page.locator(".document").nth(0).locator("canvas").first.wait_for()
    page.wait_for_selector(".pdf-pages[data-pages='1']")
    assert drawn(page, ".document >> nth=0 >> canvas")
    assert page.locator(".document").nth(0).locator("canvas").get_attribute("aria-label") == "Page 1 of 1"
    rows.nth(1).locator("button.view").click()
    image = page.locator(".document").nth(1).locator(".viewer img")
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 40
    with page.expect_download() as download:
        page.click("#download-all")
    saved = tmp_path / "all.zip"
    download.value.save_as(saved)
    assert zipfile.ZipFile(io.BytesIO(saved.read_bytes())).namelist() == ["return.pdf", "scan.png", "figures.csv"]
    assert violations == []


def test_the_page_works_by_keyboard_at_a_phones_width(firm, account, documents, browser):
    url = share(firm["api"], documents, ["banker@example.org"])["recipients"][0]["url"]
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(url)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sideways
        phone.keyboard.press("Tab")
        assert phone.evaluate("document.activeElement.textContent") == "Skip to the content"
        phone.keyboard.press("Tab")  # download all
        phone.keyboard.press("Tab")  # View return.pdf
        assert "return.pdf" in phone.evaluate("document.activeElement.textContent")
        phone.keyboard.press("Enter")
        phone.wait_for_selector(".pdf-pages[data-pages='1']")
        assert phone.locator("button.view").first.get_attribute("aria-expanded") == "true"
        width = phone.locator(".pdf-pages canvas").evaluate("c => c.getBoundingClientRect().width")
        assert 200 < width <= PHONE["width"]
    finally:
        context.close()


def test_an_expired_link_says_so_in_plain_words(firm, account, documents, page, service_engine):
    shared = share(firm["api"], documents, [{"email": "banker@example.org",
                                             "expires_at": "2099-01-01T00:00:00Z"}])
    url = shared["recipients"][0]["url"]
    page.goto(url)
    assert "until 1 January 2099 at 00:00 UTC" in page.inner_text("#expiry")
    with service_engine("documents").begin() as conn:
        conn.execute(text("UPDATE share_recipients SET expires_at = now() - interval '1 second' WHERE id = :id"),
                     {"id": shared["recipients"][0]["id"]})
    response = page.reload()
    assert response.status == 410
    assert page.inner_text("h1") == "This link is no longer valid"
    assert page.inner_text("#reason") == "This share has expired."


def test_a_revoked_link_says_so_in_plain_words(firm, account, documents, page):
    shared = share(firm["api"], documents, ["banker@example.org"])
    page.goto(shared["recipients"][0]["url"])
    assert page.locator(".document").count() == 3
    firm["api"].post(f"/api/v1/shares/{shared['id']}/revoke")
    response = page.reload()
    assert response.status == 410
    assert page.inner_text("#reason") == "This link was revoked."
    # What was on the page before stops too: its buttons lead to 410s.
    assert page.request.get(shared["recipients"][0]["url"].replace("/p/", "/api/public/links/") + "/archive"
                            ).status == 410


def test_the_share_and_approval_pages_have_the_headers_of_every_link_page(firm, account, documents, anonymous):
    from tests.test_page_security import assert_strict_page

    shared = share(firm["api"], documents, ["banker@example.org"])["recipients"][0]["url"]
    approval = firm["api"].post(f"/api/v1/documents/{documents[0]['id']}/approval-requests",
                                json={"emails": ["partner@example.org"]}).json()["approvers"][0]["url"]
    for url in (shared, approval):
        resp = anonymous.get("/p/" + url.rsplit("/", 1)[1])
        assert resp.status_code == 200
        assert_strict_page(resp)
        assert (resp.headers["Cache-Control"], resp.headers["Referrer-Policy"], resp.headers["X-Robots-Tag"]) == (
            "no-store", "no-referrer", "noindex")
        assert '<header class="firm"><span class="firm-name">Acme CPA</span></header>' in resp.text
    inline = anonymous.get(f"/api/public/links/{shared.rsplit('/', 1)[1]}/documents/{documents[0]['id']}/content",
                           params={"disposition": "inline"})
    assert inline.headers["Referrer-Policy"] == "no-referrer" and "no-store" in inline.headers["Cache-Control"]
    assert inline.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_every_link_page_shares_one_layout_at_a_phones_width(firm, account, documents, client_invited, browser):
    """Upload, invitation, share, approval and a dead link: the firm's name on top (Porta when the link tells
    nothing), the skip link first for the keyboard, nothing wider than the phone."""
    from tests.samples import make_request

    approval = firm["api"].post(f"/api/v1/documents/{documents[0]['id']}/approval-requests",
                                json={"emails": ["partner@example.org"]}).json()["approvers"][0]["url"]
    base = approval.rsplit("/p/", 1)[0]
    pages = {"upload": make_request(firm["api"], account)["url"], "invitation": client_invited["link"],
             "share": share(firm["api"], documents, ["banker@example.org"])["recipients"][0]["url"],
             "approval": approval, "dead link": f"{base}/p/no-such-link-{'x' * 30}"}
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    phone = context.new_page()
    try:
        for name, url in pages.items():
            phone.goto(url)
            expected = "Porta" if name == "dead link" else "Acme CPA"
            assert phone.inner_text("header.firm") == expected, name
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
            phone.keyboard.press("Tab")
            assert phone.evaluate("document.activeElement.className") == "skip", name
            phone.keyboard.press("Enter")
            assert phone.evaluate("document.activeElement.id") == "content", name
    finally:
        context.close()
