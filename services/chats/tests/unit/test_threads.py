"""Thread rules and the chats contract, without a database or a broker."""
from __future__ import annotations

import uuid

import pytest

from chats.threads import clean_subject
from shared.contracts.chats import SUBJECT_MAX, THREAD_STARTED, StartThreadSchema
from shared.errors import ValidationFailed
from shared.events import InvalidEvent
from shared.schemas import validated


def test_a_subject_is_stored_without_surrounding_space():
    assert clean_subject("  Your 2025 return \n") == "Your 2025 return"


def test_a_blank_subject_is_refused_naming_the_field():
    with pytest.raises(ValidationFailed) as refused:
        clean_subject(" \t ")
    assert refused.value.errors == {"subject": ["Must not be blank."]}


def test_a_thread_needs_an_account_and_a_subject_of_at_most_the_limit():
    with pytest.raises(ValidationFailed) as refused:
        validated(StartThreadSchema(), {"account_id": "nope", "subject": "x" * (SUBJECT_MAX + 1)})
    assert set(refused.value.errors) == {"account_id", "subject"}


def test_thread_started_carries_exactly_the_thread_and_its_subject():
    THREAD_STARTED.check({"thread_id": str(uuid.uuid4()), "subject": "Hello"})
    with pytest.raises(InvalidEvent):
        THREAD_STARTED.check({"thread_id": str(uuid.uuid4()), "subject": "Hello", "account_id": str(uuid.uuid4())})
