"""The address guard's rules, as data: which addresses the crawler refuses to connect to by
default, the allowances that open networks again, and the reason a refusal is recorded with.

Pure standard library (no look-up, no connection): crawler/addresses.py applies these rules
where the connection's address is chosen; the outlets file validates `allow_addresses` with
`parse_networks`; tests check the rules address by address (tests/test_address_rules.py).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from crawler.exceptions import AddressAllowanceError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "NARRATIVES_ALLOW_ADDRESSES"

# The refused networks, as data: (network, rule). The most specific network that contains an
# address names its rule. Sources: the IANA IPv4 and IPv6 special-purpose address registries.
RULES_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),  # "this network"; a connection to 0.0.0.0 reaches the local host
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),  # 169.254.169.254: the cloud metadata service
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
    ("192.0.2.0/24", "reserved"),  # documentation (TEST-NET-1)
    ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),  # benchmarking
    ("198.51.100.0/24", "reserved"),  # documentation (TEST-NET-2)
    ("203.0.113.0/24", "reserved"),  # documentation (TEST-NET-3)
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # future use
    ("255.255.255.255/32", "broadcast"),
)
RULES_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "reserved"),  # IPv4-compatible (deprecated)
    ("::ffff:0:0:0/96", "reserved"),  # IPv4-translated (SIIT)
    ("64:ff9b:1::/48", "private"),  # local-use NAT64
    ("100::/64", "reserved"),  # discard-only
    ("2001::/23", "reserved"),  # IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)
    ("2001:db8::/32", "reserved"),  # documentation
    ("3fff::/20", "reserved"),  # documentation
    ("5f00::/16", "reserved"),  # SRv6 SIDs
    ("fc00::/7", "private"),  # unique local
    ("fe80::/10", "link-local"),
    ("fec0::/10", "private"),  # site-local (deprecated)
    ("ff00::/8", "multicast"),
)
# IPv6 forms that carry an IPv4 address: the IPv4 address is what gets reached, so its rules apply
EMBEDDED_V4: tuple[tuple[str, str], ...] = (
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("64:ff9b::/96", "NAT64"),
    ("2002::/16", "6to4"),
)
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")  # IPv6 outside it is not allocated for hosts


@dataclass(frozen=True)
class Rule:
    """Why an address is refused by default: the rule's name and the network it matched."""

    name: str  # loopback, private, link-local, unspecified, multicast, broadcast, reserved, carrier-grade NAT
    network: str
    via: str | None = None  # the IPv6 form that embeds the IPv4 address (IPv4-mapped, NAT64, 6to4)

    def __str__(self) -> str:
        return f"{self.name}, {self.network}" + (f", {self.via}" if self.via else "")


def _span(net: Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _table(rules) -> tuple[tuple[int, int, Rule], ...]:
    """(first, last, rule) as integers, most specific network first (a check is a few comparisons)."""
    nets = sorted((ipaddress.ip_network(n) for n, _ in rules), key=lambda net: -net.prefixlen)
    names = {ipaddress.ip_network(n): rule for n, rule in rules}
    return tuple((*_span(net), Rule(names[net], str(net))) for net in nets)


_V4 = _table(RULES_V4)
_V6 = _table(RULES_V6)
_EMBEDDED = tuple((*_span(ipaddress.ip_network(n)), form) for n, form in EMBEDDED_V4)
_GLOBAL_V6 = _span(GLOBAL_UNICAST_V6)
_NOT_GLOBAL_V6 = Rule("reserved", "not in 2000::/3")


def _embedded_v4(addr: ipaddress.IPv6Address, form: str) -> ipaddress.IPv4Address:
    if form == "6to4":
        return addr.sixtofour
    return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)


def _plain(address: Address | str) -> Address:
    """An ipaddress object without an IPv6 zone (fe80::1%eth0 -> fe80::1)."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.strip("[]"))
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
    return address


def refused_by_rule(address: Address | str) -> Rule | None:
    """The rule that refuses *address* by default, or None for a public address. Pure data: no
    look-up, no connection. Raises ValueError for a string that is not an IP address."""
    addr = _plain(address)
    a = int(addr)
    if addr.version == 4:
        for first, last, rule in _V4:
            if first <= a <= last:
                return rule
        return None
    for first, last, form in _EMBEDDED:
        if first <= a <= last:
            v4 = _embedded_v4(addr, form)
            inner = refused_by_rule(v4)
            return None if inner is None else Rule(inner.name, inner.network, f"{form} {v4}")
    for first, last, rule in _V6:
        if first <= a <= last:
            return rule
    if not _GLOBAL_V6[0] <= a <= _GLOBAL_V6[1]:
        return _NOT_GLOBAL_V6
    return None


def parse_networks(value, source: str = ALLOW_SETTING) -> tuple[Network, ...]:
    """Networks from 'a, b' or a list; a bare address is its own /32 or /128. Raises AddressAllowanceError."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise AddressAllowanceError(f"{source}: {item!r} is not an IP network (e.g. 10.20.0.0/16)")
        item = item.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise AddressAllowanceError(
                f"{source}: {item!r} is not an IP network like 10.20.0.0/16, 127.0.0.1 or fd00::/8 ({exc})") from None
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=4096)
def host_key(host: str) -> str:
    """A host name as the guard compares it: lower case, ASCII (IDNA), no brackets, no final dot."""
    host = (host or "").strip().strip("[]").rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def show(address: Address) -> str:
    """An address as people write it (::ffff:127.0.0.1, not ::ffff:7f00:1 as Python 3.11 does)."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


_LEGACY_CHARS = frozenset("0123456789abcdefxABCDEFX.")


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address inet_aton reads in *host* (127.1, 0x7f.0.0.1, 0177.0.0.1, 2130706433), the
    forms a system resolver connects to without asking DNS; None if it reads none."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part[:2] in ("0x", "0X"):
                values.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    n = last
    for i, v in enumerate(head):
        n |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(n)


def ip_literal(host: str) -> Address | None:
    """*host* as an IP address, or None for a host name. Legacy IPv4 forms count as addresses."""
    if ":" not in host and not _LEGACY_CHARS.issuperset(host):  # a name: skip the (slow) failed parse
        return None
    try:
        return _plain(host)
    except ValueError:
        return _legacy_ipv4(host) if host else None


@dataclass(frozen=True)
class Refusal:
    """A refused connection: the host asked for, the address it would have reached, the rule."""

    host: str
    address: str
    rule: Rule
    more: int = 0  # other addresses of the same answer, refused too

    def reason(self) -> str:
        same = host_key(self.host) == host_key(self.address)  # a literal written as it is shown
        target = self.address if same else f"{self.host} -> {self.address}"
        extra = f" and {self.more} more address{'es' if self.more > 1 else ''}" if self.more else ""
        return f"address refused: {target} ({self.rule}){extra}"


class AddressPolicy:
    """Which addresses may be connected to: everything but the default rules, plus the global
    allowance, plus per host name the allowances of the outlets on that host."""

    def __init__(self, allow: Iterable[Network] = ()):
        self.allow: tuple[Network, ...] = tuple(allow)
        self.by_host: dict[str, tuple[Network, ...]] = {}
        self._spans = self._spans_of(self.allow)
        self._host_spans: dict[str, tuple] = {}

    @staticmethod
    def _spans_of(networks) -> tuple[tuple[int, int, int], ...]:
        return tuple((net.version, *_span(net)) for net in networks)

    def allow_host(self, host: str, networks: Iterable[Network | str]) -> None:
        nets = tuple(n if not isinstance(n, str) else ipaddress.ip_network(n) for n in networks)
        if nets:
            key = host_key(host)
            self.by_host[key] = tuple(dict.fromkeys(self.by_host.get(key, ()) + nets))
            self._host_spans[key] = self._spans_of(self.by_host[key])

    def allowance(self, host: str) -> tuple[Network, ...]:
        return self.allow + self.by_host.get(host_key(host), ())

    def check(self, host: str, address: Address | str) -> Refusal | None:
        """None when *host* may connect to *address*; else the Refusal. Pure: no look-up."""
        addr = _plain(address)
        rule = refused_by_rule(addr)
        if rule is None:
            return None
        # as written: 127.0.0.0/8 opens no IPv6 address, ::ffff:127.0.0.1 included
        a, version = int(addr), addr.version
        spans = self._spans + (self._host_spans.get(host_key(host), ()) if self._host_spans else ())
        if any(v == version and first <= a <= last for v, first, last in spans):
            return None
        return Refusal(host, show(addr), rule)
