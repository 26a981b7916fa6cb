"""The chats service over RPC: a container on the run's broker, its real database, crm and documents as
doubles (conftest.start_chats), and a clock the test moves."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text

from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed


def events_of(engine: Engine, thread_id: str) -> list[dict[str, Any]]:
    """The outbox events about one thread, in the order they were written."""
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT payload FROM outbox WHERE payload->'data'->'thread'->>'id' = :id "
            "OR payload->'data'->>'thread_id' = :id ORDER BY created_at, id"), {"id": thread_id}).scalars())


def start_thread(proxy: Any, account_id: Any, **fields: Any) -> dict:
    return proxy.start_thread(str(account_id), {"subject": "Documents for 2025", "body": "Hello **Jane**", **fields})


def test_staff_start_a_thread_with_tasks_and_reminders(start_chats, known):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id, tasks=[{"title": "Upload your W-2"}],
                              reminders={"enabled": True})
        assert thread["subject"] == "Documents for 2025" and thread["account_id"] == str(running.account_id)
        assert [t["title"] for t in thread["tasks"]] == ["Upload your W-2"]
        assert thread["reminders"] == {"enabled": True, "days": 3, "count": 1, "sent": 0,
                                       "next_at": "2026-11-26T09:00:00Z"}
        assert thread["archived"] is False and thread["unread"] == 0
        assert thread["last_message_at"] == "2026-11-23T09:00:00Z"
        assert proxy.get_thread(thread["id"]) == thread
        [message] = proxy.list_messages(thread["id"], {})["items"]
    assert message["body_html"] == "<p>Hello <strong>Jane</strong></p>\n"
    assert message["author"] == {"kind": "staff", "id": str(known.STAFF_ID), "name": "Sam Staff"}


def test_a_thread_for_an_account_without_an_activated_client_is_a_conflict(start_chats, known, chats_engine):
    running = start_chats()
    known.crm_answers(running.crm, running.account_id, clients=False)
    with running.as_user() as proxy, pytest.raises(Conflict) as refused:
        start_thread(proxy, running.account_id)
    assert "activated portal account" in str(refused.value)


def test_starting_a_thread_announces_it_and_its_message_with_whom_to_email(start_chats, chats_engine, known):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id, body="Ping @Ann Lee")
    started, posted = events_of(chats_engine, thread["id"])
    assert (started["type"], posted["type"]) == ("thread_started", "message_posted")
    assert posted["firm_id"] == str(running.firm_id) and posted["account_id"] == str(running.account_id)
    assert posted["actor"] == {"id": str(known.STAFF_ID), "kind": "staff"}
    assert posted["data"]["message"]["mentions"] == [{"id": str(known.ANN_ID), "name": "Ann Lee"}]
    assert posted["data"]["client_email"] == {
        "firm_name": "Acme Tax", "account_name": "Smith Family", "email_content": False,
        "recipients": [{"user_id": str(known.CLIENT_ID), "email": "jane@example.com", "first_name": "Jane"}]}


def test_another_firms_thread_and_a_malformed_id_are_not_found(start_chats):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id)
    running.firm_id, firm = uuid.uuid4(), running.firm_id
    with running.as_user() as other, pytest.raises(NotFound):
        other.get_thread(thread["id"])
    running.firm_id = firm
    with running.as_user() as proxy, pytest.raises(NotFound):
        proxy.get_thread("not-an-id")


def test_a_portal_path_naming_another_account_does_not_find_the_thread(start_chats, known):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id)
    known.as_client(running.crm)
    with running.as_user("client") as client, pytest.raises(NotFound):
        client.list_messages(thread["id"], {}, account_id=str(uuid.uuid4()))


def test_a_client_starts_a_thread_only_while_the_firm_lets_clients(start_chats, known):
    running = start_chats()
    known.as_client(running.crm, clients_create_chats=False)
    with running.as_user("client") as client, pytest.raises(Forbidden):
        client.start_thread(str(running.account_id), {"subject": "Question", "body": "Hi"})
    known.as_client(running.crm, clients_create_chats=True)
    with running.as_user("client") as client:
        thread = client.start_thread(str(running.account_id), {"subject": "Question", "body": "Hi"})
    assert thread["created_by"]["kind"] == "client" and thread["reminders"]["enabled"] is False


def test_a_client_reply_and_read_show_as_unread_and_read_on_each_side(start_chats, known):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id)
    known.as_client(running.crm)
    with running.as_user("client") as client:
        assert client.get_thread(thread["id"], account_id=str(running.account_id))["unread"] == 1
        running.clock.advance(hours=1)
        client.post_message(thread["id"], {"body": "Thanks!"}, account_id=str(running.account_id))
        assert client.get_thread(thread["id"], account_id=str(running.account_id))["unread"] == 0
    known.crm_answers(running.crm, running.account_id)
    with running.as_user() as proxy:
        assert proxy.get_thread(thread["id"])["unread"] == 1
        messages = proxy.list_messages(thread["id"], {})["items"]
        assert proxy.get_thread(thread["id"])["unread"] == 0
    assert [m["body"] for m in messages] == ["Thanks!", "Hello **Jane**"]
    assert messages[1]["read_at"] == "2026-11-23T10:00:00Z"


def test_a_client_ticks_a_task_and_the_change_is_announced(start_chats, known, chats_engine):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id, tasks=[{"title": "Sign"}, {"title": "Pay"}])
    task_id = thread["tasks"][0]["id"]
    known.as_client(running.crm)
    with running.as_user("client") as client:
        with pytest.raises(ValidationFailed):
            client.update_task(thread["id"], task_id, {"title": "Renamed"}, account_id=str(running.account_id))
        task = client.update_task(thread["id"], task_id, {"done": True}, account_id=str(running.account_id))
        overview = client.list_tasks({}, account_id=str(running.account_id))
    assert task["done"] is True and task["done_by"] == str(known.CLIENT_ID)
    assert overview["progress"] == {"done": 1, "total": 2}
    [updated] = [e for e in events_of(chats_engine, thread["id"]) if e["type"] == "task_updated"]
    assert updated["data"]["change"] == "completed" and updated["data"]["progress"] == {"done": 1, "total": 2}
    assert updated["actor"]["kind"] == "client"


def test_staff_add_rename_and_remove_tasks(start_chats):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id)
        task = proxy.add_task(thread["id"], {"title": "Upload"})
        assert proxy.update_task(thread["id"], task["id"], {"title": "Upload W-2"})["title"] == "Upload W-2"
        proxy.delete_task(thread["id"], task["id"])
        assert proxy.get_thread(thread["id"])["tasks"] == []
        with pytest.raises(NotFound):
            proxy.delete_task(thread["id"], task["id"])


def test_only_documents_of_client_visible_folders_are_attached(start_chats):
    running = start_chats()
    visible, private, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    running.documents.list_folders.return_value = {"items": [
        {"id": str(running.firm_id), "client_access": "view"}]}
    docs = {
        str(visible): {"id": str(visible), "account_id": str(running.account_id), "folder_id": str(running.firm_id),
                       "name": "w2.pdf", "size": 10, "content_type": "application/pdf"},
        str(private): {"id": str(private), "account_id": str(running.account_id), "folder_id": str(other),
                       "name": "notes.pdf", "size": 10, "content_type": "application/pdf"},
    }
    running.documents.get_document.side_effect = lambda document_id: docs[document_id]
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id)
        with pytest.raises(ValidationFailed) as refused:
            proxy.post_message(thread["id"], {"body": "", "document_ids": [str(visible), str(private)]})
        assert refused.value.errors["document_ids"] == [f"Document {private} is not in a folder the client sees."]
        message = proxy.post_message(thread["id"], {"document_ids": [str(visible)]})
        tab = proxy.list_thread_documents(thread["id"], {})["items"]
    assert message["document_ids"] == [str(visible)]
    assert [(d["id"], d["name"], d["message_id"]) for d in tab] == [(str(visible), "w2.pdf", message["id"])]


def test_templates_fill_shortcodes_and_refuse_unknown_ones(start_chats):
    running = start_chats()
    with running.as_user() as proxy:
        with pytest.raises(ValidationFailed) as refused:
            proxy.create_template({"name": "T", "subject": "Hi [CLIENT_NAME]", "body": "x"})
        assert "[CLIENT_NAME]" in refused.value.errors["subject"][0]
        template = proxy.create_template({
            "name": "Year end", "subject": "[ACCOUNT_NAME]: documents for [LAST_YEAR]",
            "body": "Dear [CONTACT_FIRST_NAME] [CONTACT_LAST_NAME], [FIRM_NAME] needs them by [CURRENT_DATE].",
            "tasks": [{"title": "Upload [LAST_YEAR] W-2"}], "reminders": {"enabled": True, "days": 5, "count": 2}})
        thread = proxy.start_thread(str(running.account_id), {"template_id": template["id"]})
        [message] = proxy.list_messages(thread["id"], {})["items"]
    assert thread["subject"] == "Smith Family: documents for 2025"
    assert message["body"] == "Dear Jane Smith, Acme Tax needs them by 2026-11-23."
    assert [t["title"] for t in thread["tasks"]] == ["Upload 2025 W-2"]
    assert thread["reminders"]["days"] == 5 and thread["reminders"]["count"] == 2
    with running.as_user() as proxy:
        proxy.delete_template(template["id"])
        with pytest.raises(NotFound):
            proxy.get_template(template["id"])


def test_jobs_of_another_account_cannot_be_linked(start_chats):
    running = start_chats()
    job = str(uuid.uuid4())
    with running.as_user() as proxy, pytest.raises(ValidationFailed) as refused:
        start_thread(proxy, running.account_id, job_ids=[job])
    assert refused.value.errors["job_ids"] == [f"No such job of this account: {job}."]
    running.crm.chat_audience.return_value = {**running.crm.chat_audience.return_value, "job_ids": [job]}
    with running.as_user() as proxy:
        assert start_thread(proxy, running.account_id, job_ids=[job])["job_ids"] == [job]


def test_clients_cannot_archive_or_add_tasks(start_chats, known):
    running = start_chats()
    with running.as_user() as proxy:
        thread = start_thread(proxy, running.account_id)
    known.as_client(running.crm)
    with running.as_user("client") as client:
        with pytest.raises(Forbidden):
            client.archive_thread(thread["id"])
        with pytest.raises(Forbidden):
            client.add_task(thread["id"], {"title": "x"})
