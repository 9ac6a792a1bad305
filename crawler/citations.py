"""Citations: an article's outbound links and "Source: X" mentions, resolved to outlets."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.outlets import Outlet


def _norm(name: str) -> str:
    # "The Northern Herald", "northern-herald" and "Northern Herald" are one name
    return re.sub(r"[^0-9a-z]+", "", re.sub(r"^\s*the\s+", "", name.lower()))


class OutletResolver:
    """Finds the outlet a URL or a mentioned name belongs to."""

    def __init__(self, outlets):
        self.outlets: list[Outlet] = list(outlets)
        self.by_name: dict[str, str] = {}
        for o in self.outlets:
            for alias in (o.name, *o.aliases):
                self.by_name.setdefault(_norm(alias), o.name)
            host = o.scope.host
            label = host[4:] if host.startswith("www.") else host
            if not re.match(r"^[0-9.]+$", label):  # "euronews.com" and "euronews" both name it
                self.by_name.setdefault(_norm(label), o.name)
                self.by_name.setdefault(_norm(label.split(".")[0]), o.name)

    def outlet_of_url(self, url: str | None) -> str | None:
        if not url:
            return None
        # the longest matching path prefix wins when outlets share a host
        best = None
        for o in self.outlets:
            if o.scope.contains(url) and (best is None or len(o.scope.path_prefix) > len(best.scope.path_prefix)):
                best = o
        return best.name if best else None

    def outlet_of_name(self, name: str | None) -> str | None:
        return self.by_name.get(_norm(name)) if name else None


def citation_rows(extracted: dict, resolver: OutletResolver) -> list[dict]:
    rows = []
    for link in extracted.get("links") or []:
        url = link.get("url")
        if not url or urlsplit(url).scheme not in ("http", "https"):
            continue
        rows.append({"kind": "link", "target_url": url, "target_outlet": resolver.outlet_of_url(url),
                     "text": (link.get("text") or "")[:500] or None})
    for att in extracted.get("attributions") or []:
        url = att.get("url")
        outlet = resolver.outlet_of_url(url) or resolver.outlet_of_name(att.get("name"))
        rows.append({"kind": att.get("kind") or "source", "target_url": url, "target_outlet": outlet,
                     "text": (att.get("name") or "")[:500] or None})
    return rows
