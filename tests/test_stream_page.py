"""The portal's chat page in Chromium: a client sees a staff message arrive without reloading (the stream),
replies, and ticks a task; staff see both through the API."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.waiting import eventually


def test_a_client_sees_a_message_arrive_live_replies_and_ticks_a_task(client_portal, page, base_url):
    staff, account = client_portal["staff"], client_portal["account"]
    thread = staff.post(f"/api/v1/accounts/{account['id']}/chats", json={
        "subject": "Your 2026 return", "body": "Welcome to your chat", "tasks": [{"title": "Upload your W-2"}]}).json()
    token = client_portal["client"].session.headers["Authorization"].split()[1]
    page.goto(base_url + "/portal")
    page.evaluate("token => sessionStorage.setItem('porta_token', token)", token)
    page.goto(f"{base_url}/portal/accounts/{account['id']}/chats/{thread['id']}")
    expect(page.locator("h1")).to_have_text("Your 2026 return")
    expect(page.locator("#messages")).to_contain_text("Welcome to your chat")
    expect(page.locator("#live")).to_have_text("Live")
    page.evaluate("window.notReloaded = true")

    staff.post(f"/api/v1/chats/{thread['id']}/messages", json={"body": "Did you find the **W-2**?"})
    expect(page.locator("#messages li").last).to_contain_text("Did you find the W-2?")
    expect(page.locator("#messages li strong")).to_have_text("W-2")
    assert page.evaluate("window.notReloaded") is True

    page.fill("#body", "Yes, it is on its way")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages li").last).to_contain_text("Yes, it is on its way")
    replies = eventually(lambda: staff.get(f"/api/v1/chats/{thread['id']}/messages").json()["items"],
                         lambda items: items and items[0]["body"] == "Yes, it is on its way")
    assert replies[0]["author"]["kind"] == "client"

    page.get_by_label("Upload your W-2").check()
    eventually(lambda: staff.get(f"/api/v1/chats/{thread['id']}").json()["tasks"],
               lambda tasks: tasks[0]["done"] is True)
    expect(page.get_by_label("Upload your W-2")).to_be_checked()
