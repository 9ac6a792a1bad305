"""The address guard's rules as data (crawler/address_rules.py): which addresses are refused by
default and why, what an allowance opens. No name is looked up and nothing is connected to:
every address here is a value handed to a pure function."""
import ast
from pathlib import Path

import pytest

from crawler.address_rules import (AddressPolicy, Refusal, Rule, host_key, ip_literal, parse_networks,
                                   refused_by_rule)
from crawler.exceptions import AddressAllowanceError

REFUSED = [
    # address, rule, network it matched
    ("169.254.169.254", "link-local", "169.254.0.0/16"),  # the cloud metadata service
    ("169.254.0.1", "link-local", "169.254.0.0/16"),
    ("10.0.0.1", "private", "10.0.0.0/8"),
    ("10.255.255.255", "private", "10.0.0.0/8"),
    ("172.16.0.1", "private", "172.16.0.0/12"),
    ("172.31.255.254", "private", "172.16.0.0/12"),
    ("192.168.0.1", "private", "192.168.0.0/16"),
    ("192.168.1.1", "private", "192.168.0.0/16"),
    ("100.64.0.1", "carrier-grade NAT", "100.64.0.0/10"),
    ("100.127.255.254", "carrier-grade NAT", "100.64.0.0/10"),
    ("127.0.0.1", "loopback", "127.0.0.0/8"),
    ("127.255.255.254", "loopback", "127.0.0.0/8"),
    ("0.0.0.0", "unspecified", "0.0.0.0/8"),  # reaches the local host on Linux
    ("0.1.2.3", "unspecified", "0.0.0.0/8"),
    ("224.0.0.1", "multicast", "224.0.0.0/4"),
    ("239.255.255.250", "multicast", "224.0.0.0/4"),
    ("240.0.0.1", "reserved", "240.0.0.0/4"),
    ("255.255.255.255", "broadcast", "255.255.255.255/32"),
    ("192.0.0.8", "reserved", "192.0.0.0/24"),
    ("192.0.2.10", "reserved", "192.0.2.0/24"),
    ("198.18.0.1", "reserved", "198.18.0.0/15"),
    ("198.51.100.7", "reserved", "198.51.100.0/24"),
    ("203.0.113.9", "reserved", "203.0.113.0/24"),
    ("::1", "loopback", "::1/128"),
    ("::", "unspecified", "::/128"),
    ("fd00::1", "private", "fc00::/7"),
    ("fc00::1", "private", "fc00::/7"),
    ("fec0::1", "private", "fec0::/10"),
    ("fe80::1", "link-local", "fe80::/10"),
    ("fe80::1%eth0", "link-local", "fe80::/10"),  # with a zone
    ("febf::1", "link-local", "fe80::/10"),
    ("ff02::1", "multicast", "ff00::/8"),
    ("64:ff9b:1::1", "private", "64:ff9b:1::/48"),
    ("::127.0.0.1", "reserved", "::/96"),  # IPv4-compatible, deprecated
    ("100::1", "reserved", "100::/64"),
    ("2001::1", "reserved", "2001::/23"),  # Teredo
    ("2001:db8::1", "reserved", "2001:db8::/32"),
    ("4000::1", "reserved", "not in 2000::/3"),
]
# IPv6 forms of an IPv4 address: the IPv4 address is what gets reached, so its rule applies
EMBEDDED = [
    ("::ffff:10.0.0.1", "private", "10.0.0.0/8", "IPv4-mapped 10.0.0.1"),
    ("::ffff:127.0.0.1", "loopback", "127.0.0.0/8", "IPv4-mapped 127.0.0.1"),
    ("::ffff:169.254.169.254", "link-local", "169.254.0.0/16", "IPv4-mapped 169.254.169.254"),
    ("::ffff:a9fe:a9fe", "link-local", "169.254.0.0/16", "IPv4-mapped 169.254.169.254"),
    ("::ffff:100.64.0.1", "carrier-grade NAT", "100.64.0.0/10", "IPv4-mapped 100.64.0.1"),
    ("::ffff:0.0.0.0", "unspecified", "0.0.0.0/8", "IPv4-mapped 0.0.0.0"),
    ("64:ff9b::a9fe:a9fe", "link-local", "169.254.0.0/16", "NAT64 169.254.169.254"),
    ("64:ff9b::7f00:1", "loopback", "127.0.0.0/8", "NAT64 127.0.0.1"),
    ("2002:a00:1::1", "private", "10.0.0.0/8", "6to4 10.0.0.1"),
    ("2002:c0a8:101::", "private", "192.168.0.0/16", "6to4 192.168.1.1"),
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "11.0.0.1", "9.255.255.255", "172.15.255.255", "172.32.0.0",
          "100.63.255.255", "100.128.0.0", "169.253.255.255", "169.255.0.0", "192.167.255.255", "192.169.0.0",
          "223.255.255.255", "126.255.255.255", "128.0.0.1", "2606:4700:4700::1111", "2a00:1450:4001::200e",
          "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address, rule, network", REFUSED)
def test_refused_by_default_with_its_rule(address, rule, network):
    assert refused_by_rule(address) == Rule(rule, network)


@pytest.mark.parametrize("address, rule, network, via", EMBEDDED)
def test_ipv6_forms_of_refused_ipv4_addresses_are_refused(address, rule, network, via):
    assert refused_by_rule(address) == Rule(rule, network, via)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert refused_by_rule(address) is None


@pytest.mark.parametrize("host, address", [
    ("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"), ("10.1", "10.0.0.1"), ("0", "0.0.0.0"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1"), ("news.example", None), ("deadbeef", None), ("1.2.3.256", None),
    ("08.0.0.1", None), ("1.2.3.4.5", None),
])
def test_legacy_ipv4_forms_are_addresses_not_names(host, address):
    """What the C library's inet_aton reads without asking DNS: the guard reads it the same way."""
    got = ip_literal(host)
    assert (str(got) if got else None) == address


def test_not_an_address_is_an_error_not_a_pass():
    with pytest.raises(ValueError):
        refused_by_rule("metadata.google.internal")


def test_an_allowance_opens_exactly_its_networks():
    policy = AddressPolicy(parse_networks("127.0.0.1/32"))
    assert policy.check("a.test", "127.0.0.1") is None
    refusal = policy.check("a.test", "127.0.0.9")
    assert refusal == Refusal("a.test", "127.0.0.9", Rule("loopback", "127.0.0.0/8"))
    # as written: an IPv4 network does not open the IPv4-mapped IPv6 form, nor ::1
    assert policy.check("a.test", "::ffff:127.0.0.1").rule == Rule("loopback", "127.0.0.0/8", "IPv4-mapped 127.0.0.1")
    assert policy.check("a.test", "::1").rule.name == "loopback"
    assert policy.check("a.test", "10.0.0.1").rule.name == "private"
    assert policy.check("a.test", "93.184.216.34") is None  # public: no allowance needed

    intranet = AddressPolicy(parse_networks("10.20.0.0/16"))
    assert intranet.check("wiki.corp", "10.20.3.4") is None
    assert intranet.check("wiki.corp", "10.21.0.1").rule == Rule("private", "10.0.0.0/8")
    assert intranet.check("wiki.corp", "169.254.169.254").rule.name == "link-local"


def test_an_outlet_allowance_applies_to_its_host_name_only():
    policy = AddressPolicy()
    policy.allow_host("Wiki.Corp.Example", ["10.20.0.0/16"])
    assert policy.check("wiki.corp.example", "10.20.0.5") is None
    assert policy.check("WIKI.corp.example.", "10.20.0.5") is None  # case and the final dot do not matter
    assert policy.check("other.example", "10.20.0.5").rule.name == "private"
    assert policy.check("wiki.corp.example", "10.30.0.5").rule.name == "private"
    assert host_key("[::1]") == "::1" and host_key("bücher.example") == "xn--bcher-kva.example"


def test_the_reason_names_host_address_and_rule():
    assert (Refusal("rebind.test", "127.0.0.9", Rule("loopback", "127.0.0.0/8")).reason()
            == "address refused: rebind.test -> 127.0.0.9 (loopback, 127.0.0.0/8)")
    assert (Refusal("::ffff:127.0.0.1", "::ffff:127.0.0.1", Rule("loopback", "127.0.0.0/8", "IPv4-mapped 127.0.0.1"),
                    ).reason() == "address refused: ::ffff:127.0.0.1 (loopback, 127.0.0.0/8, IPv4-mapped 127.0.0.1)")
    assert (Refusal("x.test", "10.0.0.1", Rule("private", "10.0.0.0/8"), more=2).reason()
            == "address refused: x.test -> 10.0.0.1 (private, 10.0.0.0/8) and 2 more addresses")


@pytest.mark.parametrize("value, expected", [
    ("", ()), (None, ()), ("127.0.0.0/8", ("127.0.0.0/8",)),
    (" 127.0.0.0/8 , 10.20.0.0/16,", ("127.0.0.0/8", "10.20.0.0/16")),
    ("127.0.0.1", ("127.0.0.1/32",)), ("fd00::/8,::1", ("fd00::/8", "::1/128")),
    (["10.0.0.0/8", "10.0.0.0/8"], ("10.0.0.0/8",)),
])
def test_allowances_parse(value, expected):
    assert tuple(map(str, parse_networks(value))) == expected


@pytest.mark.parametrize("value, message", [
    ("10.20.0.5/16", "NARRATIVES_ALLOW_ADDRESSES: '10.20.0.5/16' is not an IP network like 10.20.0.0/16"),
    ("127.0.0.0/8,localhost", "NARRATIVES_ALLOW_ADDRESSES: 'localhost' is not an IP network"),
    ("127.0.0.0/33", "'127.0.0.0/33' is not an IP network"),
])
def test_a_bad_allowance_is_an_error_naming_it(value, message):
    with pytest.raises(AddressAllowanceError) as err:
        parse_networks(value)
    assert message in str(err.value)


def test_the_rules_module_is_pure_data():
    """No Twisted, no Scrapy, no socket: the rules cannot look anything up or connect."""
    tree = ast.parse((Path(__file__).parent.parent / "crawler" / "address_rules.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "ipaddress", "dataclasses", "functools", "typing", "crawler"}, imported
