"""The reminder scheduler over the real parts, the clock driven by the test: every stop rule, the reopen
rule, two scheduler instances at once, and one catch-up after downtime.

Each round is the service's own timer entrypoint (`send_reminders`), called through nameko's hook at
the clock's time; what went out is what the outbox holds (`reminder_sent` events)."""
from __future__ import annotations

from typing import Any

import eventlet
from nameko.testing.services import entrypoint_hook
from sqlalchemy import Engine, text

from chats import scheduler


def reminders_sent(engine: Engine, thread_id: str) -> list[int]:
    """The numbers of the reminders recorded for the thread, in order."""
    with engine.connect() as connection:
        return [int(n) for n in connection.execute(text(
            "SELECT payload->'data'->>'number' FROM outbox WHERE event_type = 'reminder_sent' "
            "AND payload->'data'->'thread'->>'id' = :id ORDER BY created_at, id"), {"id": thread_id}).scalars()]


def run_round(running: Any) -> int:
    with entrypoint_hook(running.container, "send_reminders") as send_reminders:
        return send_reminders()


def staff_thread(running: Any, **fields: Any) -> dict:
    with running.as_user() as proxy:
        return proxy.start_thread(str(running.account_id), {
            "subject": "Documents", "body": "Please send them", "reminders": {"enabled": True, "days": 3, "count": 3},
            **fields})


def test_a_reminder_goes_out_days_after_the_message_and_every_days_after_up_to_count(start_chats, chats_engine):
    running = start_chats()
    thread = staff_thread(running)
    running.clock.advance(days=2, hours=23)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == []
    running.clock.advance(hours=1)
    for _ in range(5):
        run_round(running)
        running.clock.advance(days=3)
    assert reminders_sent(chats_engine, thread["id"]) == [1, 2, 3]
    with running.as_user() as proxy:
        assert proxy.get_thread(thread["id"])["reminders"] == {"enabled": True, "days": 3, "count": 3, "sent": 3,
                                                               "next_at": None}


def test_without_tasks_reminders_stop_once_the_client_replies(start_chats, chats_engine, known):
    running = start_chats()
    thread = staff_thread(running)
    running.clock.advance(days=3)
    run_round(running)
    known.as_client(running.crm)
    with running.as_user("client") as client:
        client.post_message(thread["id"], {"body": "Sent them"}, account_id=str(running.account_id))
    running.clock.advance(days=30)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]


def test_reading_without_replying_does_not_stop_reminders_of_a_thread_without_tasks(start_chats, chats_engine,
                                                                                     known):
    running = start_chats()
    thread = staff_thread(running)
    known.as_client(running.crm)
    with running.as_user("client") as client:
        client.mark_read(thread["id"], account_id=str(running.account_id))
    running.clock.advance(days=3)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]


def test_with_open_tasks_reminders_go_on_after_a_reply_until_all_are_done_and_read(start_chats, chats_engine,
                                                                                   known):
    running = start_chats()
    thread = staff_thread(running, tasks=[{"title": "Sign"}])
    known.as_client(running.crm)
    account = str(running.account_id)
    with running.as_user("client") as client:
        client.post_message(thread["id"], {"body": "Working on it"}, account_id=account)  # read, tasks open
    running.clock.advance(days=3)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]
    with running.as_user("client") as client:
        client.update_task(thread["id"], thread["tasks"][0]["id"], {"done": True}, account_id=account)
    running.clock.advance(days=3)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]  # all done and every message read: stopped


def test_with_tasks_done_reminders_go_on_until_the_messages_are_read(start_chats, chats_engine, known):
    running = start_chats()
    thread = staff_thread(running, tasks=[{"title": "Sign"}])
    account = str(running.account_id)
    with running.as_user() as proxy:
        proxy.update_task(thread["id"], thread["tasks"][0]["id"], {"done": True})
    running.clock.advance(days=3)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]  # done, but the message is unread
    known.as_client(running.crm)
    with running.as_user("client") as client:
        client.mark_read(thread["id"], account_id=account)
    running.clock.advance(days=3)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]


def test_an_archived_thread_gets_none_and_unarchiving_starts_over_as_if_the_message_were_new(start_chats,
                                                                                            chats_engine):
    running = start_chats()
    thread = staff_thread(running)
    running.clock.advance(days=3)
    run_round(running)
    with running.as_user() as proxy:
        proxy.archive_thread(thread["id"])
        running.clock.advance(days=10)
        run_round(running)
        assert reminders_sent(chats_engine, thread["id"]) == [1]
        reopened = proxy.unarchive_thread(thread["id"])
    assert reopened["reminders"]["sent"] == 0 and reopened["reminders"]["next_at"] == "2026-12-09T09:00:00Z"
    running.clock.advance(days=2)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]
    running.clock.advance(days=1)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1, 1]  # the first reminder about the "new" message


def test_a_new_staff_message_starts_the_reminders_over(start_chats, chats_engine, known):
    running = start_chats()
    thread = staff_thread(running, reminders={"enabled": True, "days": 3, "count": 1})
    running.clock.advance(days=3)
    run_round(running)
    known.as_client(running.crm)
    with running.as_user("client") as client:
        client.post_message(thread["id"], {"body": "Which ones?"}, account_id=str(running.account_id))
    known.crm_answers(running.crm, running.account_id)
    running.clock.advance(days=1)
    with running.as_user() as proxy:
        proxy.post_message(thread["id"], {"body": "The W-2"})
    running.clock.advance(days=3)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1, 1]


def test_turning_reminders_off_stops_them(start_chats, chats_engine):
    running = start_chats()
    thread = staff_thread(running)
    with running.as_user() as proxy:
        assert proxy.set_reminders(thread["id"], {"enabled": False})["reminders"]["next_at"] is None
    running.clock.advance(days=10)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == []


def test_after_downtime_each_thread_gets_one_catch_up_reminder_not_a_burst(start_chats, chats_engine):
    running = start_chats()
    thread = staff_thread(running, reminders={"enabled": True, "days": 1, "count": 5})
    running.clock.advance(days=10)  # the scheduler was down: four reminders' times passed
    run_round(running)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1]
    with running.as_user() as proxy:
        assert proxy.get_thread(thread["id"])["reminders"]["next_at"] == "2026-12-04T09:00:00Z"
    running.clock.advance(days=1)
    run_round(running)
    assert reminders_sent(chats_engine, thread["id"]) == [1, 2]


def test_two_scheduler_instances_at_once_send_each_reminder_once(start_chats, chats_engine, monkeypatch):
    monkeypatch.setattr(scheduler, "BATCH", 3)  # many small rounds, so the two instances interleave
    first = start_chats()
    second = start_chats(clock=first.clock)
    second.crm.chat_audience.return_value = first.crm.chat_audience.return_value
    created = [staff_thread(first, reminders={"enabled": True, "days": 1, "count": 1})["id"] for _ in range(20)]
    first.clock.advance(days=1)

    def drain(running: Any) -> int:
        total = 0
        while sent := run_round(running):
            total += sent
        return total

    both = [eventlet.spawn(drain, running) for running in (first, second)]
    assert sum(green.wait() for green in both) <= 20
    assert [reminders_sent(chats_engine, thread_id) for thread_id in created] == [[1]] * 20

