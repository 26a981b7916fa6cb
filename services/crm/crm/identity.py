"""Firms, staff and sessions: signup, login, bearer tokens, the team.

Plain domain code over a SQLAlchemy session: no nameko here, so tests call it directly.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from crm.models import Firm, PortalAccess, Session, User
from crm.permissions import require_manager
from shared.context import Principal
from shared.errors import Conflict, Forbidden, Gone, NotFound, Unauthorized
from shared.paging import newest_first

hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a fast hash is enough; only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _email_taken(db: DbSession, email: str) -> bool:
    return db.scalar(select(User.id).where(func.lower(User.email) == email)) is not None


def _open_session(db: DbSession, user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.add(Session(firm_id=user.firm_id, user_id=user.id, token_hash=hash_token(token)))
    return token


def signup(db: DbSession, firm_name: str, name: str, email: str, password: str) -> tuple[str, User, Firm]:
    """A new firm with its owner, logged in."""
    email = normalise_email(email)
    if _email_taken(db, email):
        raise Conflict("An account with this email already exists; log in instead.")
    firm = Firm(id=uuid.uuid4(), name=firm_name.strip())
    owner = User(
        id=uuid.uuid4(), firm_id=firm.id, kind="staff", email=email, name=name.strip(),
        password_hash=hasher.hash(password), role="owner", rights=[], status="active",
    )
    db.add(firm)
    db.flush()
    db.add(owner)
    db.flush()
    return _open_session(db, owner), owner, firm


def login(db: DbSession, email: str, password: str) -> tuple[str, User]:
    user = db.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    try:
        hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("Wrong email or password.") from None
    if user is None or user.status != "active":
        raise Unauthorized("Wrong email or password.")
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return _open_session(db, user), user


def authenticate(db: DbSession, token: str) -> tuple[Session, User]:
    """The live session and user behind a bearer token; revoked or unknown tokens are 401."""
    row = db.execute(
        select(Session, User)
        .join(User, (User.id == Session.user_id) & (User.firm_id == Session.firm_id))
        .where(Session.token_hash == hash_token(token), Session.revoked_at.is_(None), User.status == "active")
    ).first()
    if row is None:
        raise Unauthorized("The token is unknown, expired or revoked.")
    return row.Session, row.User


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


def get_firm(db: DbSession, firm_id: uuid.UUID) -> Firm:
    firm = db.get(Firm, firm_id)
    if firm is None:
        raise NotFound("No such firm.")
    return firm


def invite_team_member(db: DbSession, actor: User, data: dict[str, Any]) -> User:
    require_manager(actor)
    email = normalise_email(data["email"])
    if _email_taken(db, email):
        raise Conflict("Someone with this email already has a Porta login.", {"email": ["Already in use."]})
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


def accept_invitation(db: DbSession, firm_id: uuid.UUID, user_id: uuid.UUID, password: str) -> tuple[str, User]:
    """The invited user sets his password; his pending portal access becomes active; he is logged in."""
    user = db.scalar(select(User).where(User.id == user_id, User.firm_id == firm_id).with_for_update())
    if user is None or user.status != "invited":
        raise Gone("This invitation is no longer valid.")
    user.password_hash = hasher.hash(password)
    user.status = "active"
    db.execute(
        update(PortalAccess)
        .where(PortalAccess.user_id == user.id, PortalAccess.login.is_(True), PortalAccess.status == "invited")
        .values(status="active")
    )
    db.flush()
    return _open_session(db, user), user
