"""Portal access per (account, email): the LOGIN, NOTIFY and EMAIL SYNC switches and invitations.

Turning LOGIN on makes (or finds) the client user of that address and asks for an
invitation; the notifications service sends it with a single-use link from the links
service. Turning it off takes the account away from that user at once: every portal
request checks `portal_access`, so open sessions lose it too. Which events a change causes is
decided here and handed back in an EventLog; the entrypoint emits them.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from crm import portal_settings
from crm.accounts import get_account
from crm.contacts import linked_contacts
from crm.identity import get_firm, user_with_email, void_invitations
from crm.models import Account, Contact, PortalAccess, User
from crm.permissions import require_right
from shared.contracts.crm import (
    NOTIFICATION_CATEGORIES,
    PORTAL_ACCESS_GRANTED,
    PORTAL_ACCESS_REVOKED,
    PORTAL_INVITATION_REQUESTED,
    RIGHTS,
)
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.events import EventLog


@dataclass
class AccessView:
    email: str
    contact_id: uuid.UUID
    login: bool = False
    notify: bool = False
    email_sync: bool = False
    status: str = "none"
    categories: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(NOTIFICATION_CATEGORIES, True))


def _view(email: str, contact_id: uuid.UUID, row: PortalAccess | None) -> AccessView:
    if row is None:
        return AccessView(email, contact_id)
    return AccessView(email, contact_id, row.login, row.notify, row.email_sync, row.status, dict(row.categories))


def _linked_emails(db: DbSession, account: Account) -> dict[str, Contact]:
    return {e.email: c for c in linked_contacts(db, account.id) for e in c.emails}


def list_access(db: DbSession, actor: User, account_id: uuid.UUID) -> list[AccessView]:
    account = get_account(db, actor, account_id)
    stored = {r.email: r for r in db.scalars(select(PortalAccess).where(PortalAccess.account_id == account.id))}
    return [_view(email, contact.id, stored.get(email)) for email, contact in _linked_emails(db, account).items()]


def _access_row(db: DbSession, actor: User, account: Account, email: str) -> tuple[PortalAccess, Contact]:
    contact = _linked_emails(db, account).get(email.strip().lower())
    if contact is None:
        raise NotFound("No linked contact of this account has this email.")
    email = email.strip().lower()
    row = db.get(PortalAccess, (account.id, email))
    if row is None:
        row = PortalAccess(account_id=account.id, email=email, firm_id=actor.firm_id, login=False, notify=False,
                           email_sync=False, status="none",
                           categories=dict.fromkeys(NOTIFICATION_CATEGORIES, True))
        db.add(row)
    return row, contact


def _client_user(db: DbSession, actor: User, email: str, contact: Contact) -> User:
    """The client user of this address in this firm, made (invited) if he does not exist yet. Logins of
    the address in other firms are none of this firm's business (and never named to it)."""
    user = user_with_email(db, actor.firm_id, email)
    if user is not None and user.kind != "client":
        raise Conflict("This address belongs to a member of your team; use another address.",
                       {"email": ["A team member of this firm has this address."]})
    if user is None:
        user = User(id=uuid.uuid4(), firm_id=actor.firm_id, kind="client", email=email,
                    name=f"{contact.first_name} {contact.last_name}".strip(), password_hash=None, role=None,
                    rights=[], status="invited")
        db.add(user)
        db.flush()
    return user


def _request_invitation(db: DbSession, account: Account, row: PortalAccess, contact: Contact, log: EventLog
                        ) -> None:
    """Ask the notifications service to email a portal invitation, with what it needs for that. The new
    invitation replaces the earlier ones: their links stop working now, not when the new one is issued."""
    user = db.get(User, row.user_id)
    if user is not None:
        void_invitations(user)
    firm = get_firm(db, account.firm_id)
    log.add(PORTAL_INVITATION_REQUESTED, {
        "firm_name": firm.name, "account_id": str(account.id), "account_name": account.name,
        "email": row.email, "user_id": str(row.user_id), "first_name": contact.first_name,
    }, firm_id=account.firm_id, account_id=account.id)


def update_access(db: DbSession, actor: User, account_id: uuid.UUID, email: str, data: dict[str, Any],
                  log: EventLog, account: Account | None = None) -> AccessView:
    account = account or get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    row, contact = _access_row(db, actor, account, email)
    for switch in ("notify", "email_sync"):
        if switch in data:
            setattr(row, switch, data[switch])
    if data.get("login") is True and not row.login:
        user = _client_user(db, actor, row.email, contact)
        row.login, row.user_id = True, user.id
        row.status = "active" if user.status == "active" else "invited"
        db.flush()
        if row.status == "invited":
            _request_invitation(db, account, row, contact, log)
        else:
            log.add(PORTAL_ACCESS_GRANTED, _access_event(account, row), firm_id=account.firm_id,
                    account_id=account.id)
    elif data.get("login") is False and row.login:
        log.add(PORTAL_ACCESS_REVOKED, _access_event(account, row), firm_id=account.firm_id, account_id=account.id)
        row.login, row.status, row.user_id = False, "none", None
    db.flush()
    return _view(row.email, contact.id, row)


def _access_event(account: Account, row: PortalAccess) -> dict[str, Any]:
    return {"account_id": str(account.id), "email": row.email,
            "user_id": str(row.user_id) if row.user_id else None}


def bulk_update_access(db: DbSession, actor: User, items: list[dict[str, Any]], log: EventLog
                       ) -> list[AccessView]:
    """All or nothing: the first failing item fails the whole request, naming the item."""
    require_right(actor, "manage_accounts")
    accounts: dict[uuid.UUID, Account] = {}
    views = []
    for index, item in enumerate(items):
        try:
            account = accounts.get(item["account_id"]) or get_account(db, actor, item["account_id"])
            accounts[account.id] = account
            data = {k: item[k] for k in ("login", "notify", "email_sync") if k in item}
            views.append(update_access(db, actor, account.id, item["email"], data, log, account))
        except (NotFound, Conflict) as exc:
            raise type(exc)(f"items[{index}]: {exc.description}", {f"items.{index}": [exc.description]}) from None
    return views


def reinvite(db: DbSession, actor: User, account_id: uuid.UUID, email: str, log: EventLog) -> AccessView:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    row, contact = _access_row(db, actor, account, email)
    if not row.login or row.status != "invited":
        raise Conflict("Only a pending invitation can be sent again; turn LOGIN on first.")
    _request_invitation(db, account, row, contact, log)
    return _view(row.email, contact.id, row)


def get_categories(db: DbSession, actor: User, account_id: uuid.UUID, email: str) -> dict[str, bool]:
    account = get_account(db, actor, account_id)
    row, _ = _access_row(db, actor, account, email)
    return dict(row.categories)


def set_categories(db: DbSession, actor: User, account_id: uuid.UUID, email: str, categories: dict[str, bool]
                   ) -> dict[str, bool]:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    unknown = set(categories) - set(NOTIFICATION_CATEGORIES)
    if unknown:
        raise ValidationFailed("Unknown notification categories.", {"categories": sorted(unknown)})
    row, _ = _access_row(db, actor, account, email)
    row.categories = {**row.categories, **categories}
    db.flush()
    return dict(row.categories)


def follow_email_change(db: DbSession, actor: User, contact: Contact, replaced: dict[str, str],
                        log: EventLog) -> None:
    """A pending invitation to a replaced address is voided at once and sent to the new address instead.

    Active access stays with the old address: the firm adds the new one, waits for its
    activation, then turns LOGIN off on the old one, so the client never loses access.
    """
    for old, new in replaced.items():
        for row in db.scalars(select(PortalAccess).where(PortalAccess.firm_id == actor.firm_id,
                                                         PortalAccess.email == old,
                                                         PortalAccess.status == "invited")).all():
            account = db.get(Account, row.account_id)
            invited = db.get(User, row.user_id) if row.user_id else None
            if invited is not None:
                void_invitations(invited)  # the link the old address got dies with this call
            holder = user_with_email(db, actor.firm_id, new)
            if holder is None and invited is not None and invited.status == "invited":
                invited.email = new  # he never accepted: the invitation follows the address
                holder = invited
            elif holder is None:
                holder = _client_user(db, actor, new, contact)
            elif holder.kind != "client":
                raise Conflict("The new address belongs to a member of your team; use another address.",
                               {"emails": [f"{new}: a team member of this firm has this address."]})
            moved = PortalAccess(account_id=row.account_id, email=new, firm_id=row.firm_id, login=True,
                                 notify=row.notify, email_sync=row.email_sync,
                                 status="active" if holder.status == "active" else "invited",
                                 user_id=holder.id, categories=dict(row.categories))
            db.delete(row)
            db.flush()
            db.add(moved)
            db.flush()
            if moved.status == "invited":
                _request_invitation(db, account, moved, contact, log)
            else:
                log.add(PORTAL_ACCESS_GRANTED, _access_event(account, moved), firm_id=account.firm_id,
                        account_id=account.id)


def email_preferences(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, email: str) -> dict[str, Any]:
    """What a service sending a client email must respect for this address on this account (no actor: the
    caller names the firm). `known` false: the address is no access row of the account (a third party).
    An access row nobody touched has every switch off (NOTIFY too) and every category on.
    The account must be the firm's: NotFound otherwise."""
    account = db.scalar(select(Account).where(Account.id == account_id, Account.firm_id == firm_id))
    if account is None:
        raise NotFound("No such account.")
    email = email.strip().lower()
    contact = _linked_emails(db, account).get(email)
    if contact is None:
        return {"known": False, "notify": False, "categories": {}, "status": "none", "user_id": None,
                "first_name": None}
    row = db.get(PortalAccess, (account.id, email))
    view = _view(email, contact.id, row)
    return {"known": True, "notify": view.notify, "status": view.status,
            # A category added after the row was made is on, as it is for a new row.
            "categories": {**dict.fromkeys(NOTIFICATION_CATEGORIES, True), **view.categories},
            "user_id": row.user_id if row is not None else None, "first_name": contact.first_name}


def portal_accounts(db: DbSession, client: User) -> list[Account]:
    """The accounts a client user may open now: LOGIN on and activated for his address."""
    return list(db.scalars(
        select(Account).join(PortalAccess, PortalAccess.account_id == Account.id)
        .where(PortalAccess.user_id == client.id, PortalAccess.login.is_(True), PortalAccess.status == "active")
        .order_by(Account.name, Account.id)
    ))


def require_portal_account(db: DbSession, client: User, account_id: uuid.UUID) -> Account:
    """What every portal path checks first: an account he lost access to is not found."""
    account = db.scalar(
        select(Account).join(PortalAccess, PortalAccess.account_id == Account.id)
        .where(Account.id == account_id, PortalAccess.user_id == client.id, PortalAccess.login.is_(True),
               PortalAccess.status == "active")
    )
    if account is None:
        raise NotFound("No such account.")
    return account


def authorize_account(db: DbSession, actor: User, account_id: uuid.UUID, right: str | None = None
                      ) -> dict[str, Any]:
    """May `actor` act on this account (holding `right`, when the act needs one)? A staff member who
    sees the account, or a client user with portal access to it; anyone else gets NotFound (or
    Forbidden for a missing right). A client also gets the portal switches that decide what he may do
    there. -> `{account, principal_kind, user, portal_settings}` (AccountAuthorizationSchema)."""
    if right is not None and right not in RIGHTS:
        raise ValidationFailed("Unknown right.", {"right": [f"Must be one of: {', '.join(RIGHTS)}."]})
    if actor.kind == "client":
        if right is not None:
            raise Forbidden("Client users hold no staff rights.")
        account = require_portal_account(db, actor, account_id)
        switches = portal_settings.get_settings(db, actor)
    else:
        # Not found before forbidden: a staff member without the right learns nothing of an unseen account.
        account = get_account(db, actor, account_id)
        if right is not None:
            require_right(actor, right)
        switches = None
    return {"account": account, "principal_kind": actor.kind, "user": actor, "portal_settings": switches}
