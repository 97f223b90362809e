"""The SSRF guard of webhook URLs: the scheme, the host and every address it resolves to
(loopback, private, link-local and reserved ones are refused, also when an IPv6 address
embeds them). Used when a webhook is saved (models.py) and before each delivery
(delivery.py), which pins the connection to the checked addresses."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURL(ValueError):
    """A webhook URL that must not be called (scheme, host, or a refused address)."""


def _allowed_networks():
    return [
        ipaddress.ip_network(n, strict=False) for n in settings.CIVILITY_WEBHOOK_ALLOWED_NETWORKS
    ]


# IPv6 prefixes whose last 32 bits are an IPv4 address that the packet ends up at: NAT64's
# well-known and local-use prefixes (RFC 6052, 8215), SIIT's IPv4-translated addresses
# (::ffff:0:a.b.c.d, RFC 2765) and the deprecated IPv4-compatible ones (::a.b.c.d).
_EMBEDS_IPV4_LAST = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0/96", "::/96")
)


def embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, SIIT, 6to4,
    IPv4-compatible); None for any other address."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:AABB:CCDD::/48 routes to A.B.C.D
        return ip.sixtofour
    if any(ip in network for network in _EMBEDS_IPV4_LAST):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    target = embedded_ipv4(ip) or ip  # 64:ff9b::7f00:1 is loopback too
    networks = _allowed_networks()
    if any(ip in network or target in network for network in networks):
        return True
    return target.is_global and not (target.is_multicast or target.is_reserved)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def check_url(url: str) -> Target:
    """The URL's parts and the addresses it may be reached at; UnsafeURL otherwise."""
    if not isinstance(url, str) or len(url) > 500:
        raise UnsafeURL("the URL must be text of at most 500 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("the URL must start with https:// or http://")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURL("the URL must not carry a user name or password")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURL("the URL contains spaces or control characters")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"the host {parts.hostname!r} cannot be resolved ({exc})") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    refused = [a for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise UnsafeURL(
            f"the host {parts.hostname!r} resolves to {', '.join(refused) or 'nothing'}: "
            "loopback, private, link-local and reserved addresses are refused"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses)
