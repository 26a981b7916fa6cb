"""The one id parser and the one staff/client check (shared.ids, shared.context)."""
from __future__ import annotations

import uuid

import pytest

from shared.context import Principal, principal_from, require_principal
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.ids import parse_id

STAFF = Principal(firm_id=str(uuid.uuid4()), user_id=str(uuid.uuid4()), kind="staff")
CLIENT = Principal(firm_id=STAFF.firm_id, user_id=str(uuid.uuid4()), kind="client")


def test_an_id_is_a_uuid_given_as_text_or_as_itself():
    value = uuid.uuid4()
    assert parse_id(str(value)) == value and parse_id(value) is value
    assert parse_id(str(value).upper()) == value


def test_anything_else_names_nothing_and_says_what():
    for wrong in ("not-an-id", "", None, 12, "../etc/passwd"):
        with pytest.raises(NotFound, match="No such thread."):
            parse_id(wrong, "thread")
    with pytest.raises(NotFound, match="No such resource."):
        parse_id("x")


def test_staff_pass_require_staff_and_clients_get_a_403():
    assert STAFF.require_staff() is STAFF
    with pytest.raises(Forbidden):
        CLIENT.require_staff()


def test_clients_pass_require_client_and_staff_get_a_403():
    assert CLIENT.require_client() is CLIENT
    with pytest.raises(Forbidden):
        STAFF.require_client()


def test_a_principal_is_an_events_actor():
    assert CLIENT.as_actor() == {"id": CLIENT.user_id, "kind": "client"}


def test_a_principal_comes_from_context_data_or_not_at_all():
    data = {"firm_id": STAFF.firm_id, "user_id": STAFF.user_id, "session_id": "s"}
    assert principal_from(data) == Principal(STAFF.firm_id, STAFF.user_id, "staff", "s")  # staff unless told
    assert principal_from({"firm_id": STAFF.firm_id}) is None
    with pytest.raises(Unauthorized):
        require_principal(None)
    assert require_principal(STAFF) is STAFF
