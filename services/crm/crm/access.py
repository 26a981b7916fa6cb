"""Portal access per (account, email): the LOGIN, NOTIFY and EMAIL SYNC switches and invitations.

Turning LOGIN on makes (or finds) the client user of that address and asks for an
invitation; the notifications service sends it with a single-use link from the links
service. Turning it off takes the account away from that user at once: every portal
request checks `portal_access`, so open sessions lose it too. Which events a change causes is
decided here and handed back in an EventLog; the entrypoint emits them.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm.attributes import set_committed_value

from crm import portal_settings
from crm.accounts import get_account, get_accounts, visible_account
from crm.contacts import linked_contacts
from crm.identity import get_firm, normalise_email, user_with_email, utcnow, void_invitations
from crm.models import Account, AccountContact, Contact, ContactEmail, Firm, PortalAccess, User
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


def _new_client_user(actor: User, email: str, first_name: str, last_name: str) -> User:
    """An invited client user of the actor's firm (not added to the session)."""
    return User(id=uuid.uuid4(), firm_id=actor.firm_id, kind="client", email=email,
                name=f"{first_name} {last_name}".strip(), password_hash=None, role=None, rights=[],
                status="invited")


def _refuse_team_member(user: User | None) -> None:
    if user is not None and user.kind != "client":
        raise Conflict("This address belongs to a member of your team; use another address.",
                       {"email": ["A team member of this firm has this address."]})


def _client_user(db: DbSession, actor: User, email: str, contact: Contact) -> User:
    """The client user of this address in this firm, made (invited) if he does not exist yet. Logins of
    the address in other firms are none of this firm's business (and never named to it)."""
    user = user_with_email(db, actor.firm_id, email)
    _refuse_team_member(user)
    if user is None:
        user = _new_client_user(actor, email, contact.first_name, contact.last_name)
        db.add(user)
        db.flush()
    return user


def _invitation(firm: Firm, account: Account, email: str, user_id: uuid.UUID, first_name: str) -> dict[str, Any]:
    """What the notifications service needs to email a portal invitation (PORTAL_INVITATION_REQUESTED)."""
    return {"firm_name": firm.name, "account_id": str(account.id), "account_name": account.name,
            "email": email, "user_id": str(user_id), "first_name": first_name}


def _request_invitation(db: DbSession, account: Account, row: PortalAccess, contact: Contact, log: EventLog
                        ) -> None:
    """Ask the notifications service to email a portal invitation, with what it needs for that. The new
    invitation replaces the earlier ones: their links stop working now, not when the new one is issued."""
    user = db.get(User, row.user_id)
    if user is not None:
        void_invitations(user)
    log.add(PORTAL_INVITATION_REQUESTED,
            _invitation(get_firm(db, account.firm_id), account, row.email, row.user_id, contact.first_name),
            firm_id=account.firm_id, account_id=account.id)


def _access_event(account: Account, email: str, user_id: uuid.UUID | None) -> dict[str, Any]:
    return {"account_id": str(account.id), "email": email, "user_id": str(user_id) if user_id else None}


class _Linked(NamedTuple):
    """The linked contact an address of an account belongs to: what an access change needs of him."""

    contact_id: uuid.UUID
    first_name: str
    last_name: str


@dataclass
class _Change:
    """One (account, email) row as the items so far leave it: decided in memory, written at the end
    (`_write`), so that a thousand items cost a handful of statements rather than a handful each."""

    account: Account
    email: str
    contact: _Linked
    stored: PortalAccess | None
    login: bool = False
    notify: bool = False
    email_sync: bool = False
    status: str = "none"
    user_id: uuid.UUID | None = None

    def view(self) -> AccessView:
        view = AccessView(self.email, self.contact.contact_id, self.login, self.notify, self.email_sync,
                          self.status)
        if self.stored is not None:
            view.categories = dict(self.stored.categories)
        return view


class _ItemFailed(Exception):
    """Item `index` of an `_apply` failed with `error` (NotFound or Conflict)."""

    def __init__(self, index: int, error: NotFound | Conflict) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


def _linked_addresses(db: DbSession, account_ids: set[uuid.UUID]) -> dict[tuple[uuid.UUID, str], _Linked]:
    """(account id, email) -> its linked contact, for every address of every contact linked to these accounts
    (_linked_emails for many accounts, in one query)."""
    rows = db.execute(
        select(AccountContact.account_id, ContactEmail.email, Contact.id, Contact.first_name, Contact.last_name)
        .join(Contact, Contact.id == AccountContact.contact_id)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .where(AccountContact.account_id.in_(list(account_ids))))
    return {(account_id, email): _Linked(contact_id, first, last)
            for account_id, email, contact_id, first, last in rows}


def _users_with_emails(db: DbSession, firm_id: uuid.UUID, emails: set[str]) -> dict[str, User]:
    """user_with_email for many normalised addresses, in one query."""
    if not emails:
        return {}
    return {normalise_email(u.email): u for u in db.scalars(
        select(User).where(User.firm_id == firm_id, func.lower(User.email).in_(list(emails))))}


def _apply(db: DbSession, actor: User, accounts: dict[uuid.UUID, Account], items: list[dict[str, Any]],
           log: EventLog) -> list[AccessView]:
    """Each item's switches in order, as if one by one (an item sees what the ones before it did), on the
    `accounts` the actor may see; a failing item raises _ItemFailed and nothing is written. Reads in at most
    four queries and writes in at most three statements (`_write`), whatever the number of items."""
    emails = [normalise_email(item["email"]) for item in items]
    logins = {email for email, item in zip(emails, items, strict=True) if item.get("login") is True}
    linked = _linked_addresses(db, set(accounts))
    stored = {(r.account_id, r.email): r
              for r in db.scalars(select(PortalAccess).where(PortalAccess.account_id.in_(list(accounts))))}
    users = _users_with_emails(db, actor.firm_id, logins)
    firm = get_firm(db, actor.firm_id) if logins else None
    changes: dict[tuple[uuid.UUID, str], _Change] = {}
    new_users: list[User] = []
    voided: dict[uuid.UUID, User] = {}
    views = []
    for index, (item, email) in enumerate(zip(items, emails, strict=True)):
        try:
            account = accounts.get(item["account_id"])
            if account is None:
                raise NotFound("No such account.")
            change = changes.get((account.id, email))
            if change is None:
                change = changes[(account.id, email)] = _change(account, email, linked, stored)
            for switch in ("notify", "email_sync"):
                if switch in item:
                    setattr(change, switch, item[switch])
            if item.get("login") is True and not change.login:
                user = users.get(email)
                _refuse_team_member(user)
                if user is None:
                    user = users[email] = _new_client_user(actor, email, change.contact.first_name,
                                                           change.contact.last_name)
                    new_users.append(user)
                change.login, change.user_id = True, user.id
                change.status = "active" if user.status == "active" else "invited"
                if change.status == "invited":
                    voided[user.id] = user  # the new invitation replaces the earlier ones (_write)
                    log.add(PORTAL_INVITATION_REQUESTED,
                            _invitation(firm, account, email, user.id, change.contact.first_name),
                            firm_id=account.firm_id, account_id=account.id)
                else:
                    log.add(PORTAL_ACCESS_GRANTED, _access_event(account, email, user.id),
                            firm_id=account.firm_id, account_id=account.id)
            elif item.get("login") is False and change.login:
                log.add(PORTAL_ACCESS_REVOKED, _access_event(account, email, change.user_id),
                        firm_id=account.firm_id, account_id=account.id)
                change.login, change.status, change.user_id = False, "none", None
        except (NotFound, Conflict) as exc:
            raise _ItemFailed(index, exc) from None
        views.append(change.view())
    _write(db, actor, new_users, voided.values(), changes.values())
    return views


def _change(account: Account, email: str, linked: dict[tuple[uuid.UUID, str], _Linked],
            stored: dict[tuple[uuid.UUID, str], PortalAccess]) -> _Change:
    """The row of a linked address as stored (switched off when there is none yet); NotFound otherwise."""
    contact = linked.get((account.id, email))
    if contact is None:
        raise NotFound("No linked contact of this account has this email.")
    row = stored.get((account.id, email))
    if row is None:
        return _Change(account, email, contact, None)
    return _Change(account, email, contact, row, row.login, row.notify, row.email_sync, row.status, row.user_id)


_ROW = ("login", "notify", "email_sync", "status", "user_id")


def _write(db: DbSession, actor: User, new_users: list[User], voided: Iterable[User], changes: Iterable[_Change]
           ) -> None:
    """What `_apply` decided, in one statement of each kind whatever the number of items (a statement per
    row is a round trip per row): the users made, before the rows that refer to them (the session knows
    no order between the two tables); the earlier invitations voided; the rows made or changed."""
    now = utcnow()
    made = {user.id for user in new_users}
    for user in voided:
        if user.id in made:
            void_invitations(user, now)
    db.add_all(new_users)
    db.flush()
    earlier = [user.id for user in voided if user.id not in made]
    if earlier:  # void_invitations for many; the session's users learn it too (synchronize_session)
        db.execute(update(User).where(User.id.in_(earlier)).values(invitations_valid_from=now))
    written = [change for change in changes
               if change.stored is None or any(getattr(change.stored, k) != getattr(change, k) for k in _ROW)]
    if not written:
        return
    upsert = pg_insert(PortalAccess)
    # RETURNING makes SQLAlchemy send the rows as batches of multi-row VALUES (insertmanyvalues); an upsert
    # without it goes through executemany, a round trip per row.
    db.execute(upsert.on_conflict_do_update(index_elements=[PortalAccess.account_id, PortalAccess.email],
                                            set_={k: upsert.excluded[k] for k in (*_ROW, "updated_at")})
               .returning(PortalAccess.account_id),
               [{"account_id": c.account.id, "email": c.email, "firm_id": actor.firm_id, "updated_at": now,
                 "categories": dict.fromkeys(NOTIFICATION_CATEGORIES, True), **{k: getattr(c, k) for k in _ROW}}
                for c in written])
    for change in written:  # the rows the session holds, as now stored, without writing them again
        if change.stored is not None:
            for key in (*_ROW, "updated_at"):
                set_committed_value(change.stored, key, now if key == "updated_at" else getattr(change, key))


def update_access(db: DbSession, actor: User, account_id: uuid.UUID, email: str, data: dict[str, Any],
                  log: EventLog) -> AccessView:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    try:
        return _apply(db, actor, {account.id: account}, [{"account_id": account.id, "email": email, **data}], log)[0]
    except _ItemFailed as failed:
        raise failed.error from None


def bulk_update_access(db: DbSession, actor: User, items: list[dict[str, Any]], log: EventLog
                       ) -> list[AccessView]:
    """All or nothing: the first failing item fails the whole request, naming the item."""
    require_right(actor, "manage_accounts")
    try:
        return _apply(db, actor, get_accounts(db, actor, {item["account_id"] for item in items}), items, log)
    except _ItemFailed as failed:
        exc, index = failed.error, failed.index
        raise type(exc)(f"items[{index}]: {exc.description}", {f"items.{index}": [exc.description]}) from None


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
                log.add(PORTAL_ACCESS_GRANTED, _access_event(account, moved.email, moved.user_id),
                        firm_id=account.firm_id, account_id=account.id)


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


def _portal_account(columns: Any) -> Any:
    """The one definition of the accounts a client user may open: his access row's LOGIN on and active."""
    return (select(columns).join(PortalAccess, PortalAccess.account_id == Account.id)
            .where(Account.id == bindparam("account_id"), PortalAccess.user_id == bindparam("user_id"),
                   PortalAccess.login.is_(True), PortalAccess.status == "active"))


_PORTAL_ACCOUNT = _portal_account(Account)
# authorize_account's, on every portal request: a row of columns (Core, no ORM loading).
_PORTAL_ACCOUNT_ROW = _portal_account(Account.__table__)


def require_portal_account(db: DbSession, client: User, account_id: uuid.UUID) -> Account:
    """What every portal path checks first: an account he lost access to is not found."""
    account = db.scalar(_PORTAL_ACCOUNT, {"account_id": account_id, "user_id": client.id})
    if account is None:
        raise NotFound("No such account.")
    return account


def _portal_account_row(db: DbSession | Connection, client: Any, account_id: uuid.UUID) -> Row:
    """require_portal_account's answer as a row, for reading only."""
    row = db.execute(_PORTAL_ACCOUNT_ROW, {"account_id": account_id, "user_id": client.id}).first()
    if row is None:
        raise NotFound("No such account.")
    return row


def authorize_account(db: DbSession | Connection, actor: Any, account_id: uuid.UUID, right: str | None = None
                      ) -> dict[str, Any]:
    """May `actor` (identity.caller) act on this account (holding `right`, when the act needs one)? A staff
    member who sees the account, or a client user with portal access to it; anyone else gets NotFound (or
    Forbidden for a missing right). A client also gets the portal switches that decide what he may do
    there. -> `{account, principal_kind, user, portal_settings}` (AccountAuthorizationSchema). Asked on
    every request on an account, so it reads rows of columns with statements built once."""
    if right is not None and right not in RIGHTS:
        raise ValidationFailed("Unknown right.", {"right": [f"Must be one of: {', '.join(RIGHTS)}."]})
    if actor.kind == "client":
        if right is not None:
            raise Forbidden("Client users hold no staff rights.")
        account = _portal_account_row(db, actor, account_id)
        switches = portal_settings.get_settings(db, actor)
    else:
        # Not found before forbidden: a staff member without the right learns nothing of an unseen account.
        account = visible_account(db, actor, account_id)
        if right is not None:
            require_right(actor, right)
        switches = None
    return {"account": account, "principal_kind": actor.kind, "user": actor, "portal_settings": switches}
