"""Importing existing corpora: one article per JSONL line, validated line by line."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

from crawler.discovery import iso_utc
from crawler.exceptions import ImportFileError
from crawler.extraction import content_hash
from crawler.outlets import NAME_RE
from db.migrations import utcnow
from db.store import ensure_outlet, record_page, store_article

logger = logging.getLogger(__name__)

REQUIRED = ("url", "outlet", "text")
OPTIONAL = ("title", "published_at", "language", "html", "author")


@dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def parse_line(line: str, lineno: int) -> dict:
    """Validate one JSONL line; raise ImportFileError naming the line and field."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ImportFileError(f"line {lineno}: must be a JSON object")
    for key in REQUIRED:
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise ImportFileError(f"line {lineno}: field {key!r} is required and must be a non-empty string")
    for key in OPTIONAL:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise ImportFileError(f"line {lineno}: field {key!r} must be a string")
    labels = obj.get("labels")
    if labels is not None and (not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels)):
        raise ImportFileError(f"line {lineno}: field 'labels' must be a list of non-empty strings")
    parts = urlsplit(obj["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImportFileError(f"line {lineno}: field 'url' must be an absolute http(s) URL (got {obj['url']!r})")
    if not NAME_RE.match(obj["outlet"]):
        raise ImportFileError(f"line {lineno}: field 'outlet' must be letters, digits, '.', '-' or '_' (got {obj['outlet']!r})")
    published = None
    if obj.get("published_at"):
        published = iso_utc(obj["published_at"])
        if published is None:
            raise ImportFileError(
                f"line {lineno}: field 'published_at' is not an ISO-8601 or RFC 822 date (got {obj['published_at']!r})"
            )
    raw = (obj.get("published_at") or "").strip()
    local_day = raw[:10] if published and len(raw) >= 10 and raw[4] == "-" and raw[7] == "-" else None
    return {**obj, "published_at": published, "published_date": local_day or (published or "")[:10] or None}


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    yield lineno, line
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def import_jsonl(db: sqlite_utils.Database, path: str | Path, *, batch: int = 1000, progress=None) -> ImportResult:
    """Import articles; invalid lines are rejected with their reason, the rest are stored."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"{path}: file not found")
    result = ImportResult()
    pending: list[dict] = []

    def flush():
        with db.conn:
            for obj in pending:
                url = obj["url"]
                origin = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/"
                ensure_outlet(db, obj["outlet"], origin)
                now = utcnow()
                page_id = None
                if obj.get("html"):
                    page_id = record_page(db, {"url": url, "outlet": obj["outlet"], "kind": "article", "status": 200,
                                               "fetched_at": now, "body": obj["html"].encode("utf-8"),
                                               "content_type": "text/html; charset=utf-8"})
                existed = db.execute("SELECT 1 FROM articles WHERE url = ?", [url]).fetchone()
                text = obj["text"].strip()
                store_article(db, {
                    "url": url, "canonical_url": url, "outlet": obj["outlet"], "page_id": page_id,
                    "title": obj.get("title"), "text": text, "author": obj.get("author"),
                    "language": (obj.get("language") or None), "language_source": "import" if obj.get("language") else None,
                    "published_at": obj["published_at"], "published_date": obj["published_date"], "date_source": "import" if obj["published_at"] else None,
                    "fetched_at": now, "content_hash": content_hash(text), "extractor": "import",
                })
                if obj.get("labels") is not None:
                    article_id = db.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()[0]
                    db.execute("DELETE FROM article_labels WHERE article_id = ?", [article_id])
                    db["article_labels"].insert_all(
                        {"article_id": article_id, "label": label.strip(), "source": "import"}
                        for label in dict.fromkeys(obj["labels"]))
                if existed:
                    result.updated += 1
                else:
                    result.imported += 1
        if progress:
            progress(result)
        pending.clear()

    for lineno, line in _lines(path):
        try:
            pending.append(parse_line(line, lineno))
        except ImportFileError as exc:
            result.rejected.append((lineno, str(exc)))
            continue
        if len(pending) >= batch:
            flush()
    flush()
    return result
