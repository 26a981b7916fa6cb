"""What crm tells services acting without a user (event handlers): whom to notify about an account, and
what an email to an address about an account must respect."""
from __future__ import annotations

import uuid

import pytest

from crm import access, accounts, contacts, identity
from shared.contracts.crm import NOTIFICATION_CATEGORIES
from shared.errors import Forbidden, NotFound
from shared.events import EventLog


@pytest.fixture
def account(db, owner):
    return accounts.create_account(db, owner, {"name": "Smith Family", "type": "family", "guest": False})


@pytest.fixture
def admin(db, owner):
    member = identity.invite_team_member(db, owner, {"name": "Ada Admin", "email": "ada@a.example", "role": "admin",
                                                     "rights": []})
    member.status = "active"
    db.flush()
    return member


@pytest.fixture
def jane(db, owner, account):
    """A contact linked to the account, with two addresses."""
    contact = contacts.create_contact(db, owner, {"first_name": "Jane", "last_name": "Smith",
                                                  "emails": ["jane@home.example", "jane@work.example"]})
    contacts.link_contact(db, owner, account.id, contact.id)
    return contact


def recipients(db, firm_id, account_id, also=()):
    return [user.id for user in accounts.notification_recipients(db, firm_id, account_id, list(also))]


# -- notification_recipients -------------------------------------------------------------------------


def test_recipients_are_the_named_user_and_the_assigned_team_oldest_first(db, owner, account, employee_factory):
    creator, assigned = employee_factory(email="e1@a.example"), employee_factory(email="e2@a.example")
    accounts.assign_team(db, owner, account.id, [assigned.id])
    assert recipients(db, owner.firm_id, account.id, [assigned.id, creator.id]) == [creator.id, assigned.id]


def test_a_named_user_who_left_the_team_is_skipped_when_someone_is_assigned(db, owner, account, employee_factory):
    assigned = employee_factory()
    accounts.assign_team(db, owner, account.id, [assigned.id])
    assert recipients(db, owner.firm_id, account.id, [uuid.uuid4()]) == [assigned.id]


def test_nobody_assigned_and_nobody_named_falls_back_to_the_owner_and_admins(db, owner, admin, account,
                                                                            employee_factory):
    employee_factory()  # an employee is no fallback
    assert recipients(db, owner.firm_id, account.id) == [owner.id, admin.id]


def test_a_named_user_who_left_and_nobody_assigned_falls_back_to_the_owner_and_admins(db, owner, admin, account):
    assert recipients(db, owner.firm_id, account.id, [uuid.uuid4()]) == [owner.id, admin.id]


def test_a_member_who_has_not_accepted_his_invitation_is_no_recipient(db, owner, account):
    invited = identity.invite_team_member(db, owner, {"name": "New", "email": "new@a.example", "role": "employee",
                                                      "rights": []})
    accounts.assign_team(db, owner, account.id, [invited.id])
    assert recipients(db, owner.firm_id, account.id, [invited.id]) == [owner.id]


def test_another_firms_users_and_assignments_never_come_out(db, owner, other_owner, account, employee_factory):
    accounts.assign_team(db, owner, account.id, [employee_factory().id])
    # Firm B names firm A's account and owner: only firm B's fallback answers.
    assert recipients(db, other_owner.firm_id, account.id, [owner.id]) == [other_owner.id]


def test_a_client_user_is_no_recipient(db, owner, account, jane):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    client = db.scalar(identity.select(identity.User).where(identity.User.email == "jane@home.example"))
    assert recipients(db, owner.firm_id, account.id, [client.id]) == [owner.id]


# -- email_preferences -----------------------------------------------------------------------------------


def test_an_address_that_is_no_access_row_of_the_account_is_unknown(db, owner, account, jane):
    assert access.email_preferences(db, owner.firm_id, account.id, "bank@example.com") == {
        "known": False, "notify": False, "categories": {}, "status": "none", "user_id": None, "first_name": None}


def test_an_untouched_access_row_has_notify_off_and_every_category_on(db, owner, account, jane):
    assert access.email_preferences(db, owner.firm_id, account.id, "jane@work.example") == {
        "known": True, "notify": False, "categories": dict.fromkeys(NOTIFICATION_CATEGORIES, True),
        "status": "none", "user_id": None, "first_name": "Jane"}


def test_preferences_follow_the_switches_categories_and_invitation(db, owner, account, jane):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True, "notify": True},
                         EventLog())
    access.set_categories(db, owner, account.id, "jane@home.example", {"documents_upload": False})
    found = access.email_preferences(db, owner.firm_id, account.id, " Jane@Home.example ")
    assert (found["known"], found["notify"], found["status"]) == (True, True, "invited")
    assert found["categories"]["documents_upload"] is False and found["categories"]["proposals"] is True
    client = db.scalar(identity.select(identity.User).where(identity.User.email == "jane@home.example"))
    assert found["user_id"] == client.id


def test_an_address_of_the_contact_on_another_account_is_unknown_here(db, owner, account, jane):
    elsewhere = accounts.create_account(db, owner, {"name": "Other", "type": "company", "guest": False})
    assert access.email_preferences(db, owner.firm_id, elsewhere.id, "jane@home.example")["known"] is False


def test_another_firms_account_is_not_found(db, other_owner, account, jane):
    with pytest.raises(NotFound):
        access.email_preferences(db, other_owner.firm_id, account.id, "jane@home.example")


# -- over RPC: the firm is named, and a principal that came along must be of it --------------------------


def test_a_service_call_without_a_user_answers_for_the_firm_it_names(crm):
    firm = str(uuid.uuid4())
    assert crm("list_account_recipients", firm_id=firm, account_id=str(uuid.uuid4())) == {"user_ids": []}
    with pytest.raises(NotFound):
        crm("client_email_preferences", firm_id=firm, account_id=str(uuid.uuid4()), email="a@b.example")


@pytest.mark.parametrize("method,kwargs", [
    ("list_account_recipients", {}), ("client_email_preferences", {"email": "a@b.example"})])
def test_a_service_call_carrying_a_user_of_another_firm_is_forbidden(crm, method, kwargs):
    someone_elses = {"firm_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "user_kind": "client"}
    with pytest.raises(Forbidden):
        crm(method, someone_elses, firm_id=str(uuid.uuid4()), account_id=str(uuid.uuid4()), **kwargs)
