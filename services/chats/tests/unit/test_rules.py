"""Reminder stop rules and template shortcodes, without a database."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from chats import reminders, templates
from chats.reminders import Facts, stop_reason
from shared.contracts.chats import MESSAGE_POSTED, ThreadCreateSchema
from shared.errors import ValidationFailed
from shared.events import InvalidEvent
from shared.schemas import validated

WANTED = Facts(enabled=True, archived=False, sent=0, count=1, last_message_by="staff", tasks_total=0, tasks_done=0,
               unread_by_client=1)


def facts(**changes: object) -> Facts:
    return Facts(**{**WANTED.__dict__, **changes})


def test_a_fresh_staff_message_wants_a_reminder():
    assert stop_reason(WANTED) is None


@pytest.mark.parametrize(("changes", "reason"), [
    ({"enabled": False}, reminders.DISABLED),
    ({"archived": True}, reminders.ARCHIVED),
    ({"sent": 1}, reminders.ALL_SENT),
    ({"last_message_by": "client"}, reminders.CLIENT_REPLIED),
    ({"tasks_total": 2, "tasks_done": 2, "unread_by_client": 0}, reminders.TASKS_DONE_AND_READ),
])
def test_each_stop_rule(changes, reason):
    assert stop_reason(facts(**changes)) == reason


def test_with_open_tasks_a_client_reply_does_not_stop_them():
    assert stop_reason(facts(tasks_total=2, tasks_done=1, last_message_by="client", unread_by_client=0)) is None


def test_with_tasks_done_unread_messages_keep_them_going():
    assert stop_reason(facts(tasks_total=2, tasks_done=2, unread_by_client=1)) is None


def test_archived_stops_them_whatever_the_tasks():
    assert stop_reason(facts(archived=True, tasks_total=1, tasks_done=0)) == reminders.ARCHIVED


def test_unknown_shortcodes_are_named_and_link_texts_are_not_shortcodes():
    assert templates.unknown_shortcodes("[FIRM_NAME] [CLIENT] [FAQ](https://x.example) [NOTE]") == [
        "[CLIENT]", "[NOTE]"]
    with pytest.raises(ValidationFailed) as refused:
        templates.check_shortcodes({"subject": "ok", "body": "Hi [CLIENT_NAME]"})
    assert "[CLIENT_NAME]" in refused.value.errors["body"][0] and "[CLIENT_NAME]" in str(refused.value)


def test_shortcodes_are_filled_for_the_account_and_the_day():
    values = templates.shortcode_values("Smith Family", "Acme Tax", {"first_name": "Jane", "last_name": "Smith"},
                                        datetime(2026, 1, 2, tzinfo=UTC))
    assert templates.fill("[ACCOUNT_NAME] [CONTACT_FIRST_NAME] [CONTACT_LAST_NAME] [FIRM_NAME] [CURRENT_DATE] "
                          "[CURRENT_YEAR] [LAST_YEAR] [OTHER]", values) == (
        "Smith Family Jane Smith Acme Tax 2026-01-02 2026 2025 [OTHER]")


def test_reminders_default_to_three_days_and_one_reminder():
    data = validated(ThreadCreateSchema(), {"subject": "s", "body": "b", "reminders": {"enabled": True}})
    assert data["reminders"] == {"enabled": True, "days": 3, "count": 1}


def test_message_posted_carries_the_thread_with_its_id():
    with pytest.raises(InvalidEvent):
        MESSAGE_POSTED.check({"thread": {"id": str(uuid.uuid4())}, "message": {}, "client_email": None})
