"""Sessions end after an idle time and an age (issue 9, item 2; API.md: "Sessions expire after a
configurable idle time and age"; defaults 12 h idle, 30 days).

No sleeping for 12 hours: the session's row in crm's database is moved back in time, which is what
its clock would see later. The crm suite checks the same rule with an injected clock.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text


@pytest.fixture
def age(service_engine):
    """`age(token, created=..., used=...)`: the session of `token` made `created` ago, last used `used` ago."""

    def move(token: str, created: timedelta, used: timedelta | None = None) -> None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with service_engine("crm").begin() as connection:
            changed = connection.execute(
                text("UPDATE sessions SET created_at = now() - :created WHERE token_hash = :digest"),
                {"created": created, "digest": digest}).rowcount
            if used is not None:
                connection.execute(text("UPDATE sessions SET last_used_at = now() - :used WHERE token_hash = :digest"),
                                   {"used": used, "digest": digest})
        assert changed == 1

    return move


def test_a_session_older_than_30_days_is_refused_however_busy(firm, age):
    age(firm["token"], created=timedelta(days=30, minutes=1))
    resp = firm["api"].get("/api/v1/me")
    assert resp.status_code == 401, resp.text


def test_a_session_idle_for_12_hours_is_refused(firm, age):
    age(firm["token"], created=timedelta(hours=13), used=timedelta(hours=12, minutes=1))
    assert firm["api"].get("/api/v1/me").status_code == 401


def test_using_a_session_keeps_it_alive(firm, age, service_engine, api_for, anonymous):
    age(firm["token"], created=timedelta(days=29), used=timedelta(hours=11))
    assert firm["api"].get("/api/v1/me").status_code == 200
    # That use counts: the session is idle from now on, not from 11 hours ago.
    digest = hashlib.sha256(firm["token"].encode()).hexdigest()
    with service_engine("crm").connect() as connection:
        idle = connection.execute(text("SELECT now() - last_used_at FROM sessions WHERE token_hash = :digest"),
                                  {"digest": digest}).scalar_one()
    assert idle < timedelta(minutes=1)
    # A new login is a new session, whatever the age of the others.
    age(firm["token"], created=timedelta(days=31))
    login = anonymous.post("/api/v1/auth/login", json={"email": firm["email"], "password": "correct horse battery"})
    assert api_for(login.json()["token"]).get("/api/v1/me").status_code == 200
