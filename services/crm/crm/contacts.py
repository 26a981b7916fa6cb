"""Contacts: people with any number of emails, linked to any number of accounts."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session as DbSession

from crm.accounts import get_account, visible_account_ids
from crm.identity import normalise_email
from crm.models import AccountContact, Contact, ContactEmail, User
from crm.permissions import require_right, sees_all_accounts
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed


def _clean_emails(emails: list[str]) -> list[str]:
    cleaned = [normalise_email(e) for e in emails]
    if len(set(cleaned)) != len(cleaned):
        raise ValidationFailed("An address is listed twice.", {"emails": ["Each address may appear once."]})
    return cleaned


def _claim_emails(db: DbSession, actor: User, contact_id: uuid.UUID, emails: list[str]) -> None:
    taken = db.scalars(
        select(ContactEmail.email).where(ContactEmail.firm_id == actor.firm_id, ContactEmail.email.in_(emails),
                                         ContactEmail.contact_id != contact_id)
    ).all()
    if taken:
        raise Conflict("These addresses belong to another contact of the firm.", {"emails": sorted(taken)})


def create_contact(db: DbSession, actor: User, data: dict[str, Any]) -> Contact:
    require_right(actor, "manage_accounts")
    emails = _clean_emails(data["emails"])
    contact = Contact(id=uuid.uuid4(), firm_id=actor.firm_id, first_name=data["first_name"].strip(),
                      last_name=data["last_name"].strip())
    _claim_emails(db, actor, contact.id, emails)
    contact.emails = [ContactEmail(firm_id=actor.firm_id, email=e, position=i) for i, e in enumerate(emails)]
    db.add(contact)
    db.flush()
    return contact


def _visible(actor: User) -> Any:
    """Contacts linked to an account the actor may see, or to none yet (so he can link a new one)."""
    query = select(Contact).where(Contact.firm_id == actor.firm_id)
    if not sees_all_accounts(actor):
        linked_to_visible = select(AccountContact.contact_id).where(
            AccountContact.account_id.in_(visible_account_ids(actor)))
        linked_anywhere = select(AccountContact.contact_id).where(AccountContact.firm_id == actor.firm_id)
        query = query.where(or_(Contact.id.in_(linked_to_visible), Contact.id.not_in(linked_anywhere)))
    return query


def get_contact(db: DbSession, actor: User, contact_id: uuid.UUID) -> Contact:
    contact = db.scalar(_visible(actor).where(Contact.id == contact_id))
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def update_contact(db: DbSession, actor: User, contact_id: uuid.UUID, data: dict[str, Any]
                   ) -> tuple[Contact, dict[str, str]]:
    """Returns the contact and the addresses it replaced, old -> new (same position, new text)."""
    contact = get_contact(db, actor, contact_id)
    require_right(actor, "manage_accounts")
    for field in ("first_name", "last_name"):
        if field in data:
            setattr(contact, field, data[field].strip())
    replaced: dict[str, str] = {}
    if "emails" in data and not sees_all_accounts(actor):
        # An address change moves pending invitations on every account the contact is linked to.
        hidden = db.scalar(select(func.count()).select_from(AccountContact).where(
            AccountContact.contact_id == contact.id, AccountContact.account_id.not_in(visible_account_ids(actor))))
        if hidden:
            raise Forbidden("This contact is linked to accounts you are not assigned to; "
                            "ask someone who sees them to change its addresses.")
    if "emails" in data:
        emails = _clean_emails(data["emails"])
        _claim_emails(db, actor, contact.id, emails)
        old = [e.email for e in contact.emails]
        replaced = {o: n for o, n in zip(old, emails, strict=False) if o != n and n not in old and o not in emails}
        contact.emails.clear()
        db.flush()
        contact.emails.extend(ContactEmail(firm_id=actor.firm_id, email=e, position=i) for i, e in enumerate(emails))
    db.flush()
    return contact, replaced


def link_contact(db: DbSession, actor: User, account_id: uuid.UUID, contact_id: uuid.UUID) -> Contact:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    contact = get_contact(db, actor, contact_id)
    exists = db.scalar(select(func.count()).select_from(AccountContact).where(
        AccountContact.account_id == account.id, AccountContact.contact_id == contact.id))
    if not exists:
        db.add(AccountContact(firm_id=actor.firm_id, account_id=account.id, contact_id=contact.id))
        db.flush()
    return contact


def unlink_contact(db: DbSession, actor: User, account_id: uuid.UUID, contact_id: uuid.UUID) -> Contact:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    contact = get_contact(db, actor, contact_id)
    removed = db.execute(delete(AccountContact).where(
        AccountContact.account_id == account.id, AccountContact.contact_id == contact.id))
    if removed.rowcount == 0:
        raise NotFound("This contact is not linked to this account.")
    return contact


def linked_contacts(db: DbSession, account_id: uuid.UUID) -> list[Contact]:
    return list(db.scalars(
        select(Contact).join(AccountContact, AccountContact.contact_id == Contact.id)
        .where(AccountContact.account_id == account_id).order_by(AccountContact.created_at, Contact.id)
    ))
