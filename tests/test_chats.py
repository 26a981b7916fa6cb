"""Chats over the whole system, as the article describes them: a staff member starts a thread for an
account whose client activated his portal account, the client is emailed that a message waits (its
content only when the firm allows it), reads and replies in the portal, ticks his tasks; the firm's
Inbox+ follows (one item per thread, `mention`, `task_completed`); attachments live in client-visible
folders and leave the thread when deleted; nothing a message holds renders as script."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.emails import to
from tests.samples import PDF, employee
from tests.waiting import eventually


def start(staff, account, **fields):
    resp = staff.post(f"/api/v1/accounts/{account['id']}/chats", json={"subject": "Documents for 2025",
                                                                        "body": "Please send your **W-2**.", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def inbox(api, kind):
    return [item for item in api.get("/api/v1/inbox").json()["items"] if item["type"] == kind]


def body_of(message):
    return message.get_body(("plain",)).get_content()


def test_a_thread_for_an_account_without_an_activated_client_is_a_conflict(firm):
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "No Portal", "type": "individual"}).json()
    resp = api.post(f"/api/v1/accounts/{account['id']}/chats", json={"subject": "Hi", "body": "Hello"})
    assert resp.status_code == 409 and "activated portal account" in resp.json()["description"]
    assert api.get(f"/api/v1/accounts/{account['id']}/chats").json() == {"items": [], "next_cursor": None}


def test_the_client_is_emailed_replies_in_the_portal_and_the_firm_inbox_keeps_one_item(client_portal, mailbox):
    staff, client, base, account = (client_portal[k] for k in ("staff", "client", "base", "account"))
    thread = start(staff, account)
    email = mailbox.wait_for(lambda m: to(client_portal["address"])(m) and "Documents for 2025" in m["Subject"],
                             timeout=20)
    assert "W-2" not in body_of(email)  # the content stays in the portal unless the firm turns it on
    listed = client.get(f"{base}/chats").json()["items"]
    assert [(t["id"], t["unread"]) for t in listed] == [(thread["id"], 1)]
    assert client.post(f"{base}/chats/{thread['id']}/read").json()["unread"] == 0
    for text in ("Here it is", "And one more thing"):
        resp = client.post(f"{base}/chats/{thread['id']}/messages", json={"body": text})
        assert resp.status_code == 201, resp.text
    items = eventually(lambda: inbox(staff, "chat_message"), lambda found: found and found[0]["count"] == 2,
                       timeout=20)
    assert len(items) == 1 and items[0]["subject_id"] == thread["id"] and "And one more thing" in items[0]["body"]
    messages = staff.get(f"/api/v1/chats/{thread['id']}/messages").json()["items"]
    assert [m["author"]["kind"] for m in messages] == ["client", "client", "staff"]
    assert messages[2]["read_at"] is not None


def test_the_email_carries_the_message_when_the_firm_turns_content_on(client_portal, mailbox):
    staff = client_portal["staff"]
    assert staff.get("/api/v1/settings/chats").json() == {"clients_create_chats": True, "chat_email_content": False}
    assert staff.patch("/api/v1/settings/chats", json={"chat_email_content": True}).json()["chat_email_content"]
    start(staff, client_portal["account"], subject="Open me")
    email = mailbox.wait_for(lambda m: to(client_portal["address"])(m) and "Open me" in m["Subject"], timeout=20)
    assert "Please send your **W-2**." in body_of(email)


def test_clients_start_threads_only_while_the_firm_allows_it(client_portal):
    staff, client, base = client_portal["staff"], client_portal["client"], client_portal["base"]
    assert client.post(f"{base}/chats", json={"subject": "Question", "body": "Hi"}).status_code == 201
    staff.patch("/api/v1/settings/chats", json={"clients_create_chats": False})
    resp = client.post(f"{base}/chats", json={"subject": "Another", "body": "Hi"})
    assert resp.status_code == 403
    assert [t["subject"] for t in client.get(f"{base}/chats").json()["items"]] == ["Question"]


def test_a_client_ticks_tasks_and_the_firm_sees_progress_and_task_completed(client_portal):
    staff, client, base, account = (client_portal[k] for k in ("staff", "client", "base", "account"))
    thread = start(staff, account, tasks=[{"title": "Upload W-2"}, {"title": "Sign engagement letter"}])
    first = thread["tasks"][0]
    resp = client.patch(f"{base}/chats/{thread['id']}/tasks/{first['id']}", json={"done": True})
    assert resp.status_code == 200 and resp.json()["done"] is True
    assert client.get(f"{base}/tasks").json()["progress"] == {"done": 1, "total": 2}
    overview = staff.get("/api/v1/tasks", params={"account_id": account["id"], "done": "false"}).json()
    assert [t["title"] for t in overview["items"]] == ["Sign engagement letter"]
    assert overview["items"][0]["thread_progress"] == {"done": 1, "total": 2}
    [item] = eventually(lambda: inbox(staff, "task_completed"), timeout=20)
    assert item["subject_id"] == first["id"] and "Upload W-2" in item["title"]


def test_mentioning_a_team_member_puts_a_mention_in_his_inbox(client_portal, mailbox, anonymous, api_for):
    firm = {"api": client_portal["staff"], "email": client_portal["address"].removeprefix("jane-")}
    emma = employee(firm, mailbox, anonymous, api_for, client_portal["account"])
    thread = start(client_portal["staff"], client_portal["account"], body="@Emma please check the W-2")
    [message] = client_portal["staff"].get(f"/api/v1/chats/{thread['id']}/messages").json()["items"]
    assert [m["name"] for m in message["mentions"]] == ["Emma"]
    [item] = eventually(lambda: inbox(emma, "mention"), timeout=20)
    assert item["subject_id"] == message["id"]


def test_an_employee_without_the_account_does_not_find_its_threads(client_portal, mailbox, anonymous, api_for):
    firm = {"api": client_portal["staff"], "email": client_portal["address"].removeprefix("jane-")}
    outsider = employee(firm, mailbox, anonymous, api_for)
    thread = start(client_portal["staff"], client_portal["account"])
    assert outsider.get(f"/api/v1/chats/{thread['id']}").status_code == 404
    resp = outsider.post(f"/api/v1/accounts/{client_portal['account']['id']}/chats", json={"subject": "x", "body": "y"})
    assert resp.status_code == 404


class Elements(HTMLParser):
    def __init__(self, markup):
        super().__init__()
        self.found = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("body", [
    "<script>alert(document.cookie)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    '<iframe src="https://evil.example/"></iframe>', "<a href='https://x.example' onclick='alert(1)'>x</a>",
])
def test_nothing_a_message_holds_renders_as_script(client_portal, body):
    thread = start(client_portal["staff"], client_portal["account"])
    resp = client_portal["client"].post(f"{client_portal['base']}/chats/{thread['id']}/messages", json={"body": body})
    assert resp.status_code == 201
    for tag, attributes in Elements(resp.json()["body_html"]).found:
        assert tag not in {"script", "img", "iframe", "svg"}
        assert not [name for name in attributes if name.startswith("on")]
        assert not (attributes.get("href") or "").lower().startswith("javascript")
    assert resp.json()["body"] == body  # kept as written


def test_a_video_link_becomes_an_embed(client_portal):
    thread = start(client_portal["staff"], client_portal["account"], body="https://vimeo.com/76979871")
    [message] = client_portal["staff"].get(f"/api/v1/chats/{thread['id']}/messages").json()["items"]
    assert '<iframe src="https://player.vimeo.com/video/76979871"' in message["body_html"]


def test_attachments_go_into_client_visible_folders_and_a_deleted_one_leaves_the_thread(client_portal):
    staff, account = client_portal["staff"], client_portal["account"]
    folders = staff.get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]
    client_root = next(f for f in folders if f["root"] == "client")
    private_root = next(f for f in folders if f["root"] == "private")
    thread = start(staff, account)
    path = f"/api/v1/chats/{thread['id']}/attachments"
    refused = staff.post(path, params={"folder_id": private_root["id"], "filename": "w2.pdf"}, data=PDF)
    assert refused.status_code == 422 and "folder_id" in refused.json()["errors"]
    resp = staff.post(path, params={"folder_id": client_root["id"], "filename": "w2.pdf"}, data=PDF)
    assert resp.status_code == 201, resp.text
    [document_id] = resp.json()["document_ids"]
    tab = staff.get(f"/api/v1/chats/{thread['id']}/documents").json()["items"]
    assert [(d["id"], d["name"]) for d in tab] == [(document_id, "w2.pdf")]
    assert staff.get(f"/api/v1/chats/{thread['id']}").json()["documents"] == 1
    assert staff.delete(f"/api/v1/documents/{document_id}").status_code == 204
    eventually(lambda: staff.get(f"/api/v1/chats/{thread['id']}/documents").json()["items"], lambda items: items == [],
               timeout=20)
    messages = staff.get(f"/api/v1/chats/{thread['id']}/messages").json()["items"]
    assert messages[0]["document_ids"] == []


def test_a_template_with_an_unknown_shortcode_is_refused_naming_it(firm):
    resp = firm["api"].post("/api/v1/chat-templates", json={"name": "T", "subject": "[YEAR] docs", "body": "Hi"})
    assert resp.status_code == 422 and "[YEAR]" in resp.json()["errors"]["subject"][0]


def test_archive_and_unarchive(client_portal):
    staff = client_portal["staff"]
    thread = start(staff, client_portal["account"], reminders={"enabled": True})
    archived = staff.post(f"/api/v1/chats/{thread['id']}/archive").json()
    assert archived["archived"] is True and archived["reminders"]["next_at"] is None
    listed = staff.get(f"/api/v1/accounts/{client_portal['account']['id']}/chats", params={"archived": "false"})
    assert listed.json()["items"] == []
    reopened = staff.post(f"/api/v1/chats/{thread['id']}/unarchive").json()
    assert reopened["archived"] is False and reopened["reminders"]["next_at"] is not None


def test_another_firms_threads_tasks_and_templates_are_not_found(client_portal, signup):
    staff, account = client_portal["staff"], client_portal["account"]
    thread = start(staff, account, tasks=[{"title": "Theirs"}])
    task = thread["tasks"][0]["id"]
    template = staff.post("/api/v1/chat-templates", json={"name": "T", "subject": "S", "body": "B"}).json()["id"]
    folders = staff.get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]
    folder = next(f["id"] for f in folders if f["root"] == "client")
    ours = signup("Ours")["api"]
    t = f"/api/v1/chats/{thread['id']}"
    attempts = [
        ours.get(f"/api/v1/accounts/{account['id']}/chats"),
        ours.post(f"/api/v1/accounts/{account['id']}/chats", json={"subject": "Mine", "body": "Mine"}),
        ours.get(t), ours.get(f"{t}/messages"), ours.post(f"{t}/messages", json={"body": "Mine"}),
        ours.get(f"{t}/documents"), ours.post(f"{t}/tasks", json={"title": "Mine"}),
        ours.patch(f"{t}/tasks/{task}", json={"done": True}), ours.delete(f"{t}/tasks/{task}"),
        ours.put(f"{t}/reminders", json={"enabled": True}), ours.post(f"{t}/archive"), ours.post(f"{t}/unarchive"),
        ours.post(f"{t}/attachments", params={"folder_id": folder, "filename": "x.pdf"}, data=PDF),
        ours.get("/api/v1/tasks", params={"account_id": account["id"]}),
        ours.get(f"/api/v1/chat-templates/{template}"), ours.patch(f"/api/v1/chat-templates/{template}",
                                                                 json={"name": "Mine"}),
        ours.delete(f"/api/v1/chat-templates/{template}"),
    ]
    assert [resp.status_code for resp in attempts] == [404] * len(attempts)
    assert all(thread["id"] not in resp.text for resp in attempts)
    after = staff.get(t).json()
    assert (after["archived"], after["tasks"][0]["done"], after["reminders"]["enabled"]) == (False, False, False)
    assert len(staff.get(f"{t}/messages").json()["items"]) == 1
    assert staff.get(f"/api/v1/chat-templates/{template}").json()["name"] == "T"
    assert ours.get("/api/v1/tasks").json()["items"] == []
