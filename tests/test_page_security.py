"""Headers over the running system: pages under a strict Content-Security-Policy that no frame may
embed, nosniff on every answer, no caching of an answer that carries a token; and in Chromium, the
pages' scripts still run under that policy without one violation."""
from __future__ import annotations

import pytest

from tests.emails import token_of as token_in_link
from tests.samples import PDF, documents_of, make_request, token_of


def csp_directives(resp) -> dict[str, list[str]]:
    policy = resp.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def assert_strict_page(resp) -> None:
    assert resp.headers["Content-Type"].startswith("text/html")
    directives = csp_directives(resp)
    assert directives["default-src"] == ["'none'"], directives
    scripts = directives["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "*" not in scripts, scripts
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in resp.text, "an inline script without a hash or nonce"


@pytest.fixture
def account(firm) -> dict:
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


def test_pages_are_under_a_strict_policy_and_in_no_frame(firm, account, anonymous, client_invited):
    upload_page = anonymous.get(f"/p/{token_of(make_request(firm['api'], account))}")
    invitation_page = anonymous.get(f"/p/{token_in_link(client_invited['link'])}")
    for resp in (upload_page, invitation_page, anonymous.get("/portal"), anonymous.get("/p/no-such-link")):
        assert_strict_page(resp)
    assert upload_page.status_code == 200 and invitation_page.status_code == 200


def test_every_api_answer_says_nosniff(firm, account, anonymous):
    answers = [
        anonymous.get("/healthz"), anonymous.get("/readyz"), anonymous.get("/openapi.json"), anonymous.get("/docs"),
        anonymous.get("/nowhere"), anonymous.get("/api/v1/me"), firm["api"].get("/api/v1/me"),
        firm["api"].get(f"/api/v1/accounts/{account['id']}"), firm["api"].post("/api/v1/accounts", json={}),
        firm["api"].get("/api/v1/accounts/00000000-0000-0000-0000-000000000000"),
    ]
    for resp in answers:
        assert resp.headers["X-Content-Type-Options"] == "nosniff", (resp.url, resp.headers)


def test_answers_that_carry_a_token_are_never_stored(firm, anonymous, client_invited):
    signup = anonymous.post("/api/v1/auth/signup", json={"firm_name": "Caching CPA", "name": "C",
                                                         "email": "c-" + firm["email"], "password": "long password 1"})
    login = anonymous.post("/api/v1/auth/login", json={"email": firm["email"], "password": "correct horse battery"})
    accepted = anonymous.post(f"/api/public/invitations/{token_in_link(client_invited['link'])}",
                              json={"password": "jane's long password"})
    for resp in (signup, login, accepted):
        assert resp.ok and "token" in resp.json(), resp.text
        assert "no-store" in resp.headers["Cache-Control"], resp.headers


def test_the_upload_page_works_in_chromium_under_its_policy(firm, account, page):
    """The page's script runs (it uploads a file and says so) and the browser reports no violation."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    request = make_request(firm["api"], account)
    resp = page.goto(request["url"])
    assert "script-src" in resp.headers["content-security-policy"]
    page.set_input_files("#picker", files=[{"name": "w2.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.wait_for_selector(".file .state.ok")
    page.click("#done")
    page.wait_for_selector("#done-note:has-text('Thank you')")
    assert [d["name"] for d in documents_of(firm["api"], account)] == ["w2.pdf"]
    # An inline script (as an injected one would be) is refused and reported: the policy is in force.
    page.evaluate("""() => { const script = document.createElement("script");
                              script.textContent = "window.injected = true"; document.body.append(script); }""")
    assert page.evaluate("window.injected === undefined")
    page.wait_for_timeout(200)
    assert violations and all("inline" in text or "script" in text for text in violations), violations
    violations.clear()
    page.reload()
    page.wait_for_selector("#drop")
    page.wait_for_timeout(200)
    assert violations == []


def test_the_invitation_and_portal_pages_run_under_their_policy(client_invited, page):
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(client_invited["link"])
    page.fill("#password", "jane's long password")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal")
    page.wait_for_selector("#accounts li:has-text('Smith Family')")
    assert violations == []
