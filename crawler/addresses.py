"""The address guard: the crawler connects only to addresses it has checked.

A host name can resolve to anything (the cloud metadata service, an intranet admin page), so
this module checks addresses where the connection's address is chosen:

- `GuardedResolver` is the reactor's name resolver (TWISTED_DNS_RESOLVER). Twisted's
  HostnameEndpoint asks it for the addresses of every new connection (pages, redirect hops,
  robots.txt, feeds, sitemaps) and connects only to those it hands over. Each answer is checked
  as it is handed over, from DNS or a cache, so a name whose answer changes between look-ups is
  checked again at the connection it is used for. NARRATIVES_DNS_RESOLVER does the look-ups.
- `AddressGuardMiddleware` refuses a literal IP in a URL before anything is sent, and turns the
  resolver's refusals into `AddressRefused` with the reason (host, address, rule).

The rules (crawler/address_rules.py) refuse loopback, private, link-local, unspecified,
multicast, reserved and carrier-grade NAT addresses and IPv6 forms embedding them. An allowance
opens exactly the networks written: NARRATIVES_ALLOW_ADDRESSES, or an outlet's `allow_addresses`."""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.url import add_http_if_no_scheme
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IHostResolution, IResolutionReceiver, IResolverSimple
from zope.interface import implementer, provider

from crawler.address_rules import (ALLOW_SETTING, AddressPolicy, Refusal, Rule, host_key, ip_literal,
                                   parse_networks)
from crawler.exceptions import AddressGuardError

logger = logging.getLogger(__name__)

DEFAULT_DNS_RESOLVER = "scrapy.resolver.CachingThreadedResolver"
# a Scrapy signal sent for every request the guard refuses (request, reason, reached_downloader:
# True when it was refused at connection time, after the downloader counted it); crawler/requestlog.py
# writes it to the request log, crawler/runstats.py takes it out of the requests sent
address_refused = object()


class AddressRefused(IgnoreRequest):
    """The request would connect to an address the guard refuses; the message is the reason."""

    def __init__(self, refusal: Refusal | str):
        self.refusal = refusal if isinstance(refusal, Refusal) else None
        super().__init__(refusal.reason() if isinstance(refusal, Refusal) else refusal)


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str):
        self.name = name

    def cancel(self) -> None:
        pass


@implementer(IHostnameResolver)
class SimpleResolverAdapter:
    """An IResolverSimple (one address per name, e.g. Scrapy's CachingThreadedResolver) as an
    IHostnameResolver, so the guard sees every resolver the same way."""

    def __init__(self, simple):
        self.simple = simple

    def resolveHostName(self, resolutionReceiver, hostName, portNumber=0, addressTypes=None,
                        transportSemantics="TCP"):
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        try:
            ascii_name = hostName.encode("ascii").decode("ascii")
        except UnicodeEncodeError:
            ascii_name = host_key(hostName)
        d = self.simple.getHostByName(ascii_name)

        def resolved(address):
            addr = ip_literal(address)
            if addr is not None:
                cls = IPv6Address if addr.version == 6 else IPv4Address
                resolutionReceiver.addressResolved(cls("TCP", address, portNumber))

        d.addCallbacks(resolved, lambda failure: None)
        d.addBoth(lambda _: resolutionReceiver.resolutionComplete())
        return resolution


def as_hostname_resolver(resolver):
    if IHostnameResolver.providedBy(resolver):
        return resolver
    if IResolverSimple.providedBy(resolver):
        return SimpleResolverAdapter(resolver)
    raise TypeError(f"{type(resolver).__name__} is neither an IHostnameResolver nor an IResolverSimple")


@implementer(IHostnameResolver)
class GuardedResolver:
    """The reactor's name resolver: hands over only the addresses the policy admits.

    Set as TWISTED_DNS_RESOLVER (crawler/settings.py). Look-ups go to the resolver named by
    NARRATIVES_DNS_RESOLVER; every address it answers, cached or fresh, is checked on its way
    to the connection. When every address of an answer is refused, the connection fails as a
    failed look-up and the refusal is kept (per host, with its time) for AddressGuardMiddleware
    to report.
    """

    KEEP = 10_000  # refusals kept (the latest per host)

    def __init__(self, reactor, inner, policy: AddressPolicy | None = None):
        self.reactor = reactor
        self.inner = as_hostname_resolver(inner)
        self.policy = policy or AddressPolicy()
        self.refusals: OrderedDict[str, tuple[float, Refusal]] = OrderedDict()
        self.refused_count = 0
        self._logged: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler, reactor):
        s = crawler.settings
        policy = AddressPolicy(parse_networks(s.get(ALLOW_SETTING)))
        inner_cls = load_object(s.get("NARRATIVES_DNS_RESOLVER") or DEFAULT_DNS_RESOLVER)
        inner = build_from_crawler(inner_cls, crawler, reactor=reactor)
        return cls(reactor, inner, policy)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    # -- refusals -----------------------------------------------------------------------

    def _refused(self, refusal: Refusal) -> None:
        key = host_key(refusal.host)
        self.refused_count += 1
        self.refusals[key] = (time.monotonic(), refusal)
        self.refusals.move_to_end(key)
        while len(self.refusals) > self.KEEP:
            self.refusals.popitem(last=False)
        seen = (key, refusal.address)
        if seen not in self._logged:
            self._logged.add(seen)
            logger.warning("%s: not connecting (allow it with allow_addresses in the outlets file or %s)",
                           refusal.reason(), ALLOW_SETTING)

    def refusal_since(self, host: str, since: float) -> Refusal | None:
        """The refusal of *host*'s addresses made at or after *since* (time.monotonic()), if any."""
        entry = self.refusals.get(host_key(host))
        if entry is None or entry[0] < since:
            return None
        return entry[1]

    # -- IHostnameResolver ------------------------------------------------------------------

    def resolveHostName(self, resolutionReceiver, hostName, portNumber=0, addressTypes=None,
                        transportSemantics="TCP"):
        literal = ip_literal(hostName)
        if literal is not None:  # no look-up: the address is the name
            resolution = _Resolution(hostName)
            resolutionReceiver.resolutionBegan(resolution)
            refusal = self.policy.check(hostName, literal)
            if refusal is None:
                cls = IPv6Address if literal.version == 6 else IPv4Address
                resolutionReceiver.addressResolved(cls("TCP", str(literal), portNumber))
            else:
                self._refused(refusal)
            resolutionReceiver.resolutionComplete()
            return resolution
        return self.inner.resolveHostName(_CheckingReceiver(self, resolutionReceiver, hostName), hostName,
                                          portNumber, addressTypes, transportSemantics)


@provider(IResolutionReceiver)
class _CheckingReceiver:
    """Stands between the resolver's answers and the connection: passes on admitted addresses only."""

    def __init__(self, guard: GuardedResolver, receiver, host: str):
        self.guard, self.receiver, self.host = guard, receiver, host
        self.passed = 0
        self.refused: list[Refusal] = []

    def resolutionBegan(self, resolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address) -> None:
        host = getattr(address, "host", None)
        try:
            refusal = self.guard.policy.check(self.host, host)
        except (TypeError, ValueError):  # not an IP address: nothing the guard can vouch for
            refusal = Refusal(self.host, str(host), Rule("not an IP address", "-"))
        if refusal is None:
            self.passed += 1
            self.receiver.addressResolved(address)
        else:
            self.refused.append(refusal)

    def resolutionComplete(self) -> None:
        if self.refused:
            first = self.refused[0]
            if self.passed:  # the connection goes to the admitted addresses only
                logger.debug("%s: connecting to the other %d address(es) only", first.reason(), self.passed)
            else:
                self.guard._refused(Refusal(first.host, first.address, first.rule, len(self.refused) - 1))
        self.receiver.resolutionComplete()


# download handlers whose connections go through Twisted's HostnameEndpoint, i.e. the reactor's
# name resolver (the guard); others (Scrapy's httpx and aiohttp handlers) resolve names themselves
GUARDED_HANDLERS = ("scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
                    "scrapy.core.downloader.handlers.http2.H2DownloadHandler")


def check_download_handlers(settings) -> None:
    """Raise AddressGuardError when http or https is downloaded by a handler the guard cannot see into."""
    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    for scheme in AddressGuardMiddleware.SCHEMES:
        path = handlers.get(scheme)
        if path is None:
            continue
        handler = load_object(path) if isinstance(path, str) else path
        lineage = {f"{c.__module__}.{c.__qualname__}" for c in getattr(handler, "__mro__", ())}
        if not lineage & set(GUARDED_HANDLERS):
            raise AddressGuardError(
                f"DOWNLOAD_HANDLERS[{scheme!r}] is {path}: it resolves host names itself, out of the address "
                f"guard's reach; the guard covers {', '.join(p.rsplit('.', 1)[1] for p in GUARDED_HANDLERS)}")


def installed_guard(reactor=None) -> GuardedResolver | None:
    if reactor is None:
        from twisted.internet import reactor
    resolver = getattr(reactor, "nameResolver", None)
    return resolver if isinstance(resolver, GuardedResolver) else None


class AddressGuardMiddleware:
    """Downloader middleware (after RetryAfterMiddleware, before HttpProxyMiddleware):

    - makes sure the reactor's name resolver is a GuardedResolver (one is installed by
      TWISTED_DNS_RESOLVER; if a caller replaced it, the installed resolver is wrapped in one),
      and gives it each outlet's `allow_addresses` for the outlet's host name;
    - refuses a request to a literal IP address, or over a scheme other than http(s), before
      anything is sent (robots.txt included);
    - turns a failed look-up whose addresses the guard refused into AddressRefused, with the
      reason; it is not retried (it sits after RetryMiddleware in the exception chain).
    """

    SCHEMES = ("http", "https")

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.guard: GuardedResolver | None = None

    @classmethod
    def from_crawler(cls, crawler):
        parse_networks(crawler.settings.get(ALLOW_SETTING))  # a bad allowance stops the crawl here
        check_download_handlers(crawler.settings)
        return cls(crawler)

    def _ensure_guard(self) -> GuardedResolver:
        from twisted.internet import reactor

        guard = installed_guard(reactor)
        if guard is None:
            logger.warning("the reactor's name resolver is %s, not crawler.addresses.GuardedResolver "
                           "(TWISTED_DNS_RESOLVER): wrapping it in the address guard",
                           type(reactor.nameResolver).__name__)
            guard = GuardedResolver(reactor, reactor.nameResolver,
                                    AddressPolicy(parse_networks(self.crawler.settings.get(ALLOW_SETTING))))
            guard.install_on_reactor()
        outlets = getattr(self.crawler.spider, "outlets_by_name", None) or {}
        for outlet in outlets.values():
            guard.policy.allow_host(outlet.scope.host, getattr(outlet, "allow_addresses", ()))
        self.guard = guard
        return guard

    def _refuse(self, request, refusal: Refusal | str, *, reached_downloader: bool = False):
        self.stats.inc_value("narratives/addresses_refused")
        error = AddressRefused(refusal)
        self.crawler.signals.send_catch_log(address_refused, request=request, reason=str(error),
                                            reached_downloader=reached_downloader)
        raise error

    def process_request(self, request, spider=None):
        guard = self.guard if self.guard is not None else self._ensure_guard()
        parts = urlparse_cached(request)
        if parts.scheme not in self.SCHEMES:
            self._refuse(request, f"address refused: scheme {parts.scheme!r} (only http and https are crawled)")
        host = parts.hostname or ""
        literal = ip_literal(host)
        if literal is not None:
            refusal = guard.policy.check(host, literal)
            if refusal is not None:
                guard._refused(refusal)
                self._refuse(request, refusal)
        request.meta["_address_guard_at"] = time.monotonic()
        return None

    def process_exception(self, request, exception, spider=None):
        if self.guard is None or not isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            return None
        since = request.meta.get("_address_guard_at", 0.0)
        hosts = [urlparse_cached(request).hostname or ""]
        if request.meta.get("proxy"):  # through a proxy, the connection is to the proxy's address
            hosts.append(urlsplit(add_http_if_no_scheme(request.meta["proxy"])).hostname or "")
        for host in hosts:
            refusal = self.guard.refusal_since(host, since)
            if refusal is not None:
                self._refuse(request, refusal, reached_downloader=True)
        return None
