"""Wrong passwords are throttled per address and per account, with growing delays, in the database so
every crm instance shares the counts.

The rule (API.md: "wrong passwords are throttled per client address (and per account too), with
growing delays ... the owner of an account can always log in from his own address"):

- An address is an IPv4 address or an IPv6 /64, as the links service and Nextcloud count them.
- An address from which a login of this email once succeeded is the owner's own (`LoginAddress`).
  From there an attempt counts only against that pair (`pair:<email>|<address>`): guessers on
  other addresses never slow the owner down, and one on his own network slows only that account.
- From any other address an attempt counts against the address (`address:<address>`) and against
  the account (`account:<email>`): one address cannot try many accounts, many addresses cannot try
  one account.
- Each key's first `free_failures` wrong passwords cost nothing; after that, each one shuts the
  key for `base_delay` seconds doubled per further failure, at most `max_delay` (Nextcloud's
  throttler, with a 429 instead of a sleeping worker). A count starts again after `window` without
  a failure. Attempts refused with 429 never reach the password check and are not counted, so the
  `Retry-After` they carry is the true wait.
- An unknown email counts as a wrong password does: the throttle says nothing about which emails exist.

The check and the count are not one atomic step: concurrent attempts already past the check when a
failure commits still get their answer, so a burst can overshoot by the attempts it had in flight
(at most the service's workers), as in links.throttle.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session as DbSession

from crm.models import LoginAddress, LoginFailure
from shared.errors import Throttled


@dataclass(frozen=True)
class Policy:
    free_failures: int = 5
    base_delay: float = 1.0  # seconds
    max_delay: float = 900.0
    window: timedelta = timedelta(hours=12)
    # An address stays the owner's own this long after his last login from it.
    known_for: timedelta = timedelta(days=180)

    def delay(self, failures: int) -> float:
        """Seconds a key stays shut after its `failures`-th wrong password."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_delay, self.base_delay * 2 ** min(failures - self.free_failures, 40))




def keys_for(db: DbSession, email: str, address: str, now: datetime, policy: Policy) -> list[str]:
    """The keys an attempt on `email` from `address` (a client_key) is checked and counted against."""
    known = db.scalar(select(LoginAddress.last_login_at).where(LoginAddress.email == email,
                                                               LoginAddress.address == address))
    if known is not None and known > now - policy.known_for:
        return [f"pair:{email}|{address}"]
    return [f"address:{address}", f"account:{email}"]


def check(db: DbSession, keys: list[str], now: datetime, policy: Policy) -> None:
    """Throttled (429, with the true wait) while any of `keys` is shut."""
    wait = 0.0
    for failures, last in db.execute(select(LoginFailure.failures, LoginFailure.last_failure_at)
                                     .where(LoginFailure.key.in_(keys))):
        if last > now - policy.window:
            wait = max(wait, (last - now).total_seconds() + policy.delay(failures))
    if wait > 0:
        raise Throttled("Too many failed logins; try again later.", retry_after=math.ceil(wait))


# Where a session remembers the failures counted in its transaction (see record_again).
_COUNTED = "crm.login_throttle.counted"


def record_failure(db: DbSession, keys: list[str], now: datetime, policy: Policy) -> None:
    """Count one wrong password against each key. The login fails (a 401) and its rollback would drop
    the count, so the session remembers it for `record_again`."""
    db.info.setdefault(_COUNTED, []).append((keys, now, policy.window))
    _count(db, keys, now, policy.window)


def record_again(db: DbSession) -> None:
    """After the rollback of a login that failed: count its failures again, in the transaction the caller
    commits (`UnitOfWork.on_failure`), so a 401 still costs the attempt."""
    for keys, now, window in db.info.pop(_COUNTED, []):
        _count(db, keys, now, window)


def _count(db: DbSession, keys: list[str], now: datetime, window: timedelta) -> None:
    table = LoginFailure.__table__
    for key in sorted(keys):  # one order, so concurrent counts never deadlock
        stmt = insert(table).values(key=key, failures=1, last_failure_at=now)
        # In DO UPDATE, `login_failures.*` is the row already there.
        fresh = table.c.last_failure_at <= now - window
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
            "failures": case((fresh, 1), else_=table.c.failures + 1), "last_failure_at": now})
        db.execute(stmt)


def succeeded(db: DbSession, email: str, address: str, now: datetime) -> None:
    """A login of `email` from `address` succeeded (or its password was set there): that address is his own
    from now on, and the failures counted for the pair are forgiven."""
    stmt = insert(LoginAddress.__table__).values(email=email, address=address, last_login_at=now)
    db.execute(stmt.on_conflict_do_update(index_elements=["email", "address"], set_={"last_login_at": now}))
    db.execute(delete(LoginFailure).where(LoginFailure.key == f"pair:{email}|{address}"))


def purge(db: DbSession, now: datetime, policy: Policy, batch: int = 1000) -> int:
    """Forget counts quiet for longer than the window and addresses unused for longer than `known_for`."""
    stale = (select(LoginFailure.key).where(LoginFailure.last_failure_at <= now - policy.window)
             .limit(batch).with_for_update(skip_locked=True))
    purged = db.execute(delete(LoginFailure).where(LoginFailure.key.in_(stale))).rowcount
    old = (select(LoginAddress.email, LoginAddress.address)
           .where(LoginAddress.last_login_at <= now - policy.known_for).limit(batch)
           .with_for_update(skip_locked=True))
    return purged + db.execute(delete(LoginAddress).where(
        tuple_(LoginAddress.email, LoginAddress.address).in_(old))).rowcount
