"""Article URLs from RSS/Atom feeds and XML sitemaps, parsed without network or entity expansion."""
from __future__ import annotations

import gzip
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from lxml import etree

logger = logging.getLogger(__name__)


class DiscoveryError(ValueError):
    """A feed or sitemap could not be parsed; the message says what is wrong."""


@dataclass
class Parsed:
    kind: str  # "feed", "index" or "urlset"
    entries: list["Entry"]
    problem: str | None = None  # set when the document was malformed but partly readable


@dataclass
class Entry:
    url: str
    published_at: str | None = None  # ISO-8601 UTC
    title: str | None = None


def _parser(recover: bool) -> etree.XMLParser:
    # no DTDs, no entities, no network: feeds and sitemaps come from strangers
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True, recover=recover,
    )


def _parse_xml(body: bytes) -> tuple[etree._Element, str | None]:
    """(root, problem): a document that is not well-formed is recovered where possible,
    and the problem is returned so the crawl can record it while using what was readable."""
    if not body or not body.strip():
        raise DiscoveryError("empty document")
    try:
        return etree.fromstring(body, parser=_parser(False)), None
    except etree.XMLSyntaxError as exc:
        problem = f"not well-formed XML: {exc}"
    try:
        root = etree.fromstring(body, parser=_parser(True))
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        raise DiscoveryError(problem)
    return root, problem


def _local(tag) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def iso_utc(value: str | None) -> str | None:
    """Normalise RFC 822 or ISO-8601 dates to 'YYYY-MM-DDTHH:MM:SSZ' (or 'YYYY-MM-DD')."""
    if not value:
        return None
    value = value.strip()
    dt = None
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        pass
    if dt is None:
        v = value.replace("Z", "+00:00")
        if len(v) == 10:
            try:
                datetime.strptime(v, "%Y-%m-%d")
                return v
            except ValueError:
                return None
        try:
            dt = datetime.fromisoformat(v)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(el) -> str | None:
    if el is None:
        return None
    t = "".join(el.itertext()).strip()
    return t or None


def parse_feed(body: bytes, base_url: str) -> Parsed:
    """Entries of an RSS 2.0, RSS 1.0/RDF or Atom feed."""
    root, problem = _parse_xml(body)
    kind = _local(root.tag)
    if kind not in ("rss", "feed", "rdf"):
        raise DiscoveryError(f"not an RSS or Atom feed (root element <{kind or root.tag}>)")
    entries: list[Entry] = []
    for item in root.iter():
        name = _local(item.tag)
        if name not in ("item", "entry"):
            continue
        fields: dict[str, etree._Element] = {}
        link = None
        for child in item:
            cname = _local(child.tag)
            if cname == "link":
                href = child.get("href")
                if href is not None:  # Atom: prefer rel=alternate (or no rel)
                    if child.get("rel", "alternate") == "alternate" and link is None:
                        link = href.strip()
                elif link is None and _text(child):
                    link = _text(child)
            else:
                fields.setdefault(cname, child)
        if link is None and "guid" in fields and fields["guid"].get("isPermaLink", "true") != "false":
            link = _text(fields["guid"])
        if not link:
            continue
        date = None
        for key in ("pubdate", "published", "date", "issued", "updated", "modified"):
            if key in fields:
                date = iso_utc(_text(fields[key]))
                if date:
                    break
        entries.append(Entry(urljoin(base_url, link.strip()), date, _text(fields.get("title"))))
    return Parsed("feed", entries, problem)


def maybe_gunzip(body: bytes, max_size: int) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
        while chunk := f.read(65536):
            out.write(chunk)
            if out.tell() > max_size:
                raise DiscoveryError(f"gzipped sitemap larger than {max_size} bytes when decompressed")
    return out.getvalue()


def parse_sitemap(body: bytes, base_url: str) -> Parsed:
    """kind 'index' (sitemap URLs) or 'urlset' (article entries with Google News dates)."""
    root, problem = _parse_xml(body)
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap (root element <{kind or root.tag}>)")
    entries: list[Entry] = []
    for node in root:
        if _local(node.tag) not in ("url", "sitemap"):
            continue
        loc = lastmod = news_date = title = None
        for child in node.iter():
            name = _local(child.tag)
            if name == "loc" and loc is None:
                loc = _text(child)
            elif name == "lastmod":
                lastmod = _text(child)
            elif name == "publication_date":
                news_date = _text(child)
            elif name == "title":
                title = _text(child)
        if not loc:
            continue
        # a Google News publication date is a publication date; <lastmod> is only a change date
        date = iso_utc(news_date) if kind == "urlset" else iso_utc(lastmod)
        entries.append(Entry(urljoin(base_url, loc), date, title))
    return Parsed("index" if kind == "sitemapindex" else "urlset", entries, problem)
