"""firms.access_version: every committed change of who may open what in a firm moves it (database
triggers, whatever code wrote the rows), and `authenticate` answers it; services key the authorisations
they cache on it (shared.access), so a removal is refused on the very next request."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from crm import access, accounts, contacts, identity, jobs, portal_settings
from crm.models import Firm, User
from shared.events import EventLog


@pytest.fixture
def account(db, owner):
    return accounts.create_account(db, owner, {"name": "Smith Family", "type": "family", "guest": False})


@pytest.fixture
def jane(db, owner, account):
    """A contact linked to the account, LOGIN on for her home address."""
    contact = contacts.create_contact(db, owner, {"first_name": "Jane", "last_name": "Smith",
                                                  "emails": ["jane@home.example"]})
    contacts.link_contact(db, owner, account.id, contact.id)
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    return contact


def committed_version(db, firm_id: uuid.UUID) -> int:
    """The firm's version as if the test's transaction committed here: the deferred triggers fire now
    (SET CONSTRAINTS ... IMMEDIATE), and what follows counts as a new transaction's work."""
    db.flush()
    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    version = db.scalar(select(Firm.access_version).where(Firm.id == firm_id))
    db.execute(text("SET CONSTRAINTS ALL DEFERRED"))
    db.execute(text("SELECT set_config('porta.access_bumped', '', true)"))
    return version


def bumps(db, owner, change) -> int:
    """By how much one change (a callable) moves the owner's firm's version."""
    before = committed_version(db, owner.firm_id)
    change()
    return committed_version(db, owner.firm_id) - before


def test_authenticate_answers_the_firms_current_access_version(db, owner):
    token, _, _ = identity.signup(db, "F", "N", "n@f.example", "correct horse battery")
    user = identity.authenticate(db, token).user
    version = committed_version(db, user.firm_id)
    assert identity.authenticate(db, token).access_version == version


def test_a_role_change_moves_the_version(db, owner, employee_factory):
    member = employee_factory()
    assert bumps(db, owner, lambda: identity.update_team_member(db, owner, member.id, {"role": "admin"})) == 1


def test_losing_view_all_accounts_moves_the_version(db, owner, employee_factory):
    member = employee_factory("view_all_accounts")
    assert bumps(db, owner, lambda: identity.update_team_member(db, owner, member.id, {"rights": []})) == 1


def test_removing_a_team_member_moves_the_version(db, owner, employee_factory):
    member = employee_factory()
    assert bumps(db, owner, lambda: identity.remove_team_member(db, owner, member.id)) == 1


def test_an_unassignment_moves_the_version(db, owner, account, employee_factory):
    member = employee_factory()
    accounts.assign_team(db, owner, account.id, [member.id])
    assert bumps(db, owner, lambda: accounts.assign_team(db, owner, account.id, [])) == 1


def test_login_off_moves_the_version(db, owner, account, jane):
    off = lambda: access.update_access(db, owner, account.id, "jane@home.example", {"login": False}, EventLog())  # noqa: E731
    assert bumps(db, owner, off) == 1


def test_an_invited_client_becoming_active_moves_the_version(db, owner, account, jane):
    client = db.scalar(select(User).where(User.email == "jane@home.example"))

    def accept():
        client.status = "active"

    assert bumps(db, owner, accept) == 1


def test_deleting_an_account_moves_the_version(db, owner, account, jane):
    assert bumps(db, owner, lambda: accounts.delete_account(db, owner, account.id)) == 1


def test_unlinking_a_contact_moves_the_version(db, owner, account, jane):
    assert bumps(db, owner, lambda: contacts.unlink_contact(db, owner, account.id, jane.id)) == 1


def test_changing_a_contacts_addresses_moves_the_version(db, owner, jane):
    change = lambda: contacts.update_contact(db, owner, jane.id, {"emails": ["jane@new.example"]})  # noqa: E731
    assert bumps(db, owner, change) == 1


def test_a_portal_settings_change_moves_the_version(db, owner):
    portal_settings.get_settings(db, owner)
    assert bumps(db, owner, lambda: portal_settings.update_settings(db, owner, {"clients_create_chats": False})) == 1


def test_a_transaction_of_many_changes_moves_the_version_once(db, owner, account, employee_factory):
    members = [employee_factory(email=f"e{i}@a.example") for i in range(3)]

    def many():
        accounts.assign_team(db, owner, account.id, [m.id for m in members])
        for member in members:
            identity.update_team_member(db, owner, member.id, {"rights": ["manage_documents"]})

    assert bumps(db, owner, many) == 1


def test_renaming_a_job_leaves_the_version(db, owner, account):
    job = jobs.create_job(db, owner, account.id, {"name": "2024 return", "status": "open"})
    assert bumps(db, owner, lambda: jobs.update_job(db, owner, job.id, {"name": "2024 tax return"})) == 0


def test_an_update_that_changes_nothing_leaves_the_version(db, owner, account):
    assert bumps(db, owner, lambda: db.execute(text("UPDATE accounts SET name = name WHERE id = :id"),
                                                {"id": account.id})) == 0


def test_another_firms_change_leaves_the_version(db, owner, other_owner):
    assert bumps(db, owner, lambda: accounts.create_account(
        db, other_owner, {"name": "Theirs", "type": "company", "guest": False})) == 0


def test_a_committed_change_moves_the_version_authenticate_answers(crm):
    """Over RPC, with real commits: the deferred triggers fire when the write commits."""
    unique = uuid.uuid4().hex[:12]
    signup = crm("signup", payload={"firm_name": "Versions CPA", "name": "Vera Owner",
                                    "email": f"vera-{unique}@versions.example", "password": "correct horse battery"})
    staff = {"firm_id": signup["firm"]["id"], "user_id": signup["user"]["id"], "user_kind": "staff"}
    before = crm("authenticate", token=signup["token"])
    crm("create_account", staff, payload={"name": "Smith Family", "type": "family"})
    after = crm("authenticate", token=signup["token"])
    assert isinstance(before["access_version"], int) and after["access_version"] == before["access_version"] + 1
