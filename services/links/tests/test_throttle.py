"""Wrong tokens are throttled per client address (links.throttle), on the real database."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from links import throttle, tokens
from shared.errors import Gone, NotFound, Throttled, ValidationFailed


def guess_wrong(db, address, times=throttle.MAX_FAILURES):
    for _ in range(times):
        with pytest.raises(NotFound):
            tokens.resolve(db, tokens.new_token(), address)


def age_failures(db, address, by=throttle.WINDOW):
    """Move an address's last wrong guess `by` into the past, as if that time had passed."""
    db.execute(text("UPDATE failed_attempts SET last_failure_at = last_failure_at - :by WHERE address = :a"),
               {"by": by, "a": throttle.client_key(address)})


@pytest.fixture
def valid_token(db, firm, user_target):
    return tokens.issue(db, firm, "share", user_target, single_use=False).token


def test_too_many_wrong_tokens_from_one_address_are_throttled(db, address):
    guess_wrong(db, address)
    with pytest.raises(Throttled):
        tokens.resolve(db, tokens.new_token(), address)


def test_fewer_wrong_tokens_than_the_limit_are_not_throttled(db, address, valid_token):
    guess_wrong(db, address, throttle.MAX_FAILURES - 1)
    assert tokens.resolve(db, valid_token, address)


def test_a_throttled_address_is_refused_even_a_valid_token(db, address, valid_token):
    guess_wrong(db, address)
    with pytest.raises(Throttled):
        tokens.resolve(db, valid_token, address)
    with pytest.raises(Throttled):
        tokens.redeem(db, valid_token, address)


def test_another_address_still_resolves_a_valid_token(db, address, new_address, valid_token):
    guess_wrong(db, address)
    assert tokens.resolve(db, valid_token, new_address())


def test_a_throttled_address_is_let_in_once_the_window_has_passed_since_its_last_wrong_token(db, address,
                                                                                            valid_token):
    guess_wrong(db, address)
    age_failures(db, address, by=throttle.WINDOW / 2)
    with pytest.raises(Throttled):
        tokens.resolve(db, valid_token, address)
    age_failures(db, address, by=throttle.WINDOW / 2)
    assert tokens.resolve(db, valid_token, address)


def test_after_the_window_the_count_starts_again(db, address):
    guess_wrong(db, address)
    age_failures(db, address)
    guess_wrong(db, address, throttle.MAX_FAILURES - 1)
    with pytest.raises(NotFound):  # the tenth wrong guess of the new count is still answered
        tokens.resolve(db, tokens.new_token(), address)


def test_refused_calls_do_not_extend_the_lock(db, address, valid_token):
    guess_wrong(db, address)
    for _ in range(5):
        with pytest.raises(Throttled):
            tokens.resolve(db, tokens.new_token(), address)
    age_failures(db, address)
    assert tokens.resolve(db, valid_token, address)


def test_wrong_tokens_at_redeem_count_too(db, address):
    for _ in range(throttle.MAX_FAILURES):
        with pytest.raises(NotFound):
            tokens.redeem(db, tokens.new_token(), address)
    with pytest.raises(Throttled):
        tokens.resolve(db, tokens.new_token(), address)


def test_a_token_asked_for_as_another_kind_counts_as_wrong(db, address, valid_token):
    for _ in range(throttle.MAX_FAILURES):
        with pytest.raises(NotFound):
            tokens.resolve(db, valid_token, address, kind="payment")
    with pytest.raises(Throttled):
        tokens.resolve(db, valid_token, address, kind="share")


def test_dead_links_do_not_count_as_wrong_tokens(db, firm, user_target, address):
    issued = tokens.issue(db, firm, "invitation", user_target)
    tokens.revoke(db, firm, issued.link.id)
    for _ in range(throttle.MAX_FAILURES + 1):
        with pytest.raises(Gone):
            tokens.resolve(db, issued.token, address)


def test_addresses_of_one_ipv6_64_share_their_count(db, valid_token):
    for n in range(throttle.MAX_FAILURES):
        with pytest.raises(NotFound):
            tokens.resolve(db, tokens.new_token(), f"2001:db8:7:1::{n + 1:x}")
    with pytest.raises(Throttled):
        tokens.resolve(db, valid_token, "2001:db8:7:1:ffff::1")
    assert tokens.resolve(db, valid_token, "2001:db8:7:2::1")


@pytest.mark.parametrize("address", ["", "unknown", "192.0.2.300", None])
def test_a_client_address_that_is_not_an_ip_is_refused(db, address, valid_token):
    with pytest.raises(ValidationFailed):
        tokens.resolve(db, valid_token, address)


def test_purge_forgets_only_addresses_quiet_for_a_whole_window(db, address, new_address):
    quiet, busy = address, new_address()
    guess_wrong(db, quiet, 1)
    guess_wrong(db, busy, 1)
    age_failures(db, quiet)
    throttle.purge(db)
    left = set(db.execute(text("SELECT address FROM failed_attempts WHERE address IN (:a, :b)"),
                          {"a": throttle.client_key(quiet), "b": throttle.client_key(busy)}).scalars())
    assert left == {throttle.client_key(busy)}
