"""Wrong tokens are throttled per client address, in the database so every instance shares the count.

The rule (API.md: "repeated wrong tokens from one address are throttled (429)"):

- Only a wrong guess counts: a token we never issued, or one of another kind (both answer 404).
  A revoked, expired or used link (410) was a real token, so it does not count; neither does a
  call that is refused.
- The count of an address grows while each wrong guess comes within `WINDOW` of the one before;
  after `WINDOW` without one it starts again from 1.
- An address with `MAX_FAILURES` counted is refused with `Throttled` (429) for every token,
  valid ones included, until `WINDOW` after its last wrong guess. Refusing valid tokens too is
  the point: otherwise a guesser holding one link of his own could tell the lock from a miss
  and carry on. Refused calls are not counted (they never reach the lookup), so the lock ends
  on time, and a guesser gets at most `MAX_FAILURES` guesses per `WINDOW` per address.
- The check runs before the lookup: a locked address costs one primary-key read.
- An address is an IPv4 address or an IPv6 /64 (what one subscriber usually gets), as
  Nextcloud's throttler does; IPv4-mapped IPv6 addresses count as their IPv4 address.

The check and the count are not one atomic step: calls from one address already past the
check when the last allowed failure commits still get their answer, so a burst can overshoot
`MAX_FAILURES` by the calls it had in flight (at most the service's workers). With 256-bit
tokens that changes nothing (reliability.md §1: throttling protects CPU and the password
layer, not the token space); an exact budget would cost a write on every valid resolve.
"""
from __future__ import annotations

import ipaddress
from datetime import timedelta

from sqlalchemy import ColumnElement, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session as DbSession

from links.models import FailedAttempt
from shared.errors import Throttled, ValidationFailed

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)
IPV6_PREFIX = 64


def client_key(address: str) -> str:
    """The throttling bucket of a client address: `203.0.113.7/32` or `2001:db8:1:2::/64`."""
    try:
        ip = ipaddress.ip_address(str(address).strip().split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        raise ValidationFailed("The client address is not an IP address.", {"address": ["Not an IP address."]}) \
            from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 32 if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _recent(window: timedelta) -> ColumnElement[bool]:
    return FailedAttempt.last_failure_at > func.now() - window


def check(db: DbSession, key: str, *, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW) -> None:
    """Refuse an address that has used up its wrong guesses (Throttled, a 429)."""
    failures = db.scalar(select(FailedAttempt.failures).where(FailedAttempt.address == key, _recent(window)))
    if failures is not None and failures >= max_failures:
        raise Throttled("Too many wrong links from this address; try again later.")


# Where a session remembers the wrong guesses counted in its transaction (see record_again).
_COUNTED = "links.throttle.counted"


def record_failure(db: DbSession, key: str, *, window: timedelta = WINDOW) -> int:
    """Count one wrong guess of this address; returns its count. The call fails (a 404) and its
    rollback would drop the count, so the session remembers it for `record_again`."""
    db.info.setdefault(_COUNTED, []).append((key, window))
    return _count(db, key, window)


def record_again(db: DbSession) -> None:
    """After the rollback of a call that failed on wrong guesses: count them again, in the transaction
    the caller commits (`UnitOfWork.on_failure`), so a 404 still costs the address its guess."""
    for key, window in db.info.pop(_COUNTED, []):
        _count(db, key, window)


def _count(db: DbSession, key: str, window: timedelta) -> int:
    table = FailedAttempt.__table__
    stmt = insert(table).values(address=key, failures=1, last_failure_at=func.now())
    # In DO UPDATE, `failed_attempts.*` is the row already there.
    still_counting = table.c.last_failure_at > func.now() - window
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.address],
        set_={"failures": case((still_counting, table.c.failures + 1), else_=1), "last_failure_at": func.now()},
    ).returning(table.c.failures)
    return db.execute(stmt).scalar_one()


def purge(db: DbSession, *, window: timedelta = WINDOW, batch: int = 1000) -> int:
    """Forget addresses quiet for longer than `window`; returns how many. Rows another transaction
    holds are skipped (SKIP LOCKED), so instances purging together never wait on each other."""
    doomed = (select(FailedAttempt.address).where(FailedAttempt.last_failure_at <= func.now() - window)
              .limit(batch).with_for_update(skip_locked=True))
    return db.execute(delete(FailedAttempt).where(FailedAttempt.address.in_(doomed))).rowcount
