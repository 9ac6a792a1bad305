"""Article extraction: text and metadata from one HTML page.

`extract_article(html, url, ...)` is the only entry point the crawler and `narratives extract`
use. It is a pure function (no Scrapy, no database), so it can run in a worker process: one lxml
parse, one trafilatura pass (a second on a few pages), cheap lookups on the same tree.

- Body text: trafilatura with `favor_precision=True, include_comments=False, fast=True`; when the
  precision text is shorter than SHORT_TEXT_CHARS, a balanced pass runs and the longer text wins
  (precision mode occasionally drops most of an article). A first line equal to the title goes.
- Attribution and boilerplate lines: crawler/attribution.py.
- Links: the `<a href>` whose block (paragraph, list item, heading) is in the extracted text,
  outside nav/header/footer/aside (trafilatura's own link output changed the plain text).
- Dates: crawler/dates.py.
- Language: `<html lang>` / content-language first (the publisher's statement), else py3langid on
  the text, else the outlet's hint.

Chosen on halves of scrapinghub-aeb, checked on trafilatura's corpus (bench/eval_extraction.py;
BENCHMARKS-notebook.md, *Module docstrings*).
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass, field
from urllib.parse import urljoin, urlsplit

import trafilatura
from trafilatura.utils import load_html

from crawler import attribution, dates
from crawler.metadata import page_metadata
from crawler.exceptions import ExtractionError
from crawler.urls import canonicalize_url, strip_tracking

logger = logging.getLogger(__name__)

EXTRACTOR_VERSION = f"trafilatura-{trafilatura.__version__}+nt3"

SHORT_TEXT_CHARS = 500  # below: second, balanced trafilatura pass (see module docstring)
MIN_TEXT_CHARS = 80  # below: not an article
_BLOCK_TAGS = frozenset(
    "p li h1 h2 h3 h4 h5 h6 blockquote td th dd dt figcaption pre caption summary".split()
)
_SKIP_REGIONS = frozenset("nav header footer aside".split())
_WS = re.compile(r"\s+")


@dataclass
class Extracted:
    url: str
    canonical_url: str
    title: str | None
    text: str
    author: str | None = None
    description: str | None = None
    sitename: str | None = None
    language: str | None = None
    language_source: str | None = None  # "html", "detected", "outlet"
    published_at: str | None = None  # ISO-8601; date only "YYYY-MM-DD" or full UTC timestamp
    date_source: str | None = None  # "feed", "sitemap", "text", "jsonld", "meta", "time-element", "url", "htmldate"
    content_hash: str = ""
    links: list[dict] = field(default_factory=list)  # [{"url", "text"}] outbound links of the body
    attributions: list[dict] = field(default_factory=list)  # [{"kind", "name", "url"}]
    extractor: str = EXTRACTOR_VERSION
    published_date: str | None = None  # "YYYY-MM-DD" as the source writes it (local day, no UTC shift)

    def as_dict(self) -> dict:
        return asdict(self)


def content_hash(text: str) -> str:
    normalized = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def _norm(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


# ------------------------------------------------------------------ page-level helpers


def _check_bytes(html: str | bytes) -> None:
    if html is None or (isinstance(html, (bytes, str)) and not html.strip()):
        raise ExtractionError("empty page")
    head = html[:4096]
    if isinstance(head, bytes):
        if b"\x00" in head:
            raise ExtractionError("binary content, not HTML (NUL bytes)")
        head = head.decode("utf-8", "replace")
    if "\x00" in head:
        raise ExtractionError("binary content, not HTML (NUL bytes)")
    bad = sum(1 for ch in head if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f"))
    if bad > 0.1 * len(head):
        raise ExtractionError("binary content, not HTML (undecodable bytes)")
    if "<" not in head and "<" not in (html[:65536] if isinstance(html, str) else html[:65536].decode("latin-1")):
        raise ExtractionError("not HTML (no markup)")


def _base_url(tree, url: str) -> str:
    base = tree.find(".//base[@href]")
    if base is not None:
        href = (base.get("href") or "").strip()
        if href:
            return urljoin(url, href)
    return url


def _canonical(tree, url: str, base: str) -> str:
    candidates = []
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            candidates.append(link.get("href"))
    for meta in tree.iterfind(".//meta[@property]"):
        if (meta.get("property") or "").lower() == "og:url":
            candidates.append(meta.get("content"))
    for href in candidates:
        href = (href or "").strip()
        if not href:
            continue
        absolute = urljoin(base, href)
        if urlsplit(absolute).scheme in ("http", "https"):
            return canonicalize_url(absolute)
    return canonicalize_url(url)


_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]+)*$")


def normalize_language(value: str | None) -> str | None:
    """'en-US' -> 'en', 'de_DE' -> 'de'; None for values that are not language tags."""
    m = _LANG.match((value or "").strip().split(",")[0].strip())
    if not m:
        return None
    code = m.group(1).lower()
    return code if len(code) == 2 else None


def _declared_language(tree) -> str | None:
    root = tree.getroottree().getroot() if hasattr(tree, "getroottree") else tree
    html_el = root if root.tag == "html" else tree.find(".//html")
    if html_el is not None:
        lang = normalize_language(html_el.get("lang") or html_el.get("xml:lang"))
        if lang:
            return lang
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("http-equiv") or meta.get("name") or meta.get("property") or "").lower()
        if key in ("content-language", "language", "og:locale", "dc.language"):
            lang = normalize_language(meta.get("content"))
            if lang:
                return lang
    return None


def detect_language(text: str) -> str | None:
    try:
        import py3langid
    except ImportError:  # pragma: no cover - py3langid is a declared dependency
        return None
    sample = text[:3000]
    if len(sample) < 40:
        return None
    lang, _score = py3langid.classify(sample)
    return lang


def _body_links(tree, text: str, base: str) -> tuple[list[dict], dict[str, list[dict]]]:
    """Links whose block element appears in the extracted text; also block text -> links."""
    haystack = _norm(text)
    links: list[dict] = []
    by_block: dict[str, list[dict]] = {}
    block_cache: dict = {}
    seen = set()
    for a in tree.iterfind(".//a[@href]"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        anchor_text = _norm(a.text_content())
        if anchor_text and anchor_text not in haystack:
            continue  # its block's text holds the anchor's, so it cannot be in the text either (cheap test first)
        block, skip = None, False
        for anc in a.iterancestors():
            tag = anc.tag if isinstance(anc.tag, str) else ""
            if tag in _SKIP_REGIONS:
                skip = True
                break
            if block is None and tag in _BLOCK_TAGS:
                block = anc
            if tag == "body":
                break
        if skip:
            continue
        if block is None:
            block = a.getparent()
        if block is None:
            continue
        # key on the element itself: it keeps the lxml proxy alive (id() of a freed proxy is reused)
        if block not in block_cache:
            block_text = _norm(block.text_content())
            block_cache[block] = block_text if block_text and block_text in haystack else None
        block_text = block_cache[block]
        if block_text is None:
            continue
        absolute = urljoin(base, href)
        if urlsplit(absolute).scheme not in ("http", "https"):
            continue
        item = {"url": strip_tracking(absolute), "text": anchor_text}
        by_block.setdefault(block_text, []).append(item)
        if (absolute, item["text"]) not in seen:
            seen.add((absolute, item["text"]))
            links.append(item)
    return links, by_block


def _title(meta, tree) -> str | None:
    if meta.title:
        return meta.title.strip()
    h1 = tree.find(".//h1")
    if h1 is not None and _norm(h1.text_content()):
        return _norm(h1.text_content())
    title = tree.find(".//title")
    return _norm(title.text_content()) if title is not None else None


# ------------------------------------------------------------------ entry point


def extract_article(
    html: str | bytes,
    url: str,
    *,
    feed_date: str | None = None,
    sitemap_date: str | None = None,
    language_hint: str | None = None,
) -> Extracted:
    """Extract one article; raise ExtractionError when the page holds none."""
    _check_bytes(html)
    try:
        tree = load_html(html)
    except (TypeError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    if tree is None:
        raise ExtractionError("unparseable HTML")
    base = _base_url(tree, url)

    # metadata from the same tree, without trafilatura's per-page htmldate, categories, tags and
    # license (crawler/metadata.py); bare_extraction copies a tree it is given, so `tree` stays
    # intact for the lookups below.
    meta = page_metadata(tree, url)
    # fast: no comparison with readability/justext on the precision pass (-12% CPU on aeb, -28% on
    # trafilatura-eval; aeb F1 0.9706 -> 0.9727, snippets with/without 0.9238/0.0765 -> 0.9244/0.0772)
    doc = trafilatura.bare_extraction(tree, url=url, favor_precision=True, include_comments=False, fast=True)
    text = (doc.text or "").strip() if doc is not None else ""
    if len(text) < SHORT_TEXT_CHARS:
        second = trafilatura.bare_extraction(tree, url=url, include_comments=False)
        second_text = (second.text or "").strip() if second is not None else ""
        if len(second_text) > len(text):
            text = second_text
    # tidy whitespace line by line (trafilatura leaves trailing blanks on some lines)
    text = "\n".join(_norm(line) for line in text.split("\n"))
    text = re.sub(r"\n{2,}", "\n", text).strip()
    if not text:
        raise ExtractionError("no article text found")

    title = _title(meta, tree)
    lines = [line for line in text.split("\n") if not attribution.is_boilerplate(line)]
    if lines and title and _norm(lines[0]).lower() == _norm(title).lower():
        lines = lines[1:]  # the headline is the title field, not body text
    text = "\n".join(lines)

    links, by_block = _body_links(tree, text, base)

    def link_for(line: str, name: str) -> str | None:
        candidates = by_block.get(_norm(line), [])
        for item in candidates:
            if item["text"] and (item["text"] == name or item["text"] in line):
                return item["url"]
        return candidates[0]["url"] if len(candidates) == 1 else None

    text, attributions = attribution.split_text(text, link_for)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"article text too short ({len(text)} characters)")

    published_at = published_date = date_source = None
    for given, source in ((feed_date, "feed"), (sitemap_date, "sitemap")):
        if given and dates.to_iso(given):
            published_at, published_date, date_source = dates.to_iso(given), dates.local_day(given), source
            break
    if published_at is None:
        published_at, published_date, date_source = dates.find_published(tree, url)
        found = meta.htmldate(tree) if published_at is None else None  # the fallback, only when needed
        if found:
            published_at = published_date = dates.to_iso(found)
            date_source = "htmldate" if published_at else None

    language, language_source = _declared_language(tree), "html"
    if not language:
        language, language_source = detect_language(text), "detected"
    if not language and language_hint:
        language, language_source = normalize_language(language_hint) or language_hint, "outlet"
    if not language:
        language_source = None

    return Extracted(
        url=url,
        canonical_url=_canonical(tree, url, base),
        title=title,
        text=text,
        author=meta.author,
        description=meta.description,
        sitename=meta.sitename,
        language=language,
        language_source=language_source,
        published_at=published_at,
        published_date=published_date,
        date_source=date_source,
        content_hash=content_hash(text),
        links=links,
        attributions=attributions,
    )
