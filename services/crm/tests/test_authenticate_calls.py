"""crm.authenticate over RPC, as every authenticated request calls it: one read without a transaction; a
write transaction only for the once-a-minute record of the session's last use."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from devstack.fixtures import count_write_sessions
from sqlalchemy import text

from shared.errors import Unauthorized


@pytest.fixture
def write_sessions(crm_container, monkeypatch) -> list[int]:
    return count_write_sessions(crm_container, monkeypatch)


@pytest.fixture
def token(crm) -> str:
    unique = uuid.uuid4().hex[:12]
    signup = crm("signup", payload={"firm_name": "Touch CPA", "name": "Tess Owner",
                                    "email": f"tess-{unique}@touch.example", "password": "correct horse battery"})
    return signup["token"]


def idle_for(service_engine, token: str, set_to: timedelta | None = None) -> timedelta:
    """How long the token's session has been idle (its row's last use); `set_to` moves that back first."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with service_engine("crm").begin() as connection:
        if set_to is not None:
            connection.execute(text("UPDATE sessions SET last_used_at = now() - :idle WHERE token_hash = :digest"),
                               {"idle": set_to, "digest": digest})
        return connection.execute(text("SELECT now() - last_used_at FROM sessions WHERE token_hash = :digest"),
                                  {"digest": digest}).scalar_one()


def test_a_use_within_a_minute_of_the_last_opens_no_write_transaction(crm, token, write_sessions):
    assert crm("authenticate", token=token)["session_id"]
    assert write_sessions == []


def test_a_use_a_minute_after_the_last_is_written_in_one_write_transaction(crm, token, write_sessions,
                                                                             service_engine):
    idle_for(service_engine, token, set_to=timedelta(minutes=5))
    assert crm("authenticate", token=token)["session_id"]
    assert idle_for(service_engine, token) < timedelta(seconds=30)
    assert write_sessions == [1]


def test_an_unknown_token_opens_no_write_transaction(crm, write_sessions):
    with pytest.raises(Unauthorized):
        crm("authenticate", token="not-a-token")
    assert write_sessions == []
