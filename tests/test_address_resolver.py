"""The address guard where the connection's address is chosen (crawler/addresses.py): the
resolver that hands addresses to Twisted's HostnameEndpoint, and the downloader middleware. No
reactor runs and nothing is connected to: look-ups are answered by tests/scripted_dns.py (always
in 127.0.0.0/8) and the tests collect what the guard would hand to the connection."""
import time

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError
from scrapy.resolver import CachingHostnameResolver, dnscache
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHostnameResolver, IResolverSimple
from zope.interface import implementer

from crawler.address_rules import AddressPolicy, parse_networks
from crawler.addresses import AddressGuardMiddleware, AddressRefused, GuardedResolver
from crawler.exceptions import AddressGuardError
from tests.scripted_dns import ScriptedResolver, check_script


class NowReactor:
    """callLater(0, f) runs f at once: a look-up answered without a running reactor."""

    nameResolver = None

    def callLater(self, delay, f, *args, **kwargs):
        f(*args, **kwargs)


class Collect:
    """An IResolutionReceiver: what a connection would get (the addresses it may try)."""

    def __init__(self):
        self.addresses, self.complete = [], False

    def resolutionBegan(self, resolution):
        pass

    def addressResolved(self, address):
        self.addresses.append(address.host)

    def resolutionComplete(self):
        self.complete = True


@implementer(IHostnameResolver)
class NeverAsked:
    def resolveHostName(self, *args, **kwargs):
        raise AssertionError("a literal IP address needs no look-up")


def guard(script=None, allow="127.0.0.1/32", inner=None):
    reactor = NowReactor()
    inner = inner or ScriptedResolver(reactor, script or {})
    return GuardedResolver(reactor, inner, AddressPolicy(parse_networks(allow)))


def resolve(g, name, port=80):
    got = Collect()
    g.resolveHostName(got, name, port)
    assert got.complete
    return got.addresses


def test_an_answer_that_changes_is_checked_at_each_lookup():
    """DNS rebinding: 127.0.0.1 (allowed) to the first look-up, 127.0.0.9 to the next."""
    g = guard({"rebind.test": [["127.0.0.1"], ["127.0.0.9"]]})
    t0 = time.monotonic()
    assert resolve(g, "rebind.test") == ["127.0.0.1"]
    assert g.refusal_since("rebind.test", t0) is None
    assert resolve(g, "rebind.test") == []  # the connection gets no address at all
    refusal = g.refusal_since("rebind.test", t0)
    assert refusal.reason() == "address refused: rebind.test -> 127.0.0.9 (loopback, 127.0.0.0/8)"
    assert g.refusal_since("rebind.test", time.monotonic() + 1) is None  # a later request is not blamed on it


def test_only_the_admitted_addresses_of_an_answer_are_handed_over():
    g = guard({"mixed.test": [["127.0.0.9", "127.0.0.1", "127.0.0.10"]]})
    assert resolve(g, "mixed.test") == ["127.0.0.1"]
    assert g.refusal_since("mixed.test", 0) is None  # the connection goes ahead, to 127.0.0.1 only


def test_every_refused_address_is_counted_in_the_reason():
    g = guard({"many.test": [["127.0.0.9", "127.0.0.10", "127.0.0.11"]]})
    assert resolve(g, "many.test") == []
    assert g.refusal_since("many.test", 0).reason().endswith("(loopback, 127.0.0.0/8) and 2 more addresses")


def test_cached_answers_are_checked_too():
    """Scrapy's DNS cache answers without a look-up; the guard checks what it hands over all the same."""
    reactor = NowReactor()
    reactor.nameResolver = NeverAsked()
    cached = CachingHostnameResolver(reactor, 100)
    dnscache["cached.test"] = [IPv4Address("TCP", "127.0.0.9", 0)]
    try:
        g = GuardedResolver(reactor, cached, AddressPolicy(parse_networks("127.0.0.1/32")))
        assert resolve(g, "cached.test", 8080) == []
        assert g.refusal_since("cached.test", 0).address == "127.0.0.9"
        dnscache["cached.test"] = [IPv4Address("TCP", "127.0.0.1", 0)]
        assert resolve(g, "cached.test", 8080) == ["127.0.0.1"]
    finally:
        dnscache.pop("cached.test", None)


def test_a_one_address_resolver_is_guarded_the_same_way():
    """Scrapy's default CachingThreadedResolver is an IResolverSimple (one IPv4 address per name)."""

    @implementer(IResolverSimple)
    class Simple:
        def getHostByName(self, name, timeout=()):
            return defer.succeed({"one.test": "127.0.0.9", "two.test": "127.0.0.1"}[name])

    g = guard(inner=Simple())
    assert resolve(g, "one.test") == []
    assert resolve(g, "two.test") == ["127.0.0.1"]


def test_literal_addresses_are_checked_without_a_lookup():
    g = guard(inner=NeverAsked(), allow="127.0.0.0/8")
    assert resolve(g, "127.0.0.5") == ["127.0.0.5"]
    assert resolve(g, "0x7f.0.0.5") == ["127.0.0.5"]  # the address the system would read in it, and no other
    assert resolve(g, "0xa9.0xfe.0xa9.0xfe") == []
    assert g.refusal_since("0xa9.0xfe.0xa9.0xfe", 0).reason() == (
        "address refused: 0xa9.0xfe.0xa9.0xfe -> 169.254.169.254 (link-local, 169.254.0.0/16)")
    assert resolve(g, "::ffff:127.0.0.1") == []
    assert g.refusal_since("::ffff:127.0.0.1", 0).reason() == (
        "address refused: ::ffff:127.0.0.1 (loopback, 127.0.0.0/8, IPv4-mapped 127.0.0.1)")
    assert resolve(g, "::1") == []


def test_a_name_not_in_the_script_is_not_resolved_and_scripts_stay_on_loopback():
    g = guard({"a.test": [["127.0.0.1"]]})
    assert resolve(g, "unknown.test") == []
    assert g.refusal_since("unknown.test", 0) is None  # not resolved is not refused
    with pytest.raises(ValueError, match="outside 127.0.0.0/8"):
        check_script({"bad.test": [["10.0.0.1"]]})


HTTP11 = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
TWISTED = {"DOWNLOAD_HANDLERS": {"http": HTTP11, "https": HTTP11}}  # no reactor in this process: say which


@pytest.fixture
def middleware():
    crawler = get_crawler(settings_dict={"NARRATIVES_ALLOW_ADDRESSES": "127.0.0.0/8", **TWISTED})
    mw = AddressGuardMiddleware.from_crawler(crawler)
    mw.guard = guard({"far.test": [["127.0.0.9"]]}, allow="127.0.0.0/8")
    return mw


def test_the_middleware_refuses_literal_addresses_before_anything_is_sent(middleware):
    assert middleware.process_request(Request("http://127.0.0.5:8080/a.html")) is None
    with pytest.raises(AddressRefused, match=r"^address refused: ::ffff:127.0.0.1 \(loopback, 127.0.0.0/8, "):
        middleware.process_request(Request("http://[::ffff:127.0.0.1]:8080/"))
    with pytest.raises(AddressRefused, match=r"^address refused: ::1 \(loopback, ::1/128\)$"):
        middleware.process_request(Request("http://[::1]:9/robots.txt"))
    with pytest.raises(AddressRefused, match="only http and https"):
        middleware.process_request(Request("file:///etc/passwd"))
    # a legacy form of an address (Scrapy's URL parser writes it 169.254.169.254): no look-up either
    with pytest.raises(AddressRefused, match=r"^address refused: 169.254.169.254 \(link-local, 169.254.0.0/16\)$"):
        middleware.process_request(Request("http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/"))
    assert middleware.crawler.stats.get_value("narratives/addresses_refused") == 4


def test_a_refusal_at_connection_time_becomes_its_reason_not_a_retry(middleware):
    middleware.guard.policy = AddressPolicy(parse_networks("127.0.0.1/32"))
    request = Request("http://far.test:8080/page.html")
    assert middleware.process_request(request) is None  # a name: checked when the connection is made
    assert resolve(middleware.guard, "far.test") == []  # ... the connection's look-up
    with pytest.raises(AddressRefused, match=r"address refused: far.test -> 127.0.0.9 \(loopback"):
        middleware.process_exception(request, CannotResolveHostError("no results"))
    # a look-up that failed for another reason stays what it is (and RetryMiddleware may retry it)
    later = Request("http://far.test:8080/other.html")
    middleware.process_request(later)
    assert middleware.process_exception(later, CannotResolveHostError("no results")) is None
    assert middleware.process_exception(request, ValueError("x")) is None


def test_a_download_handler_that_resolves_names_itself_stops_the_crawl():
    """Scrapy's aiohttp and httpx handlers (its default without a Twisted reactor) look names up
    themselves: the guard would not see their connections, so the crawl does not start."""
    aiohttp = "scrapy.core.downloader.handlers._aiohttp.AiohttpDownloadHandler"
    with pytest.raises(AddressGuardError, match=r"DOWNLOAD_HANDLERS\['https'\] is .*AiohttpDownloadHandler: it resolves"):
        AddressGuardMiddleware.from_crawler(get_crawler(settings_dict={"DOWNLOAD_HANDLERS": {"http": HTTP11,
                                                                                           "https": aiohttp}}))
    AddressGuardMiddleware.from_crawler(get_crawler(settings_dict=TWISTED))  # Twisted's HTTP/1.1: guarded
