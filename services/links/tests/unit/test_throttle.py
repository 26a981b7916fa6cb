"""The throttling bucket of a client address (links.throttle.client_key). No database."""
from __future__ import annotations

from links import throttle


def test_an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address():
    assert throttle.client_key("::ffff:192.0.2.9") == throttle.client_key("192.0.2.9") == "192.0.2.9/32"
