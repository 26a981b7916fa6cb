"""Domain errors cross RPC by their serialised arguments and come back as themselves."""
from __future__ import annotations

from shared.errors import NotFound, Throttled, UpstreamError, error_from_remote


def test_a_throttled_error_keeps_its_wait_across_rpc():
    sent = Throttled("Too many tries.", retry_after=42.7)
    received = error_from_remote("shared.errors.Throttled", list(sent.args))
    assert isinstance(received, Throttled) and received.retry_after == 42
    assert received.description == "Too many tries."


def test_a_throttled_error_without_a_wait_says_one_second():
    assert Throttled("slow down").retry_after == 1
    assert Throttled("slow down", retry_after=0).retry_after == 1


def test_an_unknown_remote_error_is_an_upstream_error_and_a_known_one_keeps_its_fields():
    assert isinstance(error_from_remote("somewhere.Boom", ["x"]), UpstreamError)
    found = error_from_remote("shared.errors.NotFound", ["No such thing.", {"id": ["Unknown."]}])
    assert isinstance(found, NotFound) and found.errors == {"id": ["Unknown."]}
