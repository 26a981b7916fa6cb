"""What crm tells chats about an account: who receives chats (activated portal users only), the team to
mention, the account's jobs and the firm's chat switches."""
from __future__ import annotations

import uuid

import pytest

from crm import access, accounts, chat_audience, contacts, identity, jobs, portal_settings
from shared.errors import NotFound
from shared.events import EventLog


@pytest.fixture
def account(db, owner):
    return accounts.create_account(db, owner, {"name": "Smith Family", "type": "family", "guest": False})


def linked(db, owner, account, first_name, email, *, login=False, accept=False):
    contact = contacts.create_contact(db, owner, {"first_name": first_name, "last_name": "Smith", "emails": [email]})
    contacts.link_contact(db, owner, account.id, contact.id)
    if login:
        access.update_access(db, owner, account.id, email, {"login": True, "notify": True}, EventLog())
    if accept:
        client = db.scalar(identity.select(identity.User).where(identity.User.email == email))
        identity.accept_invitation(db, owner.firm_id, client.id, "a good long password")


def test_only_clients_who_activated_their_portal_account_receive_chats(db, owner, account):
    linked(db, owner, account, "Jane", "jane@home.example", login=True, accept=True)
    linked(db, owner, account, "John", "john@home.example", login=True)  # invited, not activated
    linked(db, owner, account, "Jim", "jim@home.example")  # no portal access
    answer = chat_audience.chat_audience(db, owner.firm_id, account.id)
    assert [(c["first_name"], c["email"], c["notify"]) for c in answer["clients"]] == [
        ("Jane", "jane@home.example", True)]


def test_the_answer_names_the_team_jobs_and_the_chat_switches(db, owner, account):
    job = jobs.create_job(db, owner, account.id, {"name": "Return", "status": "Open", "client_status": None})
    portal_settings.update_settings(db, owner, {"chat_email_content": True})
    answer = chat_audience.chat_audience(db, owner.firm_id, account.id)
    assert answer["account_name"] == "Smith Family" and answer["job_ids"] == [job.id]
    assert answer["team"] == [{"id": owner.id, "name": owner.name}]
    assert (answer["clients_create_chats"], answer["chat_email_content"]) == (True, True)
    assert answer["clients"] == []


def test_another_firms_account_is_not_found(db, owner, other_owner, account):
    with pytest.raises(NotFound):
        chat_audience.chat_audience(db, other_owner.firm_id, account.id)
    with pytest.raises(NotFound):
        chat_audience.chat_audience(db, owner.firm_id, uuid.uuid4())
