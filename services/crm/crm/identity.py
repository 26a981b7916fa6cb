"""Firms, staff and sessions: signup, login, bearer tokens, the team, invitations.

Plain domain code over a SQLAlchemy session: no nameko here, so tests call it directly. Functions
that depend on the time take `now`, so tests give them any clock.

One address may have a login in any number of firms (a client of two firms, an employee who is also
a client elsewhere): users are unique per (firm, email) only, nothing here looks at another firm's
users except `login`, and a login whose password opens several firms answers their list instead of
a token, for the caller to choose one.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, bindparam, exists, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from crm import login_throttle
from crm.models import Firm, PortalAccess, Session, User
from crm.permissions import require_manager
from shared.addresses import client_key
from shared.context import Principal
from shared.errors import Conflict, Forbidden, Gone, NotFound, Unauthorized
from shared.paging import newest_first

hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))
# The most logins of one address whose password a login checks (each check costs an argon2 hash).
MAX_LOGINS_PER_EMAIL = 20
# A session's last use is written at most this often: most requests only read it.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    """A session ends `idle` after its last use, and `max_age` after its login whatever its use."""

    idle: timedelta = timedelta(hours=12)
    max_age: timedelta = timedelta(days=30)


@dataclass
class LoginOutcome:
    """A logged-in user and his token, or (several firms opened, no firm named) the firms to choose from."""

    token: str | None = None
    user: User | None = None
    firms: list[Firm] = field(default_factory=list)


def utcnow() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a fast hash is enough; only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_with_email(db: DbSession, firm_id: uuid.UUID, email: str) -> User | None:
    """The user of this firm with this address (any kind, any status); other firms' never count."""
    return db.scalar(select(User).where(User.firm_id == firm_id, func.lower(User.email) == normalise_email(email)))


def _open_session(db: DbSession, user: User, now: datetime | None = None) -> str:
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    db.add(Session(firm_id=user.firm_id, user_id=user.id, token_hash=hash_token(token), created_at=now,
                   last_used_at=now))
    return token


def signup(db: DbSession, firm_name: str, name: str, email: str, password: str, address: str | None = None
           ) -> tuple[str, User, Firm]:
    """A new firm with its owner, logged in. An address with logins elsewhere may sign up another firm: a
    refusal would tell anyone that it has a login. `address` (the caller's) becomes the owner's own."""
    email = normalise_email(email)
    firm = Firm(id=uuid.uuid4(), name=firm_name.strip())
    owner = User(
        id=uuid.uuid4(), firm_id=firm.id, kind="staff", email=email, name=name.strip(),
        password_hash=hasher.hash(password), role="owner", rights=[], status="active",
    )
    db.add(firm)
    db.flush()
    db.add(owner)
    db.flush()
    if address is not None:
        login_throttle.succeeded(db, email, client_key(address), utcnow())
    return _open_session(db, owner), owner, firm


def _password_opens(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def login(db: DbSession, email: str, password: str, address: str, firm_id: uuid.UUID | None = None, *,
          now: datetime | None = None, policy: login_throttle.Policy | None = None) -> LoginOutcome:
    """Log in with an email and password from `address`, throttled (crm.login_throttle).

    The password is checked against every active login of the email (of `firm_id` only, when named):
    one opens -> a session there; several -> the firms to choose from, no session (the caller repeats
    with `firm_id`); none -> Unauthorized, the same for an unknown email and for a wrong password."""
    now, policy, email = now or utcnow(), policy or login_throttle.Policy(), normalise_email(email)
    address = client_key(address)
    keys = login_throttle.keys_for(db, email, address, now, policy)
    login_throttle.check(db, keys, now, policy)
    query = select(User).where(func.lower(User.email) == email, User.status == "active",
                               User.password_hash.is_not(None))
    if firm_id is not None:
        query = query.where(User.firm_id == firm_id)
    users = list(db.scalars(query.order_by(User.created_at, User.id).limit(MAX_LOGINS_PER_EMAIL)))
    if not users:
        _password_opens(_DUMMY_HASH, password)
    opened = [user for user in users if _password_opens(user.password_hash, password)]
    if not opened:
        login_throttle.record_failure(db, keys, now, policy)
        raise Unauthorized("Wrong email or password.")
    login_throttle.succeeded(db, email, address, now)
    if len(opened) > 1:
        firms = db.scalars(select(Firm).where(Firm.id.in_([user.firm_id for user in opened]))
                           .order_by(Firm.name, Firm.id))
        return LoginOutcome(firms=list(firms))
    [user] = opened
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return LoginOutcome(token=_open_session(db, user, now), user=user)


class BearerSession(NamedTuple):
    id: uuid.UUID
    firm_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime


class Bearer(NamedTuple):
    id: uuid.UUID
    firm_id: uuid.UUID
    kind: str


class Authenticated(NamedTuple):
    """A live bearer token: its session, its user, and his firm's access version (firms.access_version:
    services key the authorisations they cache on it, shared.access)."""

    session: BearerSession
    user: Bearer
    access_version: int


# Every authenticated request asks this: built once, a Core statement (no ORM loading).
_BEARER = (
    select(Session.id, Session.firm_id, Session.user_id, Session.created_at, Session.last_used_at,
           User.kind, Firm.access_version)
    .join(User, (User.id == Session.user_id) & (User.firm_id == Session.firm_id))
    .join(Firm, Firm.id == User.firm_id)
    .where(Session.token_hash == bindparam("token_hash"), Session.revoked_at.is_(None), User.status == "active")
)
_TOUCH = (update(Session.__table__)
          .where(Session.id == bindparam("session_id"), Session.last_used_at < bindparam("now"))
          .values(last_used_at=bindparam("now")))


def authenticate(db: DbSession | Connection, token: str, *, now: datetime | None = None,
                 policy: SessionPolicy | None = None) -> Authenticated:
    """The live session and user behind a bearer token, with the firm's access version, in one query;
    revoked, unknown, idle or too old: 401. It only reads: a use moves the session's idle time forward
    with `touch`, which the caller writes when `touch_due` (at most once per TOUCH_EVERY)."""
    now, policy = now or utcnow(), policy or SessionPolicy()
    row = db.execute(_BEARER, {"token_hash": hash_token(token)}).first()
    if row is None or row.created_at <= now - policy.max_age or row.last_used_at <= now - policy.idle:
        raise Unauthorized("The token is unknown, expired or revoked.")
    return Authenticated(BearerSession(row.id, row.firm_id, row.user_id, row.created_at, row.last_used_at),
                         Bearer(row.user_id, row.firm_id, row.kind), row.access_version)


def touch_due(session: BearerSession, now: datetime | None = None) -> bool:
    """Whether this use must be written as the session's last one: not within TOUCH_EVERY of the last
    written, so most requests authenticate without a write."""
    return session.last_used_at <= (now or utcnow()) - TOUCH_EVERY


def touch(db: DbSession | Connection, session: BearerSession, now: datetime | None = None) -> None:
    """Record a use of the session: its idle time counts from `now`."""
    db.execute(_TOUCH, {"session_id": session.id, "now": now or utcnow()})


def logout(db: DbSession, principal: Principal) -> None:
    db.execute(
        update(Session)
        .where(Session.id == uuid.UUID(principal.session_id), Session.firm_id == uuid.UUID(principal.firm_id))
        .values(revoked_at=datetime.now(UTC))
    )


def current_user(db: DbSession, principal: Principal, with_firm: bool = False) -> User:
    query = select(User).where(User.id == uuid.UUID(principal.user_id), User.firm_id == uuid.UUID(principal.firm_id))
    user = db.scalar(query.options(joinedload(User.firm)) if with_firm else query)
    if user is None or user.status != "active":
        raise Unauthorized("This user no longer exists.")
    return user


# Hot reads (every public page, every request): statements built once, run through Core, no ORM loading.
_FIRM_NAME = select(Firm.name).where(Firm.id == bindparam("firm_id"))


def firm_name(db: DbSession | Connection, firm_id: uuid.UUID) -> str:
    """What a public page may say about a firm: its name (NotFound for an unknown firm)."""
    name = db.execute(_FIRM_NAME, {"firm_id": firm_id}).scalar()
    if name is None:
        raise NotFound("No such firm.")
    return name


_CALLER = select(User.id, User.firm_id, User.kind, User.name, User.email, User.role, User.rights, User.status).where(
    User.id == bindparam("user_id"), User.firm_id == bindparam("firm_id"))


def caller(db: DbSession | Connection, principal: Principal) -> Row:
    """current_user as a row of his columns, for reading only (access.authorize_account, every request)."""
    user = db.execute(_CALLER, {"user_id": uuid.UUID(principal.user_id),
                                "firm_id": uuid.UUID(principal.firm_id)}).first()
    if user is None or user.status != "active":
        raise Unauthorized("This user no longer exists.")
    return user


def get_firm(db: DbSession, firm_id: uuid.UUID) -> Firm:
    firm = db.get(Firm, firm_id)
    if firm is None:
        raise NotFound("No such firm.")
    return firm


def invite_team_member(db: DbSession, actor: User, data: dict[str, Any]) -> User:
    """An invited staff member; only a user of the same firm with this address is in the way."""
    require_manager(actor)
    email = normalise_email(data["email"])
    if user_with_email(db, actor.firm_id, email) is not None:
        raise Conflict("Someone in your firm (team or client) already has this email.",
                       {"email": ["Already in use in this firm."]})
    member = User(
        id=uuid.uuid4(), firm_id=actor.firm_id, kind="staff", email=email, name=data["name"].strip(),
        password_hash=None, role=data["role"], rights=sorted(set(data["rights"])), status="invited",
    )
    db.add(member)
    db.flush()
    return member


def list_team(db: DbSession, actor: User, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
    """Staff of the actor's firm, newest first."""
    query = select(User).where(User.firm_id == actor.firm_id, User.kind == "staff")
    return newest_first(db, query, User, limit, cursor)


def _team_member(db: DbSession, actor: User, member_id: uuid.UUID) -> User:
    member = db.scalar(
        select(User).where(User.id == member_id, User.firm_id == actor.firm_id, User.kind == "staff")
    )
    if member is None:
        raise NotFound("No such team member.")
    return member


def update_team_member(db: DbSession, actor: User, member_id: uuid.UUID, data: dict[str, Any]) -> User:
    require_manager(actor)
    member = _team_member(db, actor, member_id)
    if member.role == "owner":
        raise Conflict("The owner's role and rights cannot be changed.")
    if "role" in data:
        member.role = data["role"]
    if "rights" in data:
        member.rights = sorted(set(data["rights"]))
    db.flush()
    return member


def remove_team_member(db: DbSession, actor: User, member_id: uuid.UUID) -> User:
    """Removes a team member; his open sessions end with him."""
    require_manager(actor)
    member = _team_member(db, actor, member_id)
    if member.role == "owner":
        raise Conflict("The firm's owner cannot be removed.")
    if member.id == actor.id:
        raise Forbidden("You cannot remove yourself.")
    db.delete(member)
    db.flush()
    return member


def void_invitations(user: User, now: datetime | None = None) -> None:
    """Every invitation link of `user` issued until now stops working at once: `accept_invitation` checks
    it in the transaction that would activate him, whatever the links service has heard yet."""
    user.invitations_valid_from = now or utcnow()


def _pending_invitation(db: DbSession, firm_id: uuid.UUID, user_id: uuid.UUID, link_issued_at: datetime,
                        lock: bool = False) -> User:
    """The invited user a link issued at `link_issued_at` may still activate, or Gone: he was removed, he
    accepted already, the link was voided after (void_invitations), or (a client) no account waits for him."""
    query = select(User).where(User.id == user_id, User.firm_id == firm_id)
    user = db.scalar(query.with_for_update() if lock else query)
    if user is None or user.status != "invited" or (
            user.invitations_valid_from is not None and link_issued_at < user.invitations_valid_from):
        raise Gone("This invitation is no longer valid.")
    if user.kind == "client" and not db.scalar(select(exists().where(
            PortalAccess.user_id == user.id, PortalAccess.login.is_(True), PortalAccess.status == "invited"))):
        raise Gone("This invitation is no longer valid.")
    return user


def describe_invitation(db: DbSession, firm_id: uuid.UUID, user_id: uuid.UUID, link_issued_at: datetime) -> Firm:
    """The firm a still valid invitation link comes from (what its page shows), or Gone."""
    _pending_invitation(db, firm_id, user_id, link_issued_at)
    return get_firm(db, firm_id)


def accept_invitation(db: DbSession, firm_id: uuid.UUID, user_id: uuid.UUID, password: str,
                      link_issued_at: datetime | None = None, address: str | None = None) -> tuple[str, User]:
    """The invited user sets his password; his pending portal access becomes active; he is logged in.
    `link_issued_at`: when the accepted link was issued (None: now, a link just issued); `address`: the
    caller's, his own from now on (login_throttle)."""
    now = utcnow()
    user = _pending_invitation(db, firm_id, user_id, link_issued_at or now, lock=True)
    user.password_hash = hasher.hash(password)
    user.status = "active"
    db.execute(
        update(PortalAccess)
        .where(PortalAccess.user_id == user.id, PortalAccess.login.is_(True), PortalAccess.status == "invited")
        .values(status="active")
    )
    db.flush()
    if address is not None:
        login_throttle.succeeded(db, normalise_email(user.email), client_key(address), now)
    return _open_session(db, user, now), user
