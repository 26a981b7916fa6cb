"""`self.clock()`: the time the service acts at. A dependency so that tests drive it (the reminder
scheduler's rules are about days): `replace_dependencies(container, clock=...)` swaps it."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> Callable[[], datetime]:
        return utc_now
