"""The outgoing queue's pure rules (notifications.outgoing): how long a failed email waits. No database."""
from __future__ import annotations

from datetime import timedelta

import pytest

from notifications import outgoing


@pytest.mark.parametrize("attempts,expected", [(1, 30), (2, 60), (6, 960), (7, 1800), (50, 1800)])
def test_retry_delay_doubles_up_to_its_cap(attempts, expected):
    assert outgoing.retry_delay(attempts) == timedelta(seconds=expected)
