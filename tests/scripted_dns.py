"""A name resolver the tests control, for crawls run in a subprocess.

The crawl's address guard (`crawler.addresses.GuardedResolver`, the real one) asks this resolver
for the look-ups instead of the system's DNS:

    narratives crawl DB -s NARRATIVES_DNS_RESOLVER=tests.scripted_dns.ScriptedResolver \\
        -s 'NARRATIVES_TEST_DNS={"rebind.test": [["127.0.0.1"], ["127.0.0.9"]]}' \\
        -s NARRATIVES_TEST_DNS_LOG=/tmp/lookups.log

Each look-up of a name takes the next answer of its list (the last one repeats), so an answer
can change between two look-ups (DNS rebinding). A name not in the script is not resolved:
nothing ever reaches the real DNS. Every address in a script must lie in 127.0.0.0/8, so that a
broken guard could only ever connect to loopback. Each look-up appends "name address,address"
to NARRATIVES_TEST_DNS_LOG when it is set. Test settings, read only by this module.
"""
from __future__ import annotations

import ipaddress
import json

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHostnameResolver, IHostResolution
from zope.interface import implementer

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def check_script(script: dict) -> dict[str, list[list[str]]]:
    """The script, checked: {name: [answer, ...]}, each answer a list of 127.0.0.0/8 addresses."""
    out = {}
    for name, answers in script.items():
        if not answers:
            raise ValueError(f"{name}: no answers")
        for answer in answers:
            for address in answer:
                if ipaddress.ip_address(address) not in LOOPBACK:
                    raise ValueError(f"{name}: {address} is outside 127.0.0.0/8; tests answer loopback only")
        out[name.lower()] = [list(a) for a in answers]
    return out


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name):
        self.name = name

    def cancel(self):
        pass


@implementer(IHostnameResolver)
class ScriptedResolver:
    def __init__(self, reactor, script: dict, log_path: str | None = None):
        self.reactor = reactor
        self.script = check_script(script)
        self.calls: dict[str, int] = {}
        self.log_path = log_path

    @classmethod
    def from_crawler(cls, crawler, reactor):
        raw = crawler.settings.get("NARRATIVES_TEST_DNS") or "{}"
        return cls(reactor, json.loads(raw) if isinstance(raw, str) else dict(raw),
                   crawler.settings.get("NARRATIVES_TEST_DNS_LOG") or None)

    def install_on_reactor(self):  # as Scrapy's resolvers, when named by TWISTED_DNS_RESOLVER itself
        self.reactor.installNameResolver(self)

    def resolveHostName(self, resolutionReceiver, hostName, portNumber=0, addressTypes=None,
                        transportSemantics="TCP"):
        name = hostName.lower()
        resolution = _Resolution(hostName)
        answers = self.script.get(name)
        n = self.calls.get(name, 0)
        self.calls[name] = n + 1
        answer = answers[min(n, len(answers) - 1)] if answers else []
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(f"{name} {','.join(answer) or '-'}\n")

        resolutionReceiver.resolutionBegan(resolution)

        def deliver():  # later, as a real look-up in a thread would
            for address in answer:
                resolutionReceiver.addressResolved(IPv4Address("TCP", address, portNumber))
            resolutionReceiver.resolutionComplete()

        self.reactor.callLater(0, deliver)
        return resolution
