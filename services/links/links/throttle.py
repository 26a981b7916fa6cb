"""Wrong tokens are slowed per client address, in the database so every instance shares the count.

The rule (API.md: "A valid link token always works, also from a throttled address"; "repeated wrong
tokens from one address are throttled (429 with Retry-After) without slowing anyone else"), after
Nextcloud's throttler (reliability.md §1):

- A token is looked up first. A live, revoked, expired or used link (200 or 410) was a real token:
  it never writes anything here, so a valid link costs the same from any address (`describe_link`
  reads the address's row in the token's own statement, and ignores it for a real token).
- Only a miss comes here: a token we never issued, or one of another kind. Each answered miss
  (a 404) counts against its address, and makes the address wait `delay(count)` before its next
  miss is answered: 200 ms, doubling with each miss, up to 25 s. A miss within the wait is refused
  with `Throttled` (429) whose `retry_after` is the time really left, rounded up to whole seconds.
- Refused misses are not counted and do not lengthen the wait: the wait ends when it said, and a
  guesser gets one answered guess per wait. A refusal costs one primary-key read (after the token's
  lookup, or within it for `describe_link`) and no write.
- The count grows while each miss comes within `WINDOW` of the one before; after a quiet `WINDOW` it
  starts again from 1. Pausing does not pay: a new count allows 8 misses in its first 25 s, while
  the 15 minutes of quiet would have allowed 36 at the cap.
- Refusing rather than sleeping: a sleeping worker is one fewer for everybody else, and a guesser
  who sends many requests at once would hold them all.
- An address is an IPv4 address or an IPv6 /64 (what one subscriber usually gets), as Nextcloud's
  throttler does; IPv4-mapped IPv6 addresses count as their IPv4 address.

What it does not do: hide whether a guess was right. A 429 answers only misses, so it says "wrong"
as clearly as a 404 would. That is the price of never slowing a valid link (behind one NAT, an office
keeps its links while a guesser next door waits), and it is safe because guessing is hopeless anyway:
256-bit tokens, 2^256 / (10^6 live links · 10^4 guesses/s) ≈ 10^59 years (reliability.md §1:
throttling protects CPU and writes, not the token space). What the wait bounds is the work a guesser
causes: one counted miss per wait per address.

A miss fails its call. `describe_link` (the public pages) only reads, on a read-only connection: its miss is
counted once the call has failed, in a write transaction of its own (`counting`, UnitOfWork.on_failure), so a
valid token never pays for a write. `resolve_link` and
`redeem_link` run in a write transaction whose rollback would drop the count: `record_failure` counts it in
the call's transaction and notes it, and `record_again` counts it again after the rollback.
Misses from one address that pass the check together (at most the calls in flight) are all answered,
and all counted: the burst lengthens the wait by as many doublings.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Interval,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session as DbSession

from links.models import FailedAttempt
from shared.errors import Throttled

FIRST_DELAY = timedelta(milliseconds=200)
MAX_DELAY = timedelta(seconds=25)
WINDOW = timedelta(minutes=15)


def delay(failures: int) -> timedelta:
    """How long an address waits after its `failures`-th counted miss: 200 ms doubling, at most 25 s."""
    doublings = min(max(failures, 1) - 1, 16)  # 200 ms · 2^16 is far past the cap: no overflow
    return min(FIRST_DELAY * 2 ** doublings, MAX_DELAY)


_failed = FailedAttempt.__table__.c


def _recent(window: timedelta) -> ColumnElement[bool]:
    return _failed.last_failure_at > func.now() - window


def check(db: DbSession, key: str, *, window: timedelta = WINDOW) -> None:
    """Refuse a miss that comes within its address's wait (Throttled, a 429 saying the time left)."""
    row = db.execute(select(_failed.failures, _failed.last_failure_at, func.now())
                     .where(_failed.address == key, _recent(window))).first()
    if row is not None:
        refuse_if_waiting(*row)


def recent_failures(key: str | BindParameter[str], *, window: timedelta = WINDOW) -> ColumnElement[bool]:
    """SQL: the join condition of an address's row while it still counts (for a lookup that reads it along)."""
    return and_(_failed.address == key, _recent(window))


def refuse_if_waiting(failures: int | None, last_failure_at: datetime | None, now: datetime) -> None:
    """Throttled while an address with `failures` counted misses, the last at `last_failure_at`, must wait."""
    if failures is None or last_failure_at is None:
        return
    left = (last_failure_at + delay(failures) - now).total_seconds()
    if left > 0:
        raise Throttled(f"Too many wrong links from this address: wait {math.ceil(left)} s before the next one.",
                        retry_after=math.ceil(left))


# Where a session remembers the misses counted in its transaction (see record_again).
_COUNTED = "links.throttle.counted"


def record_failure(db: DbSession, key: str, *, window: timedelta = WINDOW) -> int:
    """Count one answered miss of this address; returns its count. The call fails (a 404) and its
    rollback would drop the count, so the session remembers it for `record_again`."""
    db.info.setdefault(_COUNTED, []).append((key, window))
    return db.execute(_COUNT, {"address": key, "window": window}).scalar_one()


def counting(key: str, *, window: timedelta = WINDOW) -> Callable[[DbSession], None]:
    """What counts one answered miss of this address after its call failed, in the write transaction the
    caller commits (`UnitOfWork.on_failure`): a lookup on a read-only connection writes nothing, and a valid
    token pays for no write."""
    return lambda db: db.execute(_COUNT_LAZILY, {"address": key, "window": window}).scalar_one()


def record_again(db: DbSession) -> None:
    """After the rollback of a call that failed on misses: count them again, in the write transaction the
    caller commits (`UnitOfWork.on_failure`), so a 404 still costs the address its wait. One statement each,
    committed without waiting for the disk (`_COUNT_LAZILY`)."""
    for key, window in db.info.pop(_COUNTED, []):
        db.execute(_COUNT_LAZILY, {"address": key, "window": window})


def _count_statement(*, lazily: bool) -> Insert:
    """The upsert that counts one miss of `:address` (`:window`: how long the count keeps growing).
    `lazily`: its transaction's commit does not wait for the disk (synchronous_commit off, set by the
    statement itself so that counting stays one round trip): a count lost in a crash only shortens one
    guesser's wait, not worth a disk flush per wrong token."""
    table = FailedAttempt.__table__
    row = select(bindparam("address", type_=String), literal(1), func.now())
    if lazily:
        setting = func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true())
        row = row.where(setting.is_not(None))
    stmt = insert(table).from_select(["address", "failures", "last_failure_at"], row)
    # In DO UPDATE, `failed_attempts.*` is the row already there.
    still_counting = table.c.last_failure_at > func.now() - bindparam("window", type_=Interval)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.address],
        set_={"failures": case((still_counting, table.c.failures + 1), else_=1), "last_failure_at": func.now()},
    ).returning(table.c.failures)


# Built once: the miss path is as hot as a valid link's.
_COUNT = _count_statement(lazily=False)
_COUNT_LAZILY = _count_statement(lazily=True)


def purge(db: DbSession, *, window: timedelta = WINDOW, batch: int = 1000) -> int:
    """Forget addresses quiet for longer than `window` (their wait, at most MAX_DELAY, is long over);
    returns how many. Rows another transaction holds are skipped (SKIP LOCKED), so instances purging
    together never wait on each other."""
    doomed = (select(_failed.address).where(_failed.last_failure_at <= func.now() - window)
              .limit(batch).with_for_update(skip_locked=True))
    return db.execute(delete(FailedAttempt.__table__).where(_failed.address.in_(doomed))).rowcount
