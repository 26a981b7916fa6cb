"""Fixtures of every gateway test: a fake RPC client and the tokens it knows.

Tests in unit/ run the real app over this fake, with nothing else running; test_transfer.py adds
the real S3 server, test_rpc.py the real broker and the real RPC client.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.errors import Unauthorized

STAFF = {"session_id": "s1", "user_id": "u1", "firm_id": "f1", "kind": "staff"}
CLIENT = {**STAFF, "kind": "client"}


class FakeRpc:
    """Answers `authenticate` from a token table and everything else from `answers`; records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict, dict]] = []
        self.tokens = {"staff-token": STAFF, "client-token": CLIENT}
        self.answers: dict[tuple[str, str], Any] = {}

    def call(self, service: str, method: str, context: dict | None = None, *, timeout: float | None = None,
             **kwargs: Any) -> Any:
        self.calls.append((service, method, dict(context or {}), kwargs))
        if (service, method) == ("crm", "authenticate"):
            if kwargs["token"] not in self.tokens:
                raise Unauthorized("The token is unknown, expired or revoked.")
            return self.tokens[kwargs["token"]]
        answer = self.answers.get((service, method), {})
        if isinstance(answer, Exception):
            raise answer
        return answer(**kwargs) if isinstance(answer, Callable) else answer

    def last(self, method: str) -> tuple[str, str, dict, dict]:
        return next(c for c in reversed(self.calls) if c[1] == method)


@pytest.fixture
def rpc() -> FakeRpc:
    return FakeRpc()


@pytest.fixture
def staff() -> dict[str, str]:
    """Headers of a staff user of firm f1."""
    return {"Authorization": "Bearer staff-token"}
