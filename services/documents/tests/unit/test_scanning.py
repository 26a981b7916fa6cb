"""The virus scan's pure parts: clamd's answers, its addresses, the first status, which verdicts tell the
firm. Nothing runs but this process (the clamd of the integration tests is in ../test_scanning.py)."""
from __future__ import annotations

import pytest
from devstack.environment import free_port

from documents import scanning
from documents.scanning import Clamd, ScannerUnavailable, Verdict
from shared.contracts.documents import DOCUMENT_INFECTED, DOCUMENT_TOO_LARGE_TO_SCAN

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_no_clamd_at_the_address_gives_no_verdict():
    with pytest.raises(ScannerUnavailable):
        Clamd(f"127.0.0.1:{free_port()}", timeout=5).scan([PDF])
    assert not Clamd(f"127.0.0.1:{free_port()}", timeout=5).ping()


def test_what_clamd_answers_becomes_a_verdict_or_none():
    assert scanning.verdict_of("stream: OK") == Verdict("clean")
    assert scanning.verdict_of("stream: Win.Test.EICAR_HDB-1 FOUND") == Verdict("infected", "Win.Test.EICAR_HDB-1")
    # With AlertExceedsMax, a file over MaxFileSize/MaxScanSize is an alert, not a virus, and never clean.
    assert scanning.verdict_of("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND").status == "too_large"
    assert scanning.verdict_of("INSTREAM size limit exceeded. ERROR").status == "too_large"
    for reply in ("", "Can't allocate memory ERROR", "stream: OK maybe"):
        with pytest.raises(ScannerUnavailable):
            scanning.verdict_of(reply)


def test_addresses_are_tcp_or_unix_sockets():
    assert scanning.parse_address("clamav.infra:3310")[1] == ("clamav.infra", 3310)
    assert scanning.parse_address("[::1]:3310")[1] == ("::1", 3310)
    assert scanning.parse_address("/run/clamav/clamd.ctl")[1] == "/run/clamav/clamd.ctl"
    assert scanning.parse_address("unix:///run/clamav/clamd.ctl")[1] == "/run/clamav/clamd.ctl"
    with pytest.raises(ValueError):
        scanning.parse_address("clamav.infra")


def test_with_a_scanner_a_new_file_waits_in_quarantine_and_without_one_it_is_not_scanned():
    assert scanning.first_status("clamav.infra:3310") == "pending"
    assert scanning.first_status("") == "not_scanned"


def test_only_the_verdicts_that_quarantine_for_good_tell_the_firm():
    assert scanning.QUARANTINE_EVENTS == {"infected": DOCUMENT_INFECTED, "too_large": DOCUMENT_TOO_LARGE_TO_SCAN}
    assert "clean" not in scanning.QUARANTINE_EVENTS
