"""Wrong passwords throttled per address and per account, on the real database, with an injected clock."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm import identity, login_throttle
from shared.addresses import client_key
from shared.errors import Throttled, Unauthorized, ValidationFailed

POLICY = login_throttle.Policy(free_failures=5, base_delay=1.0, max_delay=900.0, window=timedelta(hours=12))
START = datetime.now(UTC)  # signup records the owner's address at the real time
OWN, ATTACKER, ELSEWHERE = "198.51.100.1", "203.0.113.66", "192.0.2.44"


@pytest.fixture
def owner(db):
    """Olive, who signed up from her own address OWN."""
    _, user, _ = identity.signup(db, "Firm A", "Olive", "olive@a.example", "correct horse battery", address=OWN)
    return user


def attempt(db, password, address, now, email="olive@a.example"):
    """A login attempt; its failure counted as the service counts it (after the rollback, here in place)."""
    try:
        return identity.login(db, email, password, address, now=now, policy=POLICY)
    finally:
        db.info.pop("crm.login_throttle.counted", None)


def wrong(db, address, now, email="olive@a.example"):
    with pytest.raises((Unauthorized, Throttled)) as refused:
        attempt(db, "wrong password", address, now, email)
    return refused.value


def test_delays_double_after_the_free_failures_and_retry_after_is_the_true_wait(db, owner):
    for i in range(5):
        assert isinstance(wrong(db, ATTACKER, START + timedelta(milliseconds=i)), Unauthorized)
    last = START + timedelta(milliseconds=4)
    refused = wrong(db, ATTACKER, last + timedelta(milliseconds=300))
    assert isinstance(refused, Throttled) and refused.retry_after == 1
    # After the wait, one more guess is looked at; then the wait is twice as long, and so on.
    for step, delay in enumerate([1, 2, 4, 8, 16]):
        now = last + timedelta(seconds=delay)
        assert isinstance(wrong(db, ATTACKER, now), Unauthorized), step
        refused = wrong(db, ATTACKER, now + timedelta(milliseconds=1))
        assert isinstance(refused, Throttled) and refused.retry_after == delay * 2
        last = now
    # A throttled attempt is refused whatever the password, and is not counted.
    with pytest.raises(Throttled) as right:
        attempt(db, "correct horse battery", ATTACKER, last + timedelta(seconds=1))
    assert right.value.retry_after == 31


def test_the_delay_stops_at_its_cap_and_the_count_is_forgotten_after_the_window(db, owner):
    now = START
    for _ in range(30):
        try:
            wrong(db, ATTACKER, now)
        finally:
            now += timedelta(seconds=900)
    refused = wrong(db, ATTACKER, now - timedelta(seconds=899))
    assert isinstance(refused, Throttled) and refused.retry_after <= 900
    assert isinstance(wrong(db, ATTACKER, now + timedelta(hours=13)), Unauthorized)


def test_the_owner_logs_in_from_his_own_address_while_others_guess(db, owner):
    for i in range(40):
        wrong(db, f"203.0.113.{i + 1}", START + timedelta(seconds=i))
    # The account is shut for addresses it never logged in from...
    with pytest.raises(Throttled):
        attempt(db, "correct horse battery", ELSEWHERE, START + timedelta(seconds=41))
    # ... not for its own.
    assert attempt(db, "correct horse battery", OWN, START + timedelta(seconds=41)).user.id == owner.id


def test_a_guesser_on_the_owners_own_address_slows_that_pair_only(db, owner):
    for i in range(8):
        wrong(db, OWN, START + timedelta(milliseconds=i))
    with pytest.raises(Throttled):
        attempt(db, "correct horse battery", OWN, START + timedelta(seconds=1))
    # Nothing was counted against the address or the account for anyone else.
    assert attempt(db, "correct horse battery", ELSEWHERE, START + timedelta(seconds=1)).user.id == owner.id


def test_an_address_that_guessed_many_emails_is_throttled_for_any_email(db, owner):
    for i in range(6):
        wrong(db, ATTACKER, START, email=f"nobody{i}@example.com")
    with pytest.raises(Throttled):
        attempt(db, "correct horse battery", ATTACKER, START + timedelta(milliseconds=10))


def test_a_success_makes_the_address_his_own_and_forgives_its_failures(db, owner):
    for i in range(3):
        wrong(db, ELSEWHERE, START + timedelta(milliseconds=i))
    attempt(db, "correct horse battery", ELSEWHERE, START + timedelta(seconds=1))
    assert login_throttle.keys_for(db, "olive@a.example", client_key(ELSEWHERE), START, POLICY) \
        == [f"pair:olive@a.example|{ELSEWHERE}/32"]


def test_ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2::9")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7/32"
    with pytest.raises(ValidationFailed):
        client_key("not an address")


def test_purge_forgets_quiet_counts_and_old_addresses(db, owner):
    wrong(db, ATTACKER, START)
    assert login_throttle.purge(db, START + timedelta(days=200), POLICY) >= 2
    assert login_throttle.keys_for(db, "olive@a.example", client_key(OWN),
                                   START + timedelta(days=200), POLICY)[0].startswith("address:")
