"""What the address guard (crawler/addresses.py) costs per request, in CPU microseconds.

Every request passes AddressGuardMiddleware.process_request; every new connection takes its
addresses from GuardedResolver instead of Scrapy's resolver directly. Both are timed here on
the code itself, with Scrapy's own caching resolver answering from its cache (the common case:
one real look-up per host and crawl), against Scrapy's path without the guard. No name is
looked up and nothing is connected to: the cache is filled with loopback addresses, allowed
as the demo and the tests allow them (127.0.0.0/8).

    python -m bench.address_guard [--json OUT] [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from scrapy import Request
from scrapy.resolver import CachingThreadedResolver, dnscache
from scrapy.utils.test import get_crawler
from twisted.internet._resolver import SimpleResolverComplexifier

from crawler.address_rules import AddressPolicy, parse_networks, refused_by_rule
from crawler.addresses import AddressGuardMiddleware, GuardedResolver

HTTP11 = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


class _Receiver:
    def resolutionBegan(self, resolution):
        pass

    def addressResolved(self, address):
        pass

    def resolutionComplete(self):
        pass


def per_call_us(fn, n: int, repeat: int) -> float:
    """Best of `repeat` runs of n calls, in CPU microseconds per call."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, time.process_time() - t0)
    return best / n * 1e6


def measure(n: int = 20_000, repeat: int = 5) -> dict:
    allow = AddressPolicy(parse_networks("127.0.0.0/8"))
    scrapy_resolver = CachingThreadedResolver(None, 10_000, 60.0)  # the reactor is only used on a cache miss
    dnscache["news.example"] = "127.0.0.5"
    dnscache["127.0.0.5"] = "127.0.0.5"
    plain = SimpleResolverComplexifier(scrapy_resolver)  # what Scrapy installs without the guard
    guarded = GuardedResolver(None, scrapy_resolver, allow)
    receiver = _Receiver()
    crawler = get_crawler(settings_dict={"NARRATIVES_ALLOW_ADDRESSES": "127.0.0.0/8",
                                         "DOWNLOAD_HANDLERS": {"http": HTTP11, "https": HTTP11}})
    mw = AddressGuardMiddleware.from_crawler(crawler)
    mw.guard = guarded
    by_name, by_ip = Request("http://news.example:8080/world/a.html"), Request("http://127.0.0.5:8080/world/a.html")
    r = {
        "rules_public_address_us": per_call_us(lambda: refused_by_rule("93.184.216.34"), n, repeat),
        "policy_check_allowed_loopback_us": per_call_us(lambda: allow.check("news.example", "127.0.0.5"), n, repeat),
        "resolve_name_scrapy_us": per_call_us(lambda: plain.resolveHostName(receiver, "news.example", 80), n, repeat),
        "resolve_name_guarded_us": per_call_us(lambda: guarded.resolveHostName(receiver, "news.example", 80), n, repeat),
        "resolve_literal_scrapy_us": per_call_us(lambda: plain.resolveHostName(receiver, "127.0.0.5", 80), n, repeat),
        "resolve_literal_guarded_us": per_call_us(lambda: guarded.resolveHostName(receiver, "127.0.0.5", 80), n, repeat),
        "middleware_request_name_us": per_call_us(lambda: mw.process_request(by_name), n, repeat),
        "middleware_request_literal_us": per_call_us(lambda: mw.process_request(by_ip), n, repeat),
    }
    dnscache.pop("news.example", None)
    dnscache.pop("127.0.0.5", None)
    r = {k: round(v, 2) for k, v in r.items()}
    r["added_per_request_name_us"] = round(r["middleware_request_name_us"] + r["resolve_name_guarded_us"]
                                           - r["resolve_name_scrapy_us"], 2)
    r["added_per_request_literal_us"] = round(r["middleware_request_literal_us"] + r["resolve_literal_guarded_us"]
                                              - r["resolve_literal_scrapy_us"], 2)
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the result here")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    r = measure(repeat=args.repeat)
    print(f"address guard, CPU per request (worst case: a new connection each time): "
          f"+{r['added_per_request_name_us']} µs for a host name, +{r['added_per_request_literal_us']} µs "
          f"for a literal IP")
    for k, v in r.items():
        print(f"  {k:34s} {v:8.2f}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
