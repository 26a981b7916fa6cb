"""crm's declared events (shared.contracts.crm): names, constants and what each payload may hold."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from crm.permissions import with_rights
from shared.contracts import crm as contract
from shared.events import InvalidEvent, declared, envelope, lookup

EMITTED_TODAY = {
    "firm_created", "user_activated", "team_member_invited", "team_member_updated", "team_member_removed",
    "account_created", "account_updated", "account_deleted", "account_team_assigned", "contact_created",
    "contact_updated", "contact_linked", "contact_unlinked", "portal_invitation_requested",
    "portal_access_granted", "portal_access_revoked", "notification_categories_changed", "job_created",
    "job_updated", "portal_settings_changed",
}
FIRM, ACCOUNT, USER = (str(uuid.uuid4()) for _ in range(3))
NOW = datetime.now(UTC)


def owner():
    return contract.UserSchema().dump(with_rights(SimpleNamespace(
        id=USER, firm_id=FIRM, kind="staff", email="o@a.example", name="O", role="owner", rights=[],
        status="active", created_at=NOW)))


def test_crm_declares_exactly_the_events_it_emits_each_as_its_upper_case_constant():
    assert {event.name for event in declared("crm")} == EMITTED_TODAY
    for name in EMITTED_TODAY:
        assert getattr(contract, name.upper()) is lookup("crm", name)


def test_firm_created_carries_the_firm_and_its_owner_with_his_rights():
    firm = contract.FirmSchema().dump(SimpleNamespace(id=FIRM, name="Firm A", created_at=NOW))
    contract.FIRM_CREATED.check({"firm": firm, "owner": owner()})
    with pytest.raises(InvalidEvent):
        contract.FIRM_CREATED.check({"firm": firm})


@pytest.mark.parametrize("event,data", [
    ("PORTAL_ACCESS_REVOKED", {"account_id": ACCOUNT, "email": "j@h.example", "user_id": None}),
    ("PORTAL_SETTINGS_CHANGED", {"changes": [{"setting": "announcement", "old": False, "new": True}]}),
    ("PORTAL_INVITATION_REQUESTED", {"firm_name": "F", "account_id": ACCOUNT, "account_name": "A",
                                     "email": "j@h.example", "user_id": USER, "first_name": "Jane"}),
])
def test_a_top_level_firm_id_left_the_data_for_the_envelope(event, data):
    declared_event = getattr(contract, event)
    declared_event.check(data)
    with pytest.raises(InvalidEvent):
        declared_event.check({**data, "firm_id": FIRM})


def test_an_unknown_key_anywhere_in_the_payload_is_refused():
    member = {**owner(), "password_hash": "x"}
    with pytest.raises(InvalidEvent):
        contract.TEAM_MEMBER_UPDATED.check({"member": member})


def test_a_contact_in_an_event_lists_its_addresses_as_strings():
    contact = {"id": str(uuid.uuid4()), "first_name": "Jane", "last_name": "Smith", "emails": ["j@h.example"],
               "created_at": NOW.isoformat(), "updated_at": NOW.isoformat()}
    contract.CONTACT_UPDATED.check({"contact": contact, "replaced_emails": {"old@h.example": "j@h.example"}})
    with pytest.raises(InvalidEvent):
        contract.CONTACT_CREATED.check({"contact": {**contact, "emails": [{"email": "j@h.example"}]}})


def test_categories_and_settings_must_be_known_ones():
    with pytest.raises(InvalidEvent):
        contract.NOTIFICATION_CATEGORIES_CHANGED.check({"account_id": ACCOUNT, "email": "j@h.example",
                                                        "categories": {"horoscopes": True}})
    with pytest.raises(InvalidEvent):
        contract.PORTAL_SETTINGS_CHANGED.check({"changes": [{"setting": "colour", "old": 1, "new": 2}]})


def test_the_envelope_of_an_account_event_names_the_firm_the_account_and_the_actor():
    account = {"id": ACCOUNT, "name": "Smiths", "type": "family", "guest": False, "created_at": NOW.isoformat(),
               "updated_at": NOW.isoformat()}
    body = envelope(contract.ACCOUNT_CREATED, {"account": account}, firm_id=FIRM, account_id=ACCOUNT,
                    actor={"id": USER, "kind": "staff"})
    assert (body["type"], body["source"], body["firm_id"], body["account_id"]) == (
        "account_created", "crm", FIRM, ACCOUNT)
    assert body["actor"] == {"id": USER, "kind": "staff"} and body["data"] == {"account": account}
