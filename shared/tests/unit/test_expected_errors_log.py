"""An RPC's expected error (a 404 for a wrong link token) is logged once, as the call's outcome, without
nameko's warning and traceback."""
from __future__ import annotations

import logging

import pytest

import shared.rpc  # noqa: F401  (installs the filter on nameko's container logger)
from shared.errors import NotFound


def _records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "nameko.containers"]


def test_nameko_s_warning_for_an_expected_error_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("nameko.containers")
    with caplog.at_level(logging.INFO, logger="nameko.containers"):
        try:
            raise NotFound("No such link.")
        except NotFound as exc:
            log.warning("(expected) error handling worker %s: %s", "<worker>", exc, exc_info=True)
    assert _records(caplog) == []


def test_nameko_s_other_warnings_are_still_logged(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("nameko.containers")
    with caplog.at_level(logging.INFO, logger="nameko.containers"):
        log.warning("killing %s active workers(s)", 3)
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            log.exception("error handling worker %s: %s", "<worker>", exc)
    assert _records(caplog) == ["killing 3 active workers(s)", "error handling worker <worker>: boom"]
