"""What a client user reads in the portal from crm: the firm's announcement and his accounts' jobs."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory

from crm import access, accounts, contacts, identity, jobs, portal_settings
from crm.service import CrmService
from shared.context import Principal
from shared.errors import Forbidden, NotFound
from shared.events import EventLog


@pytest.fixture
def account(db, owner):
    return accounts.create_account(db, owner, {"name": "Smith Family", "type": "family", "guest": False})


def client_of(db, owner, account, email="jane@home.example"):
    """A client user with portal access (LOGIN on, invitation accepted) to `account`."""
    contact = contacts.create_contact(db, owner, {"first_name": "Jane", "last_name": "Smith", "emails": [email]})
    contacts.link_contact(db, owner, account.id, contact.id)
    access.update_access(db, owner, account.id, email, {"login": True}, EventLog())
    client = db.scalar(identity.select(identity.User).where(identity.User.email == email))
    identity.accept_invitation(db, owner.firm_id, client.id, "a good long password")
    return client


@pytest.fixture
def jane(db, owner, account):
    return client_of(db, owner, account)


def job(db, owner, account, name, client_status=None):
    return jobs.create_job(db, owner, account.id, {"name": name, "status": "Internal: " + name,
                                                   "client_status": client_status})


# -- announcement ---------------------------------------------------------------------------------------


def test_the_announcement_is_off_and_textless_by_default(db, jane, account):
    assert portal_settings.announcement(db, jane, account.id) == {"enabled": False, "text": None}


def test_the_announcement_text_shows_only_while_the_switch_is_on(db, owner, jane, account):
    portal_settings.update_settings(db, owner, {"announcement_text": "Closed Friday"})
    assert portal_settings.announcement(db, jane, account.id) == {"enabled": False, "text": None}
    portal_settings.update_settings(db, owner, {"announcement": True})
    assert portal_settings.announcement(db, jane, account.id) == {"enabled": True, "text": "Closed Friday"}


# -- jobs -----------------------------------------------------------------------------------------------


def test_jobs_are_forbidden_while_work_in_progress_is_off(db, owner, jane, account):
    job(db, owner, account, "Return", "In progress")
    with pytest.raises(Forbidden):
        jobs.list_client_jobs(db, jane, account.id, 50, None)


def test_only_jobs_with_a_client_status_are_listed_newest_first_and_paged(db, owner, jane, account):
    portal_settings.update_settings(db, owner, {"work_in_progress": True})
    first = job(db, owner, account, "Bookkeeping", "Waiting for you")
    job(db, owner, account, "Internal review")
    job(db, owner, account, "Blank", "")
    second = job(db, owner, account, "Return", "In progress")
    page, cursor = jobs.list_client_jobs(db, jane, account.id, 1, None)
    assert [j.id for j in page] == [second.id] and cursor
    rest, cursor = jobs.list_client_jobs(db, jane, account.id, 1, cursor)
    assert [j.id for j in rest] == [first.id] and cursor is None


def test_the_jobs_of_another_account_of_the_firm_are_not_his(db, owner, jane, account):
    portal_settings.update_settings(db, owner, {"work_in_progress": True})
    other = accounts.create_account(db, owner, {"name": "Other", "type": "company", "guest": False})
    job(db, owner, other, "Theirs", "In progress")
    assert jobs.list_client_jobs(db, jane, account.id, 50, None)[0] == []
    with pytest.raises(NotFound):
        jobs.list_client_jobs(db, jane, other.id, 50, None)


# -- access ---------------------------------------------------------------------------------------------


def test_after_login_off_both_are_not_found_even_with_the_switches_on(db, owner, jane, account):
    portal_settings.update_settings(db, owner, {"work_in_progress": True, "announcement": True})
    access.update_access(db, owner, account.id, "jane@home.example", {"login": False}, EventLog())
    with pytest.raises(NotFound):
        portal_settings.announcement(db, jane, account.id)
    with pytest.raises(NotFound):
        jobs.list_client_jobs(db, jane, account.id, 50, None)


def test_an_account_he_cannot_open_is_not_found_before_the_switch_is_looked_at(db, owner, other_owner, jane):
    """Work in progress is off: a 403 here would tell him the account exists."""
    theirs = accounts.create_account(db, other_owner, {"name": "Theirs", "type": "company", "guest": False})
    for account_id in (theirs.id, uuid.uuid4()):
        with pytest.raises(NotFound):
            jobs.list_client_jobs(db, jane, account_id, 50, None)
        with pytest.raises(NotFound):
            portal_settings.announcement(db, jane, account_id)


def test_a_client_of_another_firm_reads_his_own_firms_settings(db, owner, other_owner, jane, account):
    portal_settings.update_settings(db, other_owner, {"announcement": True, "announcement_text": "Theirs"})
    their_account = accounts.create_account(db, other_owner, {"name": "B", "type": "company", "guest": False})
    bob = client_of(db, other_owner, their_account, "bob@b-client.example")
    assert portal_settings.announcement(db, bob, their_account.id)["text"] == "Theirs"
    assert portal_settings.announcement(db, jane, account.id)["text"] is None


# -- the RPCs: client callers only, dumped with only what the client may see ------------------------------


def service(db, user):
    worker = worker_factory(CrmService, db=SimpleNamespace(session=db))
    worker.context = SimpleNamespace(principal=Principal(str(user.firm_id), str(user.id), user.kind))
    return worker


def test_the_jobs_rpc_shows_the_client_status_never_the_internal_one(db, owner, jane, account):
    portal_settings.update_settings(db, owner, {"work_in_progress": True})
    made = job(db, owner, account, "Return", "In progress")
    page = service(db, jane).list_portal_jobs(str(account.id), {})
    assert page["next_cursor"] is None
    [item] = page["items"]
    assert set(item) == {"id", "name", "client_status", "updated_at"}
    assert (item["id"], item["client_status"]) == (str(made.id), "In progress")


def test_the_announcement_rpc_answers_enabled_and_text(db, owner, jane, account):
    portal_settings.update_settings(db, owner, {"announcement": True, "announcement_text": "Hello"})
    assert service(db, jane).get_portal_announcement(str(account.id)) == {"enabled": True, "text": "Hello"}


@pytest.mark.parametrize("method,args", [("get_portal_announcement", ()), ("list_portal_jobs", ({},))])
def test_staff_callers_are_forbidden(db, owner, account, method, args):
    with pytest.raises(Forbidden):
        getattr(service(db, owner), method)(str(account.id), *args)


def test_an_account_id_that_is_no_uuid_is_not_found(db, jane):
    with pytest.raises(NotFound):
        service(db, jane).get_portal_announcement("not-a-uuid")
