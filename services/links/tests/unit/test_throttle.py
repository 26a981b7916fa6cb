"""The throttling bucket of a client address and the wait after wrong guesses (links.throttle). No database."""
from __future__ import annotations

from links import throttle
from shared.addresses import client_key


def test_an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address():
    assert client_key("::ffff:192.0.2.9") == client_key("192.0.2.9") == "192.0.2.9/32"


def test_the_wait_doubles_from_200_ms_to_a_25_second_cap():
    waits = [throttle.delay(failures).total_seconds() for failures in range(1, 11)]
    assert waits == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.0, 25.0, 25.0]
    assert throttle.delay(10**6).total_seconds() == 25.0  # no overflow, however long a guesser goes on
