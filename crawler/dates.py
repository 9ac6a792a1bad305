"""Publication dates: parse, normalise to ISO-8601 UTC, and find them in a page.

Sources, in the order `find_published` trusts them (first hit wins):

0. `text`          the first date in the visible text right after the first `<h1>` (the byline);
1. `jsonld`        schema.org `datePublished` / `dateCreated` / `uploadDate` of the main item;
2. `meta`          `article:published_time`, `og:published_time`, Dublin Core, `pubdate`...;
3. `time-element`  a `<time>` marked as the publication date, else the page's first `<time datetime>`;
4. `url`           a /YYYY/MM/DD/ (or YYYY-MM-DD, YYYYMMDD) pattern in the URL;
5. `htmldate`      htmldate's heuristics (`original_date=True`), only when 1-4 found nothing.

"Modified" values are never used. When the visible date and a structured timestamp name the same
day, the timestamp (with its time, in UTC) is kept; days are compared as written, before UTC
conversion (a page's day is local). Output: `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SSZ` with a time (no
offset: UTC). The order was chosen on halves of trafilatura's dated pages (bench/eval_dates.py;
BENCHMARKS-notebook.md, *Module docstrings*).
"""
from __future__ import annotations

import copy
import json
import logging
import re
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

logger = logging.getLogger(__name__)

MIN_YEAR = 1995

_ISO = re.compile(
    r"^\s*(\d{4})-?(\d{2})-?(\d{2})"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2})?)?"
)


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    if d.year < MIN_YEAR or d > date.today().replace(year=date.today().year + 1):
        return None
    return d


def parse_date(value) -> tuple[datetime | date, bool] | None:
    """Parse one date string; return (value, has_time). Datetimes come back aware, in UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc), True
    if isinstance(value, date):
        return value, False
    text = str(value).strip()
    if not text:
        return None
    m = _ISO.match(text)
    if m:
        y, mo, d, hh, mm, ss, tz = m.groups()
        day = _valid(int(y), int(mo), int(d))
        if day is None:
            return None
        if hh is None:
            return day, False
        try:
            dt = datetime(day.year, day.month, day.day, int(hh), int(mm), int(ss or 0))
        except ValueError:
            return day, False
        if tz and tz not in ("Z", "UTC", "GMT"):
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            offset = sign * (hours * 60 + minutes)
            dt = dt.replace(tzinfo=timezone(timedelta(minutes=offset)))
        else:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc), True
    try:  # RFC 2822, as in feeds and some meta tags: "Wed, 20 Nov 2019 10:00:00 GMT"
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None or _valid(dt.year, dt.month, dt.day) is None:
        return None
    return parse_date(dt)


def to_iso(value) -> str | None:
    """ISO-8601 string: 'YYYY-MM-DD' (day only) or 'YYYY-MM-DDTHH:MM:SSZ' (UTC)."""
    parsed = parse_date(value)
    if parsed is None:
        return None
    val, has_time = parsed
    if has_time:
        return val.strftime("%Y-%m-%dT%H:%M:%SZ")
    return val.isoformat()


def local_day(value) -> str | None:
    """The calendar day as written in the source (before any UTC conversion)."""
    if value is None:
        return None
    m = _ISO.match(str(value))
    if m and _valid(int(m.group(1)), int(m.group(2)), int(m.group(3))):
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    iso = to_iso(value)
    return iso[:10] if iso else None


# ---------------------------------------------------------------- structured sources

_JSONLD_PUBLISHED = ("datePublished", "dateCreated", "uploadDate")
_META_PUBLISHED = {
    "article:published_time", "og:published_time", "og:article:published_time",
    "article:published", "datepublished", "date_published", "published_time", "publishdate",
    "publish-date", "publish_date", "published-date", "pubdate", "publication_date",
    "dc.date.issued", "dcterms.issued", "dc.date.created", "dcterms.created", "dc.date",
    "dcterms.date", "sailthru.date", "parsely-pub-date", "cxenseparse:recs:publishtime",
    "article.published", "original-publish-date", "date", "citation_publication_date",
    "citation_date", "bt:pubdate", "rnews:datepublished", "displaydate", "dc.date.published",
}


def _walk_jsonld(node, out: list) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_jsonld(item, out)
    elif isinstance(node, dict):
        for key in _JSONLD_PUBLISHED:
            val = node.get(key)
            if isinstance(val, str) and val.strip():
                types = node.get("@type")
                types = " ".join(types) if isinstance(types, list) else str(types or "")
                out.append((types, val.strip()))
                break
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if key in node:
                _walk_jsonld(node[key], out)


_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|WebPage|Blog|Story|Video|Review", re.I)


def jsonld_published(tree) -> str | None:
    found: list[tuple[str, str]] = []
    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            # tolerate trailing garbage / control characters
            try:
                data = json.loads(re.sub(r"[\x00-\x1f]", " ", raw))
            except ValueError:
                continue
        _walk_jsonld(data, found)
    for types, val in found:  # prefer article-like items over e.g. Organization or Event
        if _ARTICLE_TYPES.search(types) and parse_date(val):
            return val
    for _, val in found:
        if parse_date(val):
            return val
    return None


def meta_published(tree) -> str | None:
    best = None
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _META_PUBLISHED:
            content = meta.get("content") or meta.get("datetime") or ""
            if parse_date(content):
                if key == "date" or key.startswith("dc"):
                    best = best or content  # generic keys: keep looking for a specific one
                    continue
                return content
    return best


_PUB_CLASS = re.compile(r"publish|posted|pubdate|date-pub|entry-date|article-date", re.I)


def time_element_published(tree) -> str | None:
    first = None
    for el in tree.iterfind(".//time"):
        value = el.get("datetime") or el.get("content") or ""
        if not parse_date(value):
            continue
        if (
            el.get("pubdate") is not None
            or (el.get("itemprop") or "").lower() in ("datepublished", "datecreated")
            or _PUB_CLASS.search(el.get("class") or "")
        ):
            return value
        cls = (el.get("class") or "") + " " + (el.get("itemprop") or "")
        if first is None and not re.search(r"modif|updat", cls, re.I):
            first = value
    for el in tree.xpath('.//*[@itemprop="datePublished"][not(self::meta)]'):
        value = el.get("datetime") or el.get("content") or (el.text or "")
        if parse_date(value):
            return value
    return first


_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/_-](0?[1-9]|1[0-2])[/_-](0?[1-9]|[12]\d|3[01])(?:/|[^\d]|$)"
    r"|/((?:19|20)\d{2})(0[1-9]|1[0-2])([0-2]\d|3[01])(?:/|[^\d]|$)"
)


def url_date(url: str | None) -> str | None:
    if not url:
        return None
    m = _URL_DATE.search(url)
    if not m:
        return None
    y, mo, d = [g for g in m.groups() if g is not None][:3]
    day = _valid(int(y), int(mo), int(d))
    return day.isoformat() if day else None


def htmldate_published(tree, url: str | None, *, extensive: bool = True) -> str | None:
    from htmldate import find_date

    try:
        return find_date(
            tree,
            url=url,
            original_date=True,
            extensive_search=extensive,
            outputformat="%Y-%m-%d",
        )
    except Exception:  # htmldate raises assorted errors on broken markup
        logger.debug("htmldate failed on %s", url, exc_info=True)
        return None


_BYLINE_MAX_TEXTS = 25
_BYLINE_MAX_CHARS = 80


def byline_date(tree) -> str | None:
    """First date in the short text nodes following the page's first <h1> (YYYY-MM-DD)."""
    h1 = tree.find(".//h1")
    if h1 is None:
        return None
    from htmldate.extractors import try_date_expr

    low, high = datetime(MIN_YEAR, 1, 1), datetime.now() + timedelta(days=1)
    seen = 0
    started = False
    for el in tree.iter():
        if el is h1:
            started = True
        if not started or not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript"):
            continue
        for chunk in (el.text, el.tail):
            chunk = (chunk or "").strip()
            if not chunk or len(chunk) >= _BYLINE_MAX_CHARS:
                continue
            try:
                found = try_date_expr(chunk, "%Y-%m-%d", False, low, high)
            except Exception:  # defensive: odd strings must not kill extraction
                found = None
            if found:
                return found
            seen += 1
        if seen > _BYLINE_MAX_TEXTS:
            break
    return None


def find_published(tree, url: str | None, *, use_htmldate: bool = True) -> tuple[str | None, str | None]:
    """(published_at, published_date, source) from the page itself.

    published_at is ISO-8601 (UTC when a time is known), published_date the day as the page
    writes it; all three are None when nothing is found.
    """
    structured = []
    for source, finder in (
        ("jsonld", jsonld_published),
        ("meta", meta_published),
        ("time-element", time_element_published),
    ):
        raw = finder(tree)
        if raw:
            structured.append((source, raw))
    visible = byline_date(tree)
    if visible:
        for _, raw in structured:  # same day in structured data: keep its exact time
            if local_day(raw) == visible:
                return to_iso(raw), visible, "text"
        return visible, visible, "text"
    if structured:
        source, raw = structured[0]
        return to_iso(raw), local_day(raw), source
    found = url_date(url)
    if found:
        return found, found, "url"
    if use_htmldate:
        found = htmldate_published(copy.deepcopy(tree), url)
        if found:
            return to_iso(found), found[:10], "htmldate"
    return None, None, None
