"""Store functions: every write the stages make goes through here, in short transactions."""
from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterable, Iterator

import sqlite_utils

from db.migrations import utcnow

logger = logging.getLogger(__name__)


class UnknownOutletError(LookupError):
    """A stage named an outlet that is not in the database."""


def compress_html(body: bytes | None) -> bytes | None:
    return zlib.compress(body, 6) if body else None


def decompress_html(blob: bytes | None) -> bytes | None:
    return zlib.decompress(blob) if blob else None


def upsert_outlets(db: sqlite_utils.Database, rows: Iterable[dict]) -> tuple[int, int]:
    """Insert or update outlets; return (added, updated)."""
    now = utcnow()
    existing = {r["name"] for r in db["outlets"].rows}
    added = updated = 0
    with db.conn:
        for row in rows:
            row = dict(row, updated_at=now)
            if row["name"] in existing:
                db["outlets"].update(row["name"], row)
                updated += 1
            else:
                db["outlets"].insert(dict(row, created_at=now))
                added += 1
    return added, updated


def outlet_rows(db: sqlite_utils.Database, names: Iterable[str] | None = None) -> list[dict]:
    rows = list(db["outlets"].rows_where(order_by="name"))
    if names:
        wanted = list(dict.fromkeys(names))
        known = {r["name"] for r in rows}
        missing = [n for n in wanted if n not in known]
        if missing:
            raise UnknownOutletError(
                f"unknown outlet(s): {', '.join(missing)}; known: {', '.join(sorted(known)) or '(none)'}"
            )
        rows = [r for r in rows if r["name"] in wanted]
    return rows


def ensure_outlet(db: sqlite_utils.Database, name: str, home: str) -> None:
    """Create a minimal outlet row for imported articles whose outlet is not configured."""
    if db["outlets"].count_where("name = ?", [name]) == 0:
        now = utcnow()
        db["outlets"].insert(
            {"name": name, "home": home, "feeds": "[]", "sitemaps": "[]", "sections": "[]",
             "created_at": now, "updated_at": now}
        )


def record_page(db: sqlite_utils.Database, page: dict) -> int:
    """Insert or replace the latest fetch of page['url']; return the page id.

    `page` holds url, outlet, kind, status, fetched_at and optionally etag, last_modified,
    content_type, final_url, body (raw bytes, stored compressed), html_z (body compressed already), error.
    """
    body = page.pop("body", None)
    compressed = page.pop("html_z", None)  # compressed already (by an extraction worker, off the reactor)
    row = {
        "url": page["url"],
        "outlet": page["outlet"],
        "kind": page.get("kind", "article"),
        "status": page.get("status"),
        "fetched_at": page.get("fetched_at") or utcnow(),
        "etag": page.get("etag"),
        "last_modified": page.get("last_modified"),
        "content_type": page.get("content_type"),
        "final_url": page.get("final_url"),
        "size": len(body) if body is not None else page.get("size"),
        "html": compressed if compressed is not None else compress_html(body),
        "error": page.get("error"),
        "hints": json.dumps(page["hints"]) if page.get("hints") else None,
    }
    cur = db.execute("SELECT id, fetch_count, html FROM pages WHERE url = ?", [row["url"]]).fetchone()
    if cur is None:
        row["fetch_count"] = 1
        return db["pages"].insert(row).last_pk
    page_id, count, old_html = cur
    row["fetch_count"] = (count or 0) + 1
    if row["status"] == 304 or (row["html"] is None and row["error"]):
        # a 304 or a failed re-fetch keeps the body (and validators) we already have
        row["html"] = old_html
        for key in ("etag", "last_modified", "content_type", "size", "hints"):
            if row[key] is None:
                row.pop(key)
    db["pages"].update(page_id, row)
    return page_id


def page_validators(db: sqlite_utils.Database, url: str) -> tuple[str | None, str | None]:
    row = db.execute(
        "SELECT etag, last_modified FROM pages WHERE url = ? AND status IN (200, 304)", [url]
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def article_stored(db: sqlite_utils.Database, url: str) -> bool:
    return db.execute("SELECT 1 FROM articles WHERE url = ? OR canonical_url = ? LIMIT 1", [url, url]).fetchone() is not None


def store_article(db: sqlite_utils.Database, article: dict, citations: Iterable[dict] = (), *,
                  keep_revision: bool = False, report: bool = False):
    """Insert or update the article at article['url'] and replace its citations; return its id.

    keep_revision: when an update changes the title or text, the previous version goes to
    `article_revisions` first (a re-fetch keeps revisions, never duplicates).
    report: return (existed, changed) instead of the id.
    """
    row = dict(article)
    row.setdefault("extracted_at", utcnow())
    row.setdefault("word_count", len((row.get("text") or "").split()))
    existing = db.execute("SELECT id, title, text, content_hash, published_at, fetched_at, extracted_at"
                          " FROM articles WHERE url = ?", [row["url"]]).fetchone()
    changed = True
    if existing:
        article_id, old_title, old_text = existing[0], existing[1], existing[2]
        changed = old_title != row.get("title") or old_text != row.get("text")
        # `fetched_at` is the first fetch: an undated article's time in every timeline and spread
        if existing[5] and (not row.get("fetched_at") or existing[5] < row["fetched_at"]):
            row["fetched_at"] = existing[5]
        if keep_revision and changed:
            db["article_revisions"].insert({
                "article_id": article_id, "title": old_title, "text": old_text, "content_hash": existing[3],
                "published_at": existing[4], "fetched_at": existing[5], "extracted_at": existing[6],
                "replaced_at": utcnow(),
            })
        db["articles"].update(article_id, row)
        db.execute("DELETE FROM citations WHERE article_id = ?", [article_id])
    else:
        article_id = db["articles"].insert(row).last_pk
    cites = [dict(c, article_id=article_id) for c in citations]
    if cites:
        db["citations"].insert_all(cites)
    return (existing is not None, changed) if report else article_id


def article_revisit_due(db: sqlite_utils.Database, url: str, since: str) -> bool:
    """A stored article published (or first fetched) at or after *since* and fetched only once."""
    row = db.execute(
        """SELECT 1 FROM articles a JOIN pages p ON p.id = a.page_id
           WHERE (a.url = ? OR a.canonical_url = ?) AND coalesce(a.published_at, a.fetched_at) >= ?
             AND coalesce(p.fetch_count, 1) < 2 LIMIT 1""", [url, url, since]).fetchone()
    return row is not None


def stored_page(db: sqlite_utils.Database, url: str) -> tuple[bytes | None, str | None]:
    """(decompressed body, final URL) of the stored copy of *url*, when there is one."""
    row = db.execute("SELECT html, final_url FROM pages WHERE url = ? AND html IS NOT NULL", [url]).fetchone()
    return (decompress_html(row[0]), row[1]) if row else (None, None)


def iter_pages_to_extract(
    db: sqlite_utils.Database, outlets: list[str] | None = None, batch: int = 200
) -> Iterator[dict]:
    """Stored article pages with a body, oldest first, decompressed, in batches (bounded memory)."""
    where = "kind = 'article' AND html IS NOT NULL AND status BETWEEN 200 AND 299"
    params: list = []
    if outlets:
        where += f" AND outlet IN ({', '.join('?' for _ in outlets)})"
        params += list(outlets)
    last = 0
    while True:
        rows = db.execute(
            f"SELECT id, url, outlet, fetched_at, html, final_url, hints, content_type FROM pages"
            f" WHERE {where} AND id > ? ORDER BY id LIMIT ?",
            params + [last, batch],
        ).fetchall()
        if not rows:
            return
        for page_id, url, outlet, fetched_at, html, final_url, hints, content_type in rows:
            yield {"id": page_id, "url": url, "outlet": outlet, "fetched_at": fetched_at,
                   "body": decompress_html(html), "final_url": final_url, "content_type": content_type,
                   "hints": json.loads(hints) if hints else {}}
        last = rows[-1][0]


def insert_articles(db: sqlite_utils.Database, rows: list[dict]) -> list[int]:
    """Insert many new articles in the caller's transaction; return their ids in order."""
    ids = []
    for row in rows:
        row = dict(row)
        row.setdefault("extracted_at", utcnow())
        row.setdefault("word_count", len((row.get("text") or "").split()))
        ids.append(db["articles"].insert(row).last_pk)
    return ids
