"""The activity feed against what the services really emit: every event declared in shared.contracts.

test_activity_describe.py checks the exact line of one hand-made payload per event; here payloads are
generated from each declared schema (hypothesis), so a contract change the feed does not follow (a
field renamed, made nullable, a list that may be empty, a new event) fails here, not in a firm's feed.
Nested objects carry every field, as a dumped object does; a field is None only where it may be.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC
from typing import Any
from unittest import mock

import pytest
from devstack.messaging_doc import consumers_of_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, validate

from notifications import activity
from notifications.activity import SUMMARIES, SUMMARY_MAX, describe
from notifications.service import NotificationsService
from shared.contracts import load_all
from shared.events import EventType, declared, envelope

load_all()

# Services whose events the feed does not record, and why. A service that starts emitting events
# fails test_every_service_that_emits_events_is_in_the_feed until it is in the feed or listed here.
NOT_IN_FEED = {
    "chats": "a thread's messages and tasks are its own history (GET /api/v1/chats/{id}); the feed does not copy them",
    "notifications": "its events (Inbox+ changes for live streams) concern the feed's readers, not the firm's work",
}


def feed_sources() -> set[str]:
    """The services whose every event the notifications service records (its every-event consumers)."""
    return {c.source for c in consumers_of_class("notifications", NotificationsService) if c.event_type is None}


FEED_EVENTS = [event for event in declared() if event.source in feed_sources()]

# Text with braces, quotes, line breaks and any script, but never "N": a summary that says "None"
# rendered a missing value, not something a name held.
ALPHABET = st.characters(codec="utf-8", exclude_characters="N")
TEXT = st.text(ALPHABET, max_size=30)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)
SOME_JSON = JSON.filter(lambda value: value is not None)


def _string(field: fields.String) -> st.SearchStrategy[str]:
    lengths = [v for v in field.validators if isinstance(v, validate.Length)]
    low = max([v.min or 0 for v in lengths], default=0)
    high = min([v.max for v in lengths if v.max is not None], default=None)
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return st.sampled_from(sorted(validator.choices))
        if isinstance(validator, validate.Regexp):
            return st.from_regex(validator.regex, fullmatch=True).filter(
                lambda text: low <= len(text) <= (high if high is not None else len(text)))
    return st.text(ALPHABET, min_size=low, max_size=max(low, min(high if high is not None else 30, 30)))


def value_of(field: fields.Field) -> st.SearchStrategy[Any]:
    """Values `field` accepts, in their JSON form (as in an envelope's data)."""
    if isinstance(field, fields.Nested):
        strategy = object_of(field.schema)
        if field.many:
            strategy = st.lists(strategy, max_size=3)
    elif isinstance(field, fields.List):
        strategy = st.lists(value_of(field.inner), max_size=3)
    elif isinstance(field, fields.Dict):
        keys = value_of(field.key_field) if field.key_field else TEXT
        values = value_of(field.value_field) if field.value_field else JSON
        strategy = st.dictionaries(keys, values, max_size=3)
    elif isinstance(field, fields.Boolean):
        strategy = st.booleans()
    elif isinstance(field, fields.Integer):
        strategy = st.integers(min_value=0, max_value=2**40)
    elif isinstance(field, fields.UUID):
        strategy = st.uuids().map(str)
    elif isinstance(field, fields.Date):  # an invoice's due date (billing)
        strategy = st.dates().map(lambda day: day.isoformat())
    elif isinstance(field, fields.DateTime):  # Timestamp, AwareDateTime too
        strategy = st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat())
    elif isinstance(field, fields.Email):
        strategy = st.emails()
    elif isinstance(field, fields.String):
        strategy = _string(field)
    elif isinstance(field, fields.Raw):
        strategy = SOME_JSON  # None only where allow_none says so (below)
    else:
        raise NotImplementedError(f"no payload strategy for {type(field).__name__}: add one here")
    return st.none() | strategy if field.allow_none else strategy


def object_of(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({field.data_key or name: value_of(field) for name, field in schema.fields.items()})


def payloads(event: EventType) -> st.SearchStrategy[dict[str, Any]]:
    return object_of(event.schema())


def test_every_service_that_emits_events_is_in_the_feed():
    emitting = {event.source for event in declared()}
    assert emitting - feed_sources() - set(NOT_IN_FEED) == set(), "events nobody's feed describes"
    assert feed_sources() & set(NOT_IN_FEED) == set()  # listed as left out, yet recorded


def test_the_feed_describes_exactly_the_events_of_the_services_it_records():
    assert set(SUMMARIES) == {(event.source, event.name) for event in FEED_EVENTS}


@pytest.mark.parametrize("event", FEED_EVENTS, ids=lambda event: event.key)
@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_a_recorded_service_declares_reads_as_its_own_line(event, data):
    payload = data.draw(payloads(event), label="data")
    event.check(payload)  # a payload the emitter could send
    firm, account = uuid.uuid4(), uuid.uuid4()
    body = envelope(event, payload, firm_id=firm, account_id=account, actor={"id": uuid.uuid4(), "kind": "staff"})
    rule = SUMMARIES[(event.source, event.name)]
    line = rule(payload) if callable(rule) else rule.format_map(payload)  # raises on what it cannot read
    with mock.patch.object(activity.log, "warning") as warned:
        entry = describe(body)
    assert not warned.called, "fell back to the generic summary"
    one_line = " ".join(line.split())
    assert entry.summary == one_line if len(one_line) <= SUMMARY_MAX else len(entry.summary) == SUMMARY_MAX
    assert entry.summary and "\n" not in entry.summary
    # "None" only where the payload itself says it (a name "None"), never for a missing value.
    assert "None" not in entry.summary or "None" in json.dumps(payload, default=str), "rendered a missing value"
    assert (entry.firm_id, entry.account_id, entry.event_type) == (firm, account, event.name)
