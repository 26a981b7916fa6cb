"""shared.access: crm's answers kept per (session, access version, account, right), so a request whose
version is already known costs no call to crm, and a newer version (a removal) asks crm again."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from shared import access
from shared.access import authorize, authorize_as, cache_key
from shared.context import Principal, principal_from
from shared.errors import NotFound

FIRM, USER, SESSION = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
ACCOUNT = uuid.uuid4()
STAFF = Principal(FIRM, USER, "staff", SESSION, access_version=7)


class FakeCrm:
    """crm's `authorize_account`, counting the questions; `refuse` makes it answer NotFound."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []
        self.refuse = False

    def authorize_account(self, account_id: str, right: str | None = None) -> dict:
        self.asked.append((account_id, right))
        if self.refuse:
            raise NotFound("No such account.")
        return {"account": {"id": account_id, "name": "Smith Family"}, "principal_kind": "staff",
                "user": {"id": USER, "rights": ["manage_documents"]}, "portal_settings": None}


@pytest.fixture(autouse=True)
def empty_cache():
    access.answers.clear()
    yield
    access.answers.clear()


@pytest.fixture
def crm():
    return FakeCrm()


def test_the_same_question_under_the_same_version_asks_crm_once(crm):
    first = authorize(crm, STAFF, ACCOUNT, "manage_documents")
    again = authorize(crm, STAFF, str(ACCOUNT), "manage_documents")
    assert len(crm.asked) == 1 and again == first and again.account_id == ACCOUNT


def test_a_newer_version_asks_crm_again(crm):
    authorize(crm, STAFF, ACCOUNT)
    authorize(crm, dataclasses.replace(STAFF, access_version=8), ACCOUNT)
    assert len(crm.asked) == 2


def test_a_refusal_under_a_newer_version_is_not_answered_from_the_cache(crm):
    authorize(crm, STAFF, ACCOUNT)
    crm.refuse = True
    with pytest.raises(NotFound):
        authorize(crm, dataclasses.replace(STAFF, access_version=8), ACCOUNT)


def test_a_refusal_is_never_kept(crm):
    crm.refuse = True
    for _ in range(2):
        with pytest.raises(NotFound, match="No such document."):
            authorize_as("No such document.", crm, STAFF, ACCOUNT)
    assert len(crm.asked) == 2 and len(access.answers) == 0


@pytest.mark.parametrize("principal", [
    dataclasses.replace(STAFF, access_version=None),  # an event handler, a timer, a service's own call
    dataclasses.replace(STAFF, session_id=None),
], ids=["no version", "no session"])
def test_without_a_session_and_a_version_crm_is_asked_every_time(crm, principal):
    authorize(crm, principal, ACCOUNT)
    authorize(crm, principal, ACCOUNT)
    assert len(crm.asked) == 2 and cache_key(principal, ACCOUNT, None) is None


@pytest.mark.parametrize("other", [
    dataclasses.replace(STAFF, session_id=str(uuid.uuid4())),
    dataclasses.replace(STAFF, user_id=str(uuid.uuid4())),
    dataclasses.replace(STAFF, firm_id=str(uuid.uuid4())),
], ids=["session", "user", "firm"])
def test_another_caller_never_gets_an_answer_kept_for_this_one(crm, other):
    authorize(crm, STAFF, ACCOUNT)
    authorize(crm, other, ACCOUNT)
    assert len(crm.asked) == 2


def test_another_account_or_right_is_another_question(crm):
    authorize(crm, STAFF, ACCOUNT)
    authorize(crm, STAFF, ACCOUNT, "manage_documents")
    authorize(crm, STAFF, uuid.uuid4())
    assert len(crm.asked) == 3


def test_each_caller_gets_its_own_copy_of_a_kept_answer(crm):
    authorize(crm, STAFF, ACCOUNT).account["name"] = "changed by a careless caller"
    assert authorize(crm, STAFF, ACCOUNT).account["name"] == "Smith Family"


def test_a_principal_carries_the_access_version_only_when_it_is_a_number():
    data = {"firm_id": FIRM, "user_id": USER, "session_id": SESSION}
    assert principal_from({**data, "access_version": 7}).access_version == 7
    for not_a_version in ("7", True, None, 7.0):
        assert principal_from({**data, "access_version": not_a_version}).access_version is None
