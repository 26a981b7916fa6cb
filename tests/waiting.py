"""Waiting for what another service does when it hears an event: the tests poll."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(read: Callable[[], Any], condition: Callable[[Any], bool] = bool, timeout: float = 15.0) -> Any:
    """The first value of `read()` that satisfies `condition`, polled for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if condition(value) or time.monotonic() > deadline:
            assert condition(value), f"still {value!r} after {timeout}s"
            return value
        time.sleep(0.1)
