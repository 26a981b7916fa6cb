"""The API docs page in Chromium: /docs loads /openapi.json and lists the operations, under its
Content-Security-Policy (its one inline script allowed by hash) without a violation."""
from __future__ import annotations


def test_the_docs_page_lists_the_operations(porta_system, page):
    failed: list[str] = []
    violations: list[str] = []
    page.on("response", lambda resp: failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None)
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(porta_system.url + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = {p.replace("\u200b", "").strip() for p in page.locator(".opblock-summary-path").all_inner_texts()}
    assert {"/api/v1/auth/signup", "/api/v1/accounts/{account_id}", "/api/public/links/{token}/files"} <= paths
    summaries = page.locator(".opblock-summary-description").all_inner_texts()
    assert "Create a firm and its owner, logged in" in summaries
    assert "Failed to load API definition" not in page.inner_text("body")
    assert failed == [] and violations == []
