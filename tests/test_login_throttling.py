"""Wrong passwords are throttled per address and per account, never locking the owner out (issue 9, item 2).

API.md: wrong passwords are throttled per client address (and per account too) with growing delays,
429 with a `Retry-After` that tells the true wait; "the owner of an account can always log in from
his own address". The attackers here connect from their own loopback addresses (127.x.y.z), which
the gateway sees as the client address, as it would see distinct hosts; the owner signed up from
127.0.0.1, his known address.
"""
from __future__ import annotations

import random
import time

import requests
from requests.adapters import HTTPAdapter

from tests.conftest import Api

PASSWORD = "correct horse battery"


class _FromAddress(HTTPAdapter):
    """Connects from one local source address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def _fresh_address() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _from(base_url: str, address: str | None = None) -> Api:
    api = Api(base_url)
    adapter = _FromAddress(address or _fresh_address())
    api.session.mount("http://", adapter)
    return api


def _login(api: Api, email: str, password: str) -> requests.Response:
    return api.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_fifty_wrong_passwords_from_one_address_get_429s_that_tell_the_true_wait(firm, base_url, anonymous):
    attacker = _from(base_url)
    answers = []
    for _ in range(50):
        resp = _login(attacker, firm["email"], "wrong password")
        answers.append((time.monotonic(), resp.status_code, resp.headers.get("Retry-After")))
    statuses = [status for _, status, _ in answers]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[:3] == [401] * 3 and statuses.count(429) >= 40, statuses
    # The wait is true: no wrong password got through before the time a 429 announced.
    blocked_until = 0.0
    for at, status, retry_after in answers:
        if status == 429:
            assert retry_after and int(retry_after) >= 1
            blocked_until = max(blocked_until, at + int(retry_after) - 1)
        else:
            assert at >= blocked_until, "a guess got through before the announced wait was over"
    # ... nor is it longer: after the last 429's Retry-After a guess is looked at again (401), and the
    # next wait is longer than the one before.
    last_wait = int(answers[-1][2])
    time.sleep(last_wait)
    assert _login(attacker, firm["email"], "wrong password").status_code == 401
    again = _login(attacker, firm["email"], "wrong password")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > last_wait
    # The right password does not get through from the throttled address, nor from any new address...
    assert _login(attacker, firm["email"], PASSWORD).status_code == 429
    assert _login(_from(base_url), firm["email"], PASSWORD).status_code == 429
    # ... but the owner logs in from his own address at once.
    owner = _login(anonymous, firm["email"], PASSWORD)
    assert owner.status_code == 200, owner.text
    assert owner.json()["user"]["id"] == firm["user"]["id"]


def test_guessers_on_many_addresses_cannot_lock_the_owner_out(firm, base_url, anonymous):
    statuses = [_login(_from(base_url), firm["email"], "wrong password").status_code for _ in range(30)]
    assert 429 in statuses, statuses  # the account is throttled for addresses it never logged in from
    assert _login(anonymous, firm["email"], PASSWORD).status_code == 200


def test_a_throttled_address_answers_the_same_for_unknown_and_known_emails(firm, base_url):
    attacker = _from(base_url)
    for _ in range(12):
        _login(attacker, f"nobody-{random.random()}@example.com", "wrong password")
    resp = _login(attacker, firm["email"], PASSWORD)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert resp.json()["title"]


def test_the_owner_logs_in_from_a_new_address_when_nobody_guesses(firm, base_url):
    resp = _login(_from(base_url), firm["email"], PASSWORD)
    assert resp.status_code == 200, resp.text
