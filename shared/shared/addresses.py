"""Client addresses as throttles count them: one bucket per IPv4 address or IPv6 /64.

An IPv6 subscriber usually gets a whole /64, so counting single IPv6 addresses would let one
guesser rotate through 2^64 of them (Nextcloud's throttler buckets the same way).
"""
from __future__ import annotations

import ipaddress

from shared.errors import ValidationFailed

IPV6_PREFIX = 64


def client_key(address: str) -> str:
    """The throttling bucket of a client address: `203.0.113.7/32` or `2001:db8:1:2::/64`."""
    try:
        ip = ipaddress.ip_address(str(address).strip().split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        raise ValidationFailed("The client address is not an IP address.", {"address": ["Not an IP address."]}) \
            from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 32 if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
