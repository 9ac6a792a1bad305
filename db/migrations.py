"""Schema as small named migrations, applied once each and in order (sqlite-utils/llm style)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlite_utils

logger = logging.getLogger(__name__)

MIGRATIONS = []


def migration(fn):
    MIGRATIONS.append(fn)
    return fn


def utcnow() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@migration
def m001_outlets(db: sqlite_utils.Database):
    db["outlets"].create(
        {
            "name": str,
            "home": str,
            "feeds": str,  # JSON list
            "sitemaps": str,  # JSON list
            "sections": str,  # JSON list
            "language": str,
            "country": str,
            "max_pages": int,
            "aliases": str,  # JSON list: other names the outlet is cited by
            "created_at": str,
            "updated_at": str,
        },
        pk="name",
    )


@migration
def m002_pages(db: sqlite_utils.Database):
    # One row per URL: its latest fetch. `error` holds the reason of a failed fetch.
    db["pages"].create(
        {
            "id": int,
            "url": str,
            "outlet": str,
            "kind": str,  # article, feed, sitemap, section
            "status": int,
            "fetched_at": str,
            "etag": str,
            "last_modified": str,
            "content_type": str,
            "final_url": str,
            "size": int,
            "html": bytes,  # zlib-compressed body
            "error": str,
            "hints": str,  # JSON: dates and titles the feed or sitemap gave for this URL
            "fetch_count": int,
        },
        pk="id",
        foreign_keys=[("outlet", "outlets", "name")],
        not_null={"url", "outlet", "kind", "fetched_at"},
    )
    db["pages"].create_index(["url"], unique=True)
    db["pages"].create_index(["outlet", "kind"])


@migration
def m003_articles(db: sqlite_utils.Database):
    db["articles"].create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "outlet": str,
            "page_id": int,
            "title": str,
            "text": str,
            "author": str,
            "description": str,
            "language": str,
            "language_source": str,
            "published_at": str,  # UTC; a date alone when the page gives no time
            "published_date": str,  # the day as the outlet writes it (its local day)
            "date_source": str,
            "fetched_at": str,
            "content_hash": str,
            "word_count": int,
            "extractor": str,
            "extracted_at": str,
        },
        pk="id",
        foreign_keys=[("outlet", "outlets", "name"), ("page_id", "pages", "id")],
        not_null={"url", "outlet", "text"},
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["outlet", "published_at"])
    db["articles"].create_index(["content_hash"])
    db["articles"].create_index(["canonical_url"])


@migration
def m004_citations(db: sqlite_utils.Database):
    db["citations"].create(
        {
            "id": int,
            "article_id": int,
            "kind": str,  # link, source, read_more, via
            "target_url": str,
            "target_outlet": str,  # resolved outlet name, when the target is a known outlet
            "text": str,  # anchor text or the mention ("Euronews")
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["citations"].create_index(["article_id"])
    db["citations"].create_index(["target_outlet"])


@migration
def m005_articles_fts(db: sqlite_utils.Database):
    db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter")


@migration
def m006_runs(db: sqlite_utils.Database):
    # one row per stage run; memberships and lineage point here so each row says how it was made
    db["runs"].create(
        {"id": int, "stage": str, "started_at": str, "finished_at": str, "params": str, "stats": str},
        pk="id",
    )


@migration
def m007_embeddings(db: sqlite_utils.Database):
    db["embeddings"].create(
        {"article_id": int, "model_id": str, "content_hash": str, "dim": int, "vector": bytes, "created_at": str},
        pk=("article_id", "model_id"),
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["passages"].create(
        {"article_id": int, "model_id": str, "idx": int, "text": str, "vector": bytes},
        pk=("article_id", "model_id", "idx"),
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["embed_skips"].create(
        {"article_id": int, "model_id": str, "content_hash": str, "reason": str, "created_at": str},
        pk=("article_id", "model_id"),
        foreign_keys=[("article_id", "articles", "id")],
    )


@migration
def m008_events(db: sqlite_utils.Database):
    db["events"].create(
        {"id": int, "model_id": str, "title": str, "first_at": str, "last_at": str, "article_count": int,
         "outlet_count": int, "centroid": bytes, "state": bytes, "created_run": int, "updated_run": int},
        pk="id",
    )
    db["event_memberships"].create(
        {"article_id": int, "event_id": int, "run_id": int, "score": float, "method": str, "model_id": str},
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id"), ("event_id", "events", "id"), ("run_id", "runs", "id")],
    )
    db["event_memberships"].create_index(["event_id"])


@migration
def m009_narratives(db: sqlite_utils.Database):
    db["narratives"].create(
        {"id": int, "label": str, "keywords": str, "headline": str, "status": str, "article_count": int,
         "outlet_count": int, "event_count": int, "first_seen_at": str, "last_seen_at": str, "centroid": bytes,
         "residual_centroid": bytes, "context": bytes, "model_id": str, "created_run": int, "updated_run": int},
        pk="id",
    )
    # which articles the narrative stage has looked at (discovery or incremental assignment)
    db["narrative_checked"].create(
        {"article_id": int, "model_id": str, "run_id": int}, pk=("article_id", "model_id"),
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["narrative_memberships"].create(
        {"narrative_id": int, "article_id": int, "run_id": int, "score": float, "method": str, "model_id": str},
        pk=("narrative_id", "article_id"),
        foreign_keys=[("narrative_id", "narratives", "id"), ("article_id", "articles", "id"), ("run_id", "runs", "id")],
    )
    db["narrative_memberships"].create_index(["article_id"])
    db["narrative_lineage"].create(
        {"id": int, "run_id": int, "kind": str, "from_id": int, "to_id": int, "overlap": float, "detail": str},
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )


@migration
def m010_watched_narratives(db: sqlite_utils.Database):
    db["watched_narratives"].create(
        {"id": int, "name": str, "description": str, "keywords": str, "examples": str, "threshold": float,
         "model_id": str, "profile": bytes, "created_at": str, "updated_at": str},
        pk="id",
    )
    db["watched_narratives"].create_index(["name"], unique=True)
    db["watch_matches"].create(
        {"watch_id": int, "article_id": int, "score": float, "passage": str, "run_id": int, "model_id": str},
        pk=("watch_id", "article_id"),
        foreign_keys=[("watch_id", "watched_narratives", "id"), ("article_id", "articles", "id")],
    )
    db["watch_matches"].create_index(["article_id"])


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply the migrations not yet applied; return their names."""
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name", if_not_exists=True)
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with db.conn:
            fn(db)
            db["_migrations"].insert({"name": fn.__name__, "applied_at": utcnow()})
        applied.append(fn.__name__)
        logger.debug("applied migration %s", fn.__name__)
    return applied
