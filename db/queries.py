"""Read queries the CLI shows."""
from __future__ import annotations

import sqlite_utils


def outlets_overview(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query("""
        SELECT o.name, o.home, o.language, o.country, o.max_pages,
               json_array_length(o.feeds) AS feeds, json_array_length(o.sitemaps) AS sitemaps,
               json_array_length(o.sections) AS sections,
               (SELECT group_concat(value, ', ') FROM json_each(coalesce(o.allow_addresses, '[]'))) AS allow_addresses,
               (SELECT count(*) FROM articles a WHERE a.outlet = o.name) AS articles,
               (SELECT count(*) FROM pages p WHERE p.outlet = o.name AND p.error IS NOT NULL) AS failed_pages,
               (SELECT max(fetched_at) FROM pages p WHERE p.outlet = o.name) AS last_fetch
        FROM outlets o ORDER BY o.name
    """))


def recent_articles(db: sqlite_utils.Database, outlet: str | None = None, limit: int = 20) -> list[dict]:
    where, params = "", []
    if outlet:
        where, params = "WHERE outlet = ?", [outlet]
    return list(db.query(f"""
        SELECT id, outlet, published_at, date_source, language, word_count, title, url
        FROM articles {where}
        ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT ?
    """, [*params, limit]))


def failed_pages(db: sqlite_utils.Database, outlet: str | None = None, limit: int = 100) -> list[dict]:
    where, params = "WHERE error IS NOT NULL", []
    if outlet:
        where += " AND outlet = ?"
        params.append(outlet)
    return list(db.query(f"""
        SELECT outlet, kind, status, error, fetched_at, url FROM pages {where}
        ORDER BY fetched_at DESC, id DESC LIMIT ?
    """, [*params, limit]))


def recent_pages(db: sqlite_utils.Database, outlet: str | None = None, limit: int = 100) -> list[dict]:
    where, params = "", []
    if outlet:
        where, params = "WHERE outlet = ?", [outlet]
    return list(db.query(f"""
        SELECT outlet, kind, status, error, fetched_at, fetch_count, url FROM pages {where}
        ORDER BY fetched_at DESC, id DESC LIMIT ?
    """, [*params, limit]))


def article_languages(db: sqlite_utils.Database, article_ids) -> list[str | None]:
    """Each article's language, in the order of `article_ids`."""
    ids = [int(a) for a in article_ids]
    found: dict[int, str | None] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        found.update(db.execute(f"SELECT id, language FROM articles WHERE id IN ({','.join('?' * len(chunk))})",
                                chunk).fetchall())
    return [found.get(a) for a in ids]
