"""Who may deliver updates: the secret token header and the optional source-IP allowlist."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from core.config import Secret

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_secret_valid(expected: Secret, given: str | None) -> bool:
    """Constant-time comparison; an unset secret (insecure mode) accepts anything."""
    if not expected:
        return True
    if given is None:
        return False
    return hmac.compare_digest(expected.reveal().encode(), given.encode("utf-8", "replace"))


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def parse_address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    # A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d; judge them as IPv4.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_in(address: Address | None, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: tuple[Network, ...]
) -> Address | None:
    """The real client: X-Forwarded-For counts only when the direct peer is a trusted proxy,
    and then the right-most hop that is not itself a trusted proxy is the client."""
    address = parse_address(peer)
    if not forwarded_for or not is_in(address, trusted_proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if not is_in(address, trusted_proxies):
            return address
    return address


def is_source_allowed(
    peer: str | None,
    forwarded_for: str | None,
    allowed: tuple[Network, ...],
    trusted_proxies: tuple[Network, ...],
) -> bool:
    return is_in(client_address(peer, forwarded_for, trusted_proxies), allowed)
