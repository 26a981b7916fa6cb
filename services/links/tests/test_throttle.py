"""Wrong tokens are throttled per client address (links.throttle), on the real database.

The clock is the database's `now()`, which stands still inside the test's one transaction: an
address's waits are exact here, and a test that needs time to pass moves the address's last wrong
guess into the past (`age`) instead of sleeping.
"""
from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from links import throttle, tokens
from shared.addresses import client_key
from shared.errors import Gone, NotFound, Throttled, ValidationFailed

# The waits after the 1st, 2nd, ... answered wrong guess: 200 ms doubling, capped at 25 s (Nextcloud's).
WAITS = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.0, 25.0, 25.0]


def age(db, address, by: timedelta) -> None:
    """Move an address's last wrong guess `by` into the past, as if that time had passed."""
    db.execute(text("UPDATE failed_attempts SET last_failure_at = last_failure_at - :by WHERE address = :a"),
               {"by": by, "a": client_key(address)})


def guess_wrong(db, address, times: int = 1) -> None:
    """`times` wrong guesses, each once the wait of the one before is over: every one is answered (404)."""
    for _ in range(times):
        age(db, address, throttle.MAX_DELAY)
        with pytest.raises(NotFound):
            tokens.resolve(db, tokens.new_token(), address)


def refused(db, address, token: str | None = None, **kind) -> int:
    """The Retry-After of a wrong token refused from `address` (seconds)."""
    with pytest.raises(Throttled) as refusal:
        tokens.resolve(db, token or tokens.new_token(), address, **kind)
    return refusal.value.retry_after


def failures(db, address) -> int | None:
    return db.scalar(text("SELECT failures FROM failed_attempts WHERE address = :a"),
                     {"a": client_key(address)})


@pytest.fixture
def valid_token(db, firm, user_target):
    return tokens.issue(db, firm, "share", user_target, single_use=False).token


def test_a_wrong_token_is_answered_and_the_next_one_must_wait(db, address):
    with pytest.raises(NotFound):
        tokens.resolve(db, tokens.new_token(), address)
    assert refused(db, address) == 1  # 200 ms, said in whole seconds


def test_each_answered_wrong_guess_doubles_the_wait_up_to_25_seconds(db, address):
    said = []
    for _ in WAITS:
        guess_wrong(db, address)
        said.append(refused(db, address))
    assert said == [math.ceil(wait) for wait in WAITS]


def test_retry_after_is_what_is_left_of_the_wait(db, address):
    guess_wrong(db, address, 7)  # a 12.8 s wait
    age(db, address, timedelta(seconds=5))
    assert refused(db, address) == 8  # 7.8 s left
    age(db, address, timedelta(seconds=7.7))
    assert refused(db, address) == 1  # 0.1 s left
    age(db, address, timedelta(seconds=0.1))
    with pytest.raises(NotFound):  # the wait is over: answered, and counted
        tokens.resolve(db, tokens.new_token(), address)
    assert failures(db, address) == 8


def test_a_valid_token_works_from_an_address_that_must_wait(db, address, valid_token):
    guess_wrong(db, address, 8)
    assert refused(db, address) == 25
    assert tokens.resolve(db, valid_token, address)
    assert tokens.redeem(db, valid_token, address)
    assert refused(db, address) == 25  # and wrong ones are still refused


def test_a_live_or_dead_token_never_reads_nor_writes_the_throttle(db, firm, user_target, address, valid_token):
    dead = tokens.issue(db, firm, "invitation", user_target)
    tokens.revoke(db, firm, dead.link.id)
    guess_wrong(db, address, 8)
    statements = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(db.connection(), "before_cursor_execute", listener)
    try:
        tokens.resolve(db, valid_token, address)
        tokens.redeem(db, valid_token, address)
        with pytest.raises(Gone):
            tokens.resolve(db, dead.token, address)
        with pytest.raises(Gone):
            tokens.redeem(db, dead.token, address)
    finally:
        event.remove(db.connection(), "before_cursor_execute", listener)
    assert statements and not [s for s in statements if "failed_attempts" in s]


def test_refused_guesses_neither_count_nor_lengthen_the_wait(db, address):
    guess_wrong(db, address, 3)  # an 0.8 s wait
    for _ in range(5):
        assert refused(db, address) == 1
    assert failures(db, address) == 3
    guess_wrong(db, address)
    assert failures(db, address) == 4 and refused(db, address) == 2  # 1.6 s: the 4th wait, not the 9th


def test_another_address_is_not_slowed(db, address, new_address, valid_token):
    guess_wrong(db, address, 8)
    other = new_address()
    with pytest.raises(NotFound):
        tokens.resolve(db, tokens.new_token(), other)
    assert tokens.resolve(db, valid_token, other)


def test_after_a_quiet_window_the_count_starts_again(db, address):
    guess_wrong(db, address, 8)
    age(db, address, throttle.WINDOW)
    with pytest.raises(NotFound):
        tokens.resolve(db, tokens.new_token(), address)
    assert failures(db, address) == 1 and refused(db, address) == 1


def test_wrong_tokens_at_redeem_count_and_wait_too(db, address):
    with pytest.raises(NotFound):
        tokens.redeem(db, tokens.new_token(), address)
    assert refused(db, address) == 1
    with pytest.raises(Throttled):
        tokens.redeem(db, tokens.new_token(), address)
    assert failures(db, address) == 1


def test_a_token_asked_for_as_another_kind_counts_as_wrong(db, address, valid_token):
    with pytest.raises(NotFound):
        tokens.resolve(db, valid_token, address, kind="invoice")
    assert refused(db, address, valid_token, kind="invoice") == 1
    assert tokens.resolve(db, valid_token, address, kind="share")


def test_dead_links_do_not_count_as_wrong_tokens(db, firm, user_target, address):
    issued = tokens.issue(db, firm, "invitation", user_target)
    tokens.revoke(db, firm, issued.link.id)
    for _ in range(3):
        with pytest.raises(Gone):
            tokens.resolve(db, issued.token, address)
    assert failures(db, address) is None
    with pytest.raises(NotFound):
        tokens.resolve(db, tokens.new_token(), address)


def test_addresses_of_one_ipv6_64_share_their_wait(db, valid_token):
    with pytest.raises(NotFound):
        tokens.resolve(db, tokens.new_token(), "2001:db8:7:1::1")
    assert refused(db, "2001:db8:7:1:ffff::1") == 1
    assert tokens.resolve(db, valid_token, "2001:db8:7:1:ffff::1")
    with pytest.raises(NotFound):
        tokens.resolve(db, tokens.new_token(), "2001:db8:7:2::1")


@pytest.mark.parametrize("address", ["", "unknown", "192.0.2.300", None])
def test_a_client_address_that_is_not_an_ip_is_refused(db, address, valid_token):
    with pytest.raises(ValidationFailed):
        tokens.resolve(db, valid_token, address)


def test_purge_forgets_only_addresses_quiet_for_a_whole_window(db, address, new_address):
    quiet, busy = address, new_address()
    guess_wrong(db, quiet, 1)
    guess_wrong(db, busy, 1)
    age(db, quiet, throttle.WINDOW)
    throttle.purge(db)
    left = set(db.execute(text("SELECT address FROM failed_attempts WHERE address IN (:a, :b)"),
                          {"a": client_key(quiet), "b": client_key(busy)}).scalars())
    assert left == {client_key(busy)}
