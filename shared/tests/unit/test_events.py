"""Declared events and their envelope, without a broker or a database (shared.events)."""
from __future__ import annotations

import uuid

import pytest
from marshmallow import Schema, fields

from shared.events import EventLog, InvalidEvent, declare, declared, envelope, lookup

FIRM, ACCOUNT, USER = (str(uuid.uuid4()) for _ in range(3))


class NoteSchema(Schema):
    text = fields.String(required=True)
    pages = fields.Integer()


def a_source() -> str:
    """A service name of its own per test: declarations are process-wide."""
    return f"unit_{uuid.uuid4().hex[:8]}"


def test_an_event_declared_twice_is_refused_at_import():
    source = a_source()
    declare(source, "noted", NoteSchema, "A note was taken")
    with pytest.raises(ValueError, match=f"{source}.noted is declared twice"):
        declare(source, "noted", NoteSchema, "Again")


def test_declared_events_are_found_by_service_and_name_in_declaration_order():
    source = a_source()
    first = declare(source, "b_first", NoteSchema, "first")
    second = declare(source, "a_second", NoteSchema, "second")
    assert list(declared(source)) == [first, second]
    assert first in declared() and lookup(source, "a_second") is second and lookup(source, "nope") is None
    assert first.key == f"{source}.b_first"


def test_a_payload_must_be_exactly_what_its_schema_declares():
    noted = declare(a_source(), "noted", NoteSchema, "A note was taken")
    noted.check({"text": "hello"})
    noted.check({"text": "hello", "pages": 2})
    for wrong in ({}, {"text": 3}, {"text": "hello", "firm_id": FIRM}):  # missing, mistyped, unknown key
        with pytest.raises(InvalidEvent, match=f"{noted.key}: payload does not match"):
            noted.check(wrong)


def test_the_envelope_holds_who_whose_when_and_the_data():
    noted = declare(a_source(), "noted", NoteSchema, "A note was taken")
    body = envelope(noted, {"text": "hi"}, firm_id=uuid.UUID(FIRM), account_id=ACCOUNT,
                    actor={"id": uuid.UUID(USER), "kind": "staff"}, request_id="req-1")
    assert set(body) == {"id", "type", "source", "firm_id", "account_id", "occurred_at", "actor", "request_id",
                         "data"}
    assert (body["type"], body["source"]) == ("noted", noted.source)
    assert (body["firm_id"], body["account_id"], body["actor"]) == (FIRM, ACCOUNT, {"id": USER, "kind": "staff"})
    assert body["request_id"] == "req-1" and body["data"] == {"text": "hi"}
    uuid.UUID(body["id"])
    system_work = envelope(noted, {"text": "hi"}, firm_id=FIRM)
    assert system_work["account_id"] is None and system_work["actor"] is None


def test_an_envelope_without_a_firm_or_with_an_unknown_actor_kind_is_refused():
    noted = declare(a_source(), "noted", NoteSchema, "A note was taken")
    with pytest.raises(InvalidEvent, match="envelope is not valid"):
        envelope(noted, {"text": "hi"}, firm_id=None)
    with pytest.raises(InvalidEvent, match="envelope is not valid"):
        envelope(noted, {"text": "hi"}, firm_id=FIRM, actor={"id": USER, "kind": "robot"})
    with pytest.raises(InvalidEvent, match="payload does not match"):
        envelope(noted, {"text": 1}, firm_id=FIRM)


def test_an_event_log_checks_each_event_where_domain_code_adds_it_and_keeps_their_order():
    noted = declare(a_source(), "noted", NoteSchema, "A note was taken")
    log = EventLog()
    assert len(log) == 0 and list(log) == []
    log.add(noted, {"text": "one"}, firm_id=FIRM)
    log.add(noted, {"text": "two"}, firm_id=FIRM, account_id=ACCOUNT)
    with pytest.raises(InvalidEvent):
        log.add(noted, {"text": "three", "extra": True}, firm_id=FIRM)
    assert [(o.data["text"], o.account_id) for o in log] == [("one", None), ("two", ACCOUNT)]
    assert len(log) == 2
