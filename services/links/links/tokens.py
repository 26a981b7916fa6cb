"""Link tokens: issue, resolve, redeem, revoke. Plain domain code over a SQLAlchemy session, no nameko.

- A token is `secrets.token_urlsafe(32)`: 256 bits from the OS's CSPRNG, 43 URL-safe characters.
  Nothing about it derives from ids or time.
- A token is found by `sha256(token)`, stored under a unique index, so no code compares a secret
  byte by byte and the lookup takes the same time however close a guess is.
- The token itself is never stored in clear. A link issued `retrievable` (file requests, shares,
  invoices: their URL is copied again later) also keeps it sealed with the server's key
  (links.sealing); `reveal` gives it back to the link's own firm (signature and approval requests show
  each signer's or approver's url too). Invitations are never retrievable.
- A link is live while it is not revoked, not expired and, if single-use, not used. Expiry is
  compared with the database's `now()`, the one clock every instance shares.
- A token is looked up first, whatever its address: a live link answers at once and a link that is
  no longer live is Gone, neither touching the throttle. Only an unknown token (or one of another
  kind) goes to links.throttle: NotFound, counted against the caller's address, or Throttled while
  that address must wait.
- Every change to the links of one (firm, target) takes a transaction-scoped advisory lock on
  it, so `replace=True` and revoking a target's links see each other's new links: two
  concurrent re-invitations leave one live link, and a link issued while its target's links
  are being revoked is either revoked too or issued after.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, String, and_, bindparam, func, literal, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as DbSession

from links import throttle
from links.models import FailedAttempt, FirmName, Link
from shared.addresses import client_key
from shared.contracts.links import KINDS
from shared.errors import Gone, NotFound, ValidationFailed

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
# The kinds whose product shows the link again later (a file request's "copy link"); never invitations.
RETRIEVABLE_KINDS = ("file_request", "share", "invoice", "client_request", "signature", "approval")
# What a token we issue can look like (today always 43 characters); anything else is not looked up.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22,128}")


@dataclass
class Issued:
    token: str
    link: Link
    replaced: list[Link] = field(default_factory=list)


@dataclass
class Revealed:
    """One asked-for id: the token of a retrievable link of the firm (else None) and whether it is live."""

    id: str
    token: str | None
    live: bool


def check_kind(kind: Any) -> str | None:
    """The kind a public page asks for (None: any kind), or ValidationFailed."""
    if kind is not None and kind not in KINDS:
        raise ValidationFailed("Unknown link kind.", {"kind": [f"Must be one of: {', '.join(KINDS)}."]})
    return kind


def account_of(target: dict[str, Any]) -> uuid.UUID | None:
    """The account a link concerns: its target when that is an account, else None."""
    if target.get("type") != "account":
        return None
    try:
        return uuid.UUID(str(target.get("id")))
    except ValueError:
        return None


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a fast hash is enough; only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def live() -> ColumnElement[bool]:
    """SQL: the link may still be used, by the database's clock."""
    link = Link.__table__.c
    return and_(
        link.revoked_at.is_(None),
        or_(link.expires_at.is_(None), link.expires_at > func.now()),
        or_(link.single_use.is_(False), link.used_at.is_(None)),
    )


def _lock_target(db: DbSession, firm_id: uuid.UUID, target: dict[str, Any]) -> None:
    """Serialise changes to the links of one (firm, target) until this transaction ends."""
    name = f"links:{firm_id}:{json.dumps(target, sort_keys=True, separators=(',', ':'))}"
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    db.execute(select(func.pg_advisory_xact_lock(key)))


def _revoke_live(db: DbSession, firm_id: uuid.UUID, kind: str | None, target: dict[str, Any]) -> list[Link]:
    stmt = update(Link).where(Link.firm_id == firm_id, Link.target == target, live())
    if kind is not None:
        stmt = stmt.where(Link.kind == kind)
    stmt = stmt.values(revoked_at=func.now()).returning(Link).execution_options(populate_existing=True)
    return sorted(db.scalars(stmt), key=lambda link: link.created_at)


def issue(db: DbSession, firm_id: uuid.UUID, kind: str, target: dict[str, Any], *,
          expires_at: datetime | None = None, single_use: bool = True, replace: bool = False,
          seal: Callable[[str], str] | None = None, view: dict[str, Any] | None = None) -> Issued:
    """A new link and its token (returned here, never stored in clear). `replace=True` first revokes the
    live links of the same (firm, kind, target) in this transaction: a new invitation voids the old.
    `seal` (links.sealing.Sealer.seal) makes the link retrievable: its sealed token is stored too. `view`:
    what its public page shows (links.views), stored as given."""
    if seal is not None and kind not in RETRIEVABLE_KINDS:
        raise ValidationFailed(f"A link of kind {kind} cannot be retrievable.",
                               {"retrievable": [f"Only for: {', '.join(RETRIEVABLE_KINDS)}."]})
    if expires_at is not None and expires_at <= db.scalar(select(func.now())):
        raise ValidationFailed("The link would be expired already.", {"expires_at": ["Must be in the future."]})
    _lock_target(db, firm_id, target)
    replaced = _revoke_live(db, firm_id, kind, target) if replace else []
    token = new_token()
    link = Link(id=uuid.uuid4(), firm_id=firm_id, kind=kind, target=target, token_hash=hash_token(token),
                expires_at=expires_at, single_use=single_use, sealed_token=seal(token) if seal else None,
                view=view)
    db.add(link)
    db.flush()
    return Issued(token, link, replaced)


def _by_token(db: DbSession, token: str, kind: str | None) -> tuple[Link, bool] | None:
    """The link of a token and whether it is live; None for a token we did not issue (of this kind)."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        return None
    query = select(Link, live()).where(Link.token_hash == hash_token(token))
    if kind is not None:
        query = query.where(Link.kind == kind)
    row = db.execute(query.execution_options(populate_existing=True)).first()
    return (row[0], bool(row[1])) if row else None


def _gone(link: Any) -> Gone:
    """Why a link that is no longer live refuses (`link`: a Link or a row with its columns)."""
    if link.revoked_at is not None:
        return Gone("This link was revoked.")
    if link.single_use and link.used_at is not None:
        return Gone("This link was already used.")
    return Gone("This link has expired.")


def _wrong_guess(db: DbSession, key: str) -> NotFound:
    """A miss: Throttled while the address must wait, else counted against it; the NotFound to raise."""
    throttle.check(db, key)
    throttle.record_failure(db, key)
    return NotFound("No such link.")


def resolve(db: DbSession, token: str, address: str, kind: str | None = None) -> Link:
    """The live link of a token, used or not, from any address. Unknown (or another kind): NotFound,
    counted against `address` (a call failing on it keeps the count with `throttle.record_again`), or
    Throttled while that address must wait; revoked, expired or used up: Gone."""
    key = client_key(address)  # a malformed address is refused, but costs no query
    found = _by_token(db, token, kind)
    if found is None:
        raise _wrong_guess(db, key)
    link, is_live = found
    if not is_live:
        raise _gone(link)
    return link


# `describe`'s one statement, built once (the public page's hot path): the link by its token's hash (of the
# asked kind, or any), its firm's name, and the address's recent misses, each joined to one row of nothing so
# that a miss still answers a row. Core columns: no ORM layer on the way.
_links, _firm_names, _failed = Link.__table__.c, FirmName.__table__.c, FailedAttempt.__table__.c
_DESCRIBE = (
    select(_links.id, _links.firm_id, _links.kind, _links.target, _links.expires_at, _links.single_use,
           _links.used_at, _links.revoked_at, _links.created_at, _links.view, live().label("live"),
           _firm_names.name.label("firm_name"), _failed.failures, _failed.last_failure_at, func.now().label("now"))
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(Link.__table__, and_(_links.token_hash == bindparam("token_hash"),
                                    or_(bindparam("kind", type_=String).is_(None),
                                        _links.kind == bindparam("kind", type_=String))))
    .outerjoin(FirmName.__table__, _firm_names.firm_id == _links.firm_id)
    .outerjoin(FailedAttempt.__table__, throttle.recent_failures(bindparam("address", type_=String)))
)


def describe(db: Connection, token: str, address: str, kind: str | None = None, *,
             count_miss: Callable[[Callable[[DbSession], None]], None]) -> RowMapping:
    """`resolve` and what the link's public page shows, in one statement on the call's read connection: the
    link's columns by name, its `firm_name` as crm's events told (None: a firm made before the links service
    kept names) and its `view` as its owning service gave it (None: ask that service). The address's recent
    misses are read along, so a miss needs no second read to be refused; a live link answers whatever they are.
    Errors as `resolve`; an answered miss writes nothing here: `count_miss` (the call's `on_failure`) is given
    what counts it once the call has failed, in a write transaction of its own."""
    key = client_key(address)
    # A token of the wrong shape matches no stored hash (64 hex digits), and is still a counted miss.
    token_hash = hash_token(token) if isinstance(token, str) and _TOKEN_SHAPE.fullmatch(token) else ""
    row = db.execute(_DESCRIBE, {"token_hash": token_hash, "kind": kind, "address": key}).one()
    if row.id is None:
        throttle.refuse_if_waiting(row.failures, row.last_failure_at, row.now)
        count_miss(throttle.counting(key))
        raise NotFound("No such link.")
    if not row.live:
        raise _gone(row)
    return row._mapping


def redeem(db: DbSession, token: str, address: str, kind: str | None = None) -> Link:
    """Use the link: one atomic UPDATE, so of concurrent redeems of a single-use link exactly one
    wins and the others are Gone. A multi-use link stays live and keeps its first `used_at`.
    Errors as `resolve`."""
    key = client_key(address)
    if isinstance(token, str) and _TOKEN_SHAPE.fullmatch(token):
        stmt = update(Link).where(Link.token_hash == hash_token(token), live())
        if kind is not None:
            stmt = stmt.where(Link.kind == kind)
        stmt = (stmt.values(used_at=func.coalesce(Link.used_at, func.now())).returning(Link)
                .execution_options(populate_existing=True))
        link = db.scalar(stmt)
        if link is not None:
            return link
    found = _by_token(db, token, kind)
    if found is None:
        raise _wrong_guess(db, key)
    raise _gone(found[0])


def revoke(db: DbSession, firm_id: uuid.UUID, link_id: uuid.UUID) -> tuple[Link, bool]:
    """Revoke one link of the firm at once; (link, False) if it was revoked before. Another
    firm's link is NotFound."""
    link = db.scalar(select(Link).where(Link.id == link_id, Link.firm_id == firm_id))
    if link is None:
        raise NotFound("No such link.")
    _lock_target(db, firm_id, link.target)
    stmt = (update(Link).where(Link.id == link.id, Link.revoked_at.is_(None)).values(revoked_at=func.now())
            .returning(Link).execution_options(populate_existing=True))
    revoked = db.scalar(stmt)
    if revoked is None:  # revoked before, maybe by a call that committed a moment ago
        db.refresh(link)
        return link, False
    return revoked, True


def revoke_target(db: DbSession, firm_id: uuid.UUID, kind: str | None, target: dict[str, Any]) -> list[Link]:
    """Revoke the live links of one target (of one kind, or of every kind when `kind` is None);
    returns them, oldest first."""
    _lock_target(db, firm_id, target)
    return _revoke_live(db, firm_id, kind, target)


def reveal(db: DbSession, firm_id: uuid.UUID, link_ids: Sequence[Any],
           unseal: Callable[[str], str | None]) -> list[Revealed]:
    """The tokens of the firm's retrievable links, one answer per asked id in the same order.

    An id that is not a UUID, unknown, of another firm or of a link issued without `retrievable`
    answers no token, never an error (another firm's link is also never `live`, so an answer tells
    nothing about it). A revoked, expired or used-up link is revealed with `live` False. A sealed
    token no configured key opens (`unseal` answers None), or that is not this link's token, is
    logged as a warning with the link's id and answers no token.
    """
    wanted: dict[str, uuid.UUID | None] = {}
    for raw in link_ids:
        try:
            wanted[str(raw)] = uuid.UUID(str(raw))
        except ValueError:
            wanted[str(raw)] = None
    ids = {value for value in wanted.values() if value is not None}
    rows = db.execute(select(Link.id, Link.token_hash, Link.sealed_token, live())
                      .where(Link.firm_id == firm_id, Link.id.in_(ids))).all() if ids else []
    found = {row[0]: row for row in rows}
    opened: dict[uuid.UUID, str | None] = {}
    for link_id, token_hash, sealed, _ in rows:
        token = unseal(sealed) if sealed is not None else None
        if sealed is not None and (token is None or hash_token(token) != token_hash):
            log.warning("link %s: its sealed token cannot be revealed (sealed with a key no longer configured, "
                        "or altered)", link_id, extra={"link_id": str(link_id)})
            token = None
        opened[link_id] = token
    answers = []
    for raw in link_ids:
        link_id = wanted[str(raw)]
        row = found.get(link_id) if link_id is not None else None
        answers.append(Revealed(str(raw), opened[link_id] if row else None, bool(row[3]) if row else False))
    return answers
