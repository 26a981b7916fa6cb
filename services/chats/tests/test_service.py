"""The chats service over RPC: a container on the run's broker, its real database."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from shared.errors import Forbidden, NotFound, Unauthorized, ValidationFailed


def test_staff_start_a_thread_and_read_it_back(chats, firm):
    account, user = str(uuid.uuid4()), str(uuid.uuid4())
    with chats(firm, user_id=user) as proxy:
        thread = proxy.start_thread({"account_id": account, "subject": "  Documents for 2025 "})
        assert thread["subject"] == "Documents for 2025"
        assert thread["account_id"] == account and thread["created_by"] == user
        assert proxy.get_thread(thread["id"]) == thread


def test_starting_a_thread_emits_thread_started_in_its_envelope(chats, firm, migrated):
    account, user = str(uuid.uuid4()), str(uuid.uuid4())
    with chats(firm, user_id=user) as proxy:
        thread = proxy.start_thread({"account_id": account, "subject": "Hello"})
    engine = create_engine(migrated("chats"))
    try:
        with engine.connect() as conn:
            event = conn.execute(text("SELECT payload FROM outbox WHERE payload->'data'->>'thread_id' = :id"),
                                 {"id": thread["id"]}).scalar_one()
    finally:
        engine.dispose()
    assert (event["type"], event["source"], event["firm_id"], event["account_id"]) == (
        "thread_started", "chats", firm, account)
    assert event["actor"] == {"id": user, "kind": "staff"}
    assert event["data"] == {"thread_id": thread["id"], "subject": "Hello"}


def test_another_firms_thread_and_a_malformed_id_are_not_found(chats, firm):
    with chats(firm) as proxy:
        thread = proxy.start_thread({"account_id": str(uuid.uuid4()), "subject": "Hello"})
    with chats(str(uuid.uuid4())) as other, pytest.raises(NotFound):
        other.get_thread(thread["id"])
    with chats(firm) as proxy, pytest.raises(NotFound):
        proxy.get_thread("not-an-id")


def test_only_staff_start_threads(chats, firm):
    payload = {"account_id": str(uuid.uuid4()), "subject": "Hello"}
    with chats(firm, kind="client") as proxy, pytest.raises(Forbidden):
        proxy.start_thread(payload)
    with chats() as anonymous, pytest.raises(Unauthorized):
        anonymous.start_thread(payload)


def test_a_blank_subject_is_a_validation_error(chats, firm):
    with chats(firm) as proxy, pytest.raises(ValidationFailed):
        proxy.start_thread({"account_id": str(uuid.uuid4()), "subject": "   "})
