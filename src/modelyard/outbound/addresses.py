"""Which network addresses a user-named destination may reach: public ones only, by default.

An address is judged as what the socket will really reach. IPv6 forms that carry an IPv4
address (IPv4-mapped, IPv4-translated, NAT64, 6to4, Teredo server and client) are judged by
the IPv4 address inside; forms whose target cannot be known (IPv4-compatible ``::/96``,
local-use NAT64 ``64:ff9b:1::/48``, scoped addresses) are never public. Anything that does not
parse is not public: the check fails closed. Hosts are judged after resolution, so every
spelling the resolver accepts (``2130706433``, ``0x7f.1``, ``017700000001``) is judged as the
address it resolves to.
"""

from __future__ import annotations

import ipaddress
import socket

from modelyard.errors import InvalidArgument, PermissionDenied

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's ``is_global`` still calls global, and that no public service lives in.
_NOT_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network": 0.0.0.0 reaches the local host
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "198.18.0.0/15",  # benchmarking
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_NOT_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # IPv4-compatible (deprecated): where it leads is the kernel's guess
        "64:ff9b:1::/48",  # local-use NAT64: the IPv4 inside may sit at any prefix length
        "fec0::/10",  # site-local (deprecated): a private range
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 segment identifiers
        "100::/64",  # discard-only
    )
)
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 2765
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _low_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a packet to ``ip`` is really delivered to or through (empty when it
    carries none): both Teredo addresses, the one address of the other forms."""
    if ip in _MAPPED or ip in _TRANSLATED or ip in _NAT64:
        return [_low_ipv4(ip)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo
        return [server, client]
    return []


def _public_v4(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast and not any(ip in net for net in _NOT_PUBLIC_V4)


def is_public(address: str) -> bool:
    """Whether ``address`` (an IP literal, as ``getaddrinfo`` returns it) is a public unicast
    address; a scoped address (``fe80::1%eth0``) or one that does not parse is not."""
    if "%" in address:
        return False  # a zone index only means something on this host's links
    try:
        ip: IPAddress = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _public_v4(ip)
    if any(ip in net for net in _NOT_PUBLIC_V6):
        return False
    inner = embedded_ipv4(ip)
    if inner:
        return all(_public_v4(v4) for v4 in inner)
    return ip.is_global and not ip.is_multicast


def resolve_checked(
    host: str, port: int, *, allow_private: bool, what: str = "webhook"
) -> list[tuple[int, str]]:
    """(family, address) for every address ``host`` resolves to, to connect to one of them and
    no other; ``PermissionDenied`` when one is not public (unless ``allow_private``)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise InvalidArgument(f"cannot resolve {what} host {host!r}: {exc}", field="url") from exc
    found = [(int(family), str(addr[0])) for family, _, _, _, addr in infos]
    if not found:
        raise InvalidArgument(f"{what} host {host!r} resolves to no address", field="url")
    if not allow_private:
        blocked = sorted({a for _, a in found if not is_public(a)})
        if blocked:
            raise PermissionDenied(
                f"{what} host {host!r} resolves to non-public address(es) {', '.join(blocked)}; "
                "set MODELYARD_ALLOW_PRIVATE_WEBHOOKS=true on the server to allow them",
                field="url",
            )
    return found
