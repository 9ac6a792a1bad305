"""Schema as small named migrations, applied once each and in order (sqlite-utils/llm style).

Over 500 lines on purpose: the migrations are the schema's history, appended in the order they
run; one file keeps that order readable top to bottom (each migration is a short function).
"""
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


@migration
def m011_article_labels(db: sqlite_utils.Database):
    # labels that came with an imported corpus (e.g. EUvsDisinfo keywords): metadata, never text
    db["article_labels"].create(
        {"article_id": int, "label": str, "source": str}, pk=("article_id", "label"),
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_labels"].create_index(["label"])


# the outlet summary as first defined: from every narrative member (kept: m020 replaced it, tests compare)
INFLUENCE_FROM_MEMBERS = """CREATE VIEW outlet_influence AS
        WITH adoption AS (SELECT * FROM spread_outlets WHERE kind = 'narrative')
        SELECT o.name AS outlet,
          (SELECT count(*) FROM adoption a WHERE a.outlet = o.name AND a.is_origin) AS originated,
          (SELECT count(*) FROM adoption a WHERE a.outlet = o.name AND NOT a.is_origin) AS adopted,
          (SELECT round(avg(a.lag_hours), 1) FROM adoption a WHERE a.outlet = o.name AND NOT a.is_origin)
            AS mean_lag_hours,
          (SELECT count(*) FROM text_reuse r JOIN articles x ON x.id = r.article_id WHERE x.outlet = o.name)
            AS copies_made,
          (SELECT count(*) FROM text_reuse r JOIN articles x ON x.id = r.source_article_id WHERE x.outlet = o.name)
            AS copied_by_others,
          (SELECT count(*) FROM citations c JOIN articles x ON x.id = c.article_id
            WHERE c.target_outlet = o.name AND x.outlet != o.name) AS cited_by_others
        FROM outlets o"""


@migration
def m012_reuse_and_spread(db: sqlite_utils.Database):
    db["reuse_buckets"].create({"band": int, "key": int, "article_id": int})
    db["reuse_buckets"].create_index(["band", "key"])
    db["text_reuse"].create(
        {"article_id": int, "source_article_id": int, "containment": float, "jaccard": float, "kind": str},
        pk=("article_id", "source_article_id"),
        foreign_keys=[("article_id", "articles", "id"), ("source_article_id", "articles", "id")],
    )
    db["text_reuse"].create_index(["source_article_id"])
    db["watched_narratives"].add_column("effective_threshold", float)
    db["spread_edges"].create(
        {"kind": str, "subject_id": int, "from_outlet": str, "to_outlet": str, "edge_kind": str, "lag_hours": float,
         "weight": int, "evidence": str, "run_id": int},
    )
    db["spread_edges"].create_index(["kind", "subject_id"])
    db["narrative_bursts"].create(
        {"kind": str, "subject_id": int, "burst": int, "start_day": str, "end_day": str, "articles": int, "run_id": int},
        pk=("kind", "subject_id", "burst"),
    )
    db.execute("CREATE INDEX IF NOT EXISTS watch_matches_watch_score ON watch_matches (watch_id, score)")
    db.execute("CREATE INDEX IF NOT EXISTS articles_outlet ON articles (outlet)")
    db.execute("""CREATE VIEW article_times AS
        SELECT id AS article_id, outlet, coalesce(published_at, fetched_at) AS time,
               CASE WHEN published_at IS NOT NULL THEN 'published (' || coalesce(date_source, '?') || ')'
                    ELSE 'first fetch' END AS time_source
        FROM articles""")
    db.execute("""CREATE VIEW subject_members AS
        SELECT 'narrative' AS kind, m.narrative_id AS subject_id, m.article_id, m.score
          FROM narrative_memberships m JOIN narratives n ON n.id = m.narrative_id WHERE n.status = 'active'
        UNION ALL
        SELECT 'event', event_id, article_id, score FROM event_memberships
        UNION ALL
        SELECT 'watch', m.watch_id, m.article_id, m.score
          FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id WHERE m.score >= w.effective_threshold""")
    db.execute("""CREATE VIEW timeline_daily AS
        SELECT s.kind, s.subject_id, substr(t.time, 1, 10) AS day, t.outlet, count(*) AS articles
        FROM subject_members s JOIN article_times t ON t.article_id = s.article_id
        GROUP BY s.kind, s.subject_id, day, t.outlet""")
    db.execute("""CREATE VIEW spread_outlets AS
        WITH member_times AS (
          SELECT s.kind, s.subject_id, t.article_id, t.outlet, t.time, t.time_source,
                 row_number() OVER (PARTITION BY s.kind, s.subject_id, t.outlet ORDER BY t.time, t.article_id) AS nth,
                 count(*) OVER (PARTITION BY s.kind, s.subject_id, t.outlet) AS articles
          FROM subject_members s JOIN article_times t ON t.article_id = s.article_id),
        firsts AS (SELECT * FROM member_times WHERE nth = 1)
        SELECT kind, subject_id, outlet, article_id AS first_article_id, time AS first_seen_at, time_source, articles,
               round((julianday(time) - julianday(min(time) OVER (PARTITION BY kind, subject_id))) * 24, 2) AS lag_hours,
               dense_rank() OVER (PARTITION BY kind, subject_id ORDER BY time) AS adoption_rank,
               time = min(time) OVER (PARTITION BY kind, subject_id) AS is_origin
        FROM firsts""")
    db.execute(INFLUENCE_FROM_MEMBERS)


@migration
def m013_pending_queue(db: sqlite_utils.Database):
    # Work queue of the processing stages, so each run finds new or changed articles without
    # scanning the whole database: a new or re-extracted article is queued for embedding and
    # reuse; embedding queues it for events, narratives and watched narratives.
    db.execute("CREATE TABLE pending (stage TEXT NOT NULL, article_id INTEGER NOT NULL, "
               "PRIMARY KEY (stage, article_id)) WITHOUT ROWID")
    db.execute("""CREATE TRIGGER articles_pending_insert AFTER INSERT ON articles BEGIN
        INSERT OR IGNORE INTO pending VALUES ('embed', new.id), ('reuse', new.id); END""")
    db.execute("""CREATE TRIGGER articles_pending_update AFTER UPDATE OF title, text ON articles
        WHEN old.text IS NOT new.text OR old.title IS NOT new.title BEGIN
        INSERT OR IGNORE INTO pending VALUES ('embed', new.id), ('reuse', new.id); END""")
    db.execute("""CREATE TRIGGER articles_pending_delete AFTER DELETE ON articles BEGIN
        DELETE FROM pending WHERE article_id = old.id; END""")
    db.execute("""INSERT OR IGNORE INTO pending SELECT 'embed', id FROM articles a
                  WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = a.id)""")
    # the reuse stage replaces an article's earlier pairs and buckets, so checking all again is safe
    db.execute("INSERT OR IGNORE INTO pending SELECT 'reuse', id FROM articles")
    db["watched_narratives"].add_column("rescore", int)


@migration
def m014_crawl_runs(db: sqlite_utils.Database):
    # One row per crawl (`narratives crawl` / `narratives run`, local or with scrapy-redis workers),
    # with per-outlet and per-feed/sitemap stats: what `narratives health` compares with history.
    db["crawl_runs"].create(
        {"id": int, "started_at": str, "finished_at": str,
         "status": str,  # running, finished, interrupted, failed, killed (found running after a crash)
         "mode": str,  # local or distributed
         "outlets": str,  # JSON list of the outlets crawled
         "params": str,  # JSON: settings overridden, refresh, revisit window
         "pid": int, "host": str, "reason": str,  # Scrapy's finish reason or the error
         "requests": int, "pages": int, "articles_new": int, "articles_updated": int, "errors": int,
         "duration_s": float, "process_run_id": int},
        pk="id",
    )
    db["crawl_runs"].create_index(["started_at"])
    db["crawl_run_outlets"].create(
        {"run_id": int, "outlet": str, "requests": int,
         "requests_by_kind": str,  # JSON {feed, sitemap, section, article, robots: n}
         "pages": int, "not_modified": int, "articles_new": int, "articles_updated": int, "already_stored": int,
         "revisits": int, "not_extracted": int, "errors": int,
         "errors_by_kind": str,  # JSON {http_4xx, http_5xx, timeout, connection, robots, malformed, ...: n}
         "robots_forbidden": int, "robots_sha1": str,  # hash of the robots.txt served for the outlet's origin
         "duration_s": float},
        pk=("run_id", "outlet"),
        foreign_keys=[("run_id", "crawl_runs", "id")],
    )
    db["crawl_run_outlets"].create_index(["outlet", "run_id"])
    db["crawl_run_sources"].create(
        {"run_id": int, "outlet": str, "url": str, "kind": str,  # feed or sitemap
         "status": int, "error": str,
         "entries": int,  # article entries listed (re-read from the stored copy on a 304)
         "new_entries": int},  # entries not stored before this run
        pk=("run_id", "url"),
        foreign_keys=[("run_id", "crawl_runs", "id")],
    )
    db["crawl_run_sources"].create_index(["url", "run_id"])
    # earlier versions of an article, kept when a re-fetch (revision window, --refresh) changed it
    db["article_revisions"].create(
        {"id": int, "article_id": int, "title": str, "text": str, "content_hash": str, "published_at": str,
         "fetched_at": str, "extracted_at": str, "replaced_at": str},
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_revisions"].create_index(["article_id"])


@migration
def m016_spread_state(db: sqlite_utils.Database):
    # What the spread stage has already counted per subject, so a run adds only its new members
    # (their copies, citations, days and first appearances) instead of re-reading every member:
    # the cost of a run stays flat as narratives grow.
    db.execute("""CREATE TABLE spread_members (kind TEXT NOT NULL, subject_id INTEGER NOT NULL,
        article_id INTEGER NOT NULL, PRIMARY KEY (kind, subject_id, article_id)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE subject_outlets (kind TEXT NOT NULL, subject_id INTEGER NOT NULL, outlet TEXT NOT NULL,
        first_seen_at TEXT, first_article_id INTEGER, articles INTEGER NOT NULL,
        PRIMARY KEY (kind, subject_id, outlet)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE subject_days (kind TEXT NOT NULL, subject_id INTEGER NOT NULL, day TEXT NOT NULL,
        outlet TEXT NOT NULL, articles INTEGER NOT NULL,
        PRIMARY KEY (kind, subject_id, day, outlet)) WITHOUT ROWID""")
    # edges are merged in place by key; older databases hold one row per key already
    db.execute("""DELETE FROM spread_edges WHERE rowid NOT IN (SELECT min(rowid) FROM spread_edges
                  GROUP BY kind, subject_id, from_outlet, to_outlet, edge_kind)""")
    db.execute("DROP INDEX IF EXISTS idx_spread_edges_kind_subject_id")
    db.execute("""CREATE UNIQUE INDEX spread_edges_key ON spread_edges
                  (kind, subject_id, edge_kind, from_outlet, to_outlet)""")


@migration
def m017_reuse_bucket_recency(db: sqlite_utils.Database):
    # the reuse stage reads only the most recent articles of a bucket: a syndicated story's
    # bucket grows with the database, reading it all would not
    db.execute("CREATE INDEX reuse_buckets_recent ON reuse_buckets (band, key, article_id)")
    db.execute("DROP INDEX IF EXISTS idx_reuse_buckets_band_key")
    # each article's 5-word shingle hashes (sorted uint32), so a candidate is compared without
    # re-reading and re-shingling its text
    db.execute("CREATE TABLE article_shingles (article_id INTEGER PRIMARY KEY, "
               "shingles BLOB NOT NULL)")



@migration
def m018_incremental_counts(db: sqlite_utils.Database):
    # the reuse stage replaces a re-compared article's buckets: found by article, not by a scan
    db.execute("CREATE INDEX reuse_buckets_article ON reuse_buckets (article_id)")
    # the distinct outlets of each event and the distinct outlets and events of each narrative, so
    # a run adds its new members to outlet_count / event_count instead of recounting every member
    db.execute("""CREATE TABLE event_outlets (event_id INTEGER NOT NULL, outlet TEXT NOT NULL,
        PRIMARY KEY (event_id, outlet)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE narrative_outlets (narrative_id INTEGER NOT NULL, outlet TEXT NOT NULL,
        PRIMARY KEY (narrative_id, outlet)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE narrative_events (narrative_id INTEGER NOT NULL, event_id INTEGER NOT NULL,
        PRIMARY KEY (narrative_id, event_id)) WITHOUT ROWID""")
    db.execute("""INSERT INTO event_outlets SELECT DISTINCT m.event_id, a.outlet FROM event_memberships m
                  JOIN articles a ON a.id = m.article_id""")
    db.execute("""INSERT INTO narrative_outlets SELECT DISTINCT m.narrative_id, a.outlet FROM narrative_memberships m
                  JOIN articles a ON a.id = m.article_id""")
    db.execute("""INSERT INTO narrative_events SELECT DISTINCT m.narrative_id, e.event_id FROM narrative_memberships m
                  JOIN event_memberships e ON e.article_id = m.article_id""")
    # a reuse candidate's outlet and time stand with its shingles (kept in step with the article by
    # triggers), so comparing with it reads one small row instead of the article's
    db.execute("ALTER TABLE article_shingles ADD COLUMN outlet TEXT")
    db.execute("ALTER TABLE article_shingles ADD COLUMN time TEXT")
    db.execute("DELETE FROM article_shingles WHERE article_id NOT IN (SELECT id FROM articles)")
    db.execute("""UPDATE article_shingles SET (outlet, time) = (SELECT a.outlet, coalesce(a.published_at, a.fetched_at)
                  FROM articles a WHERE a.id = article_shingles.article_id)""")
    db.execute("""CREATE TRIGGER articles_shingles_update AFTER UPDATE OF outlet, published_at, fetched_at ON articles
        BEGIN UPDATE article_shingles SET outlet = new.outlet, time = coalesce(new.published_at, new.fetched_at)
        WHERE article_id = new.id; END""")
    db.execute("""CREATE TRIGGER articles_shingles_delete AFTER DELETE ON articles
        BEGIN DELETE FROM article_shingles WHERE article_id = old.id; END""")

@migration
def m019_spread_stale(db: sqlite_utils.Database):
    # the spread stage counts a member once, with its time then; an article whose time changes
    # afterwards (a re-fetch or re-extraction finds another publication date) marks the subjects
    # it belongs to, and the next `process` recounts them from all their members
    db.execute("""CREATE TABLE spread_stale (kind TEXT NOT NULL, subject_id INTEGER NOT NULL,
        PRIMARY KEY (kind, subject_id)) WITHOUT ROWID""")
    db.execute("""CREATE TRIGGER articles_time_changed AFTER UPDATE OF published_at, fetched_at ON articles
        WHEN coalesce(new.published_at, new.fetched_at) IS NOT coalesce(old.published_at, old.fetched_at)
        BEGIN
          INSERT OR IGNORE INTO spread_stale SELECT 'narrative', narrative_id FROM narrative_memberships
            WHERE article_id = new.id;
          INSERT OR IGNORE INTO spread_stale SELECT 'event', event_id FROM event_memberships WHERE article_id = new.id;
          INSERT OR IGNORE INTO spread_stale SELECT 'watch', watch_id FROM watch_matches WHERE article_id = new.id;
        END""")


INFLUENCE_FROM_COUNTS = """CREATE VIEW outlet_influence AS
    WITH firsts AS (
      SELECT o.subject_id, min(o.first_seen_at) AS t0 FROM subject_outlets o
      JOIN narratives n ON n.id = o.subject_id AND n.status = 'active'
      WHERE o.kind = 'narrative' GROUP BY o.subject_id),
    adoption AS (
      SELECT o.outlet, o.first_seen_at = f.t0 AS is_origin,
             round((julianday(o.first_seen_at) - julianday(f.t0)) * 24, 2) AS lag_hours
      FROM subject_outlets o JOIN firsts f ON f.subject_id = o.subject_id WHERE o.kind = 'narrative'),
    per_outlet AS (
      SELECT outlet, sum(is_origin) AS originated, sum(NOT is_origin) AS adopted,
             round(avg(CASE WHEN NOT is_origin THEN lag_hours END), 1) AS mean_lag_hours
      FROM adoption GROUP BY outlet),
    made AS (SELECT x.outlet, count(*) AS n FROM text_reuse r JOIN articles x ON x.id = r.article_id GROUP BY x.outlet),
    copied AS (SELECT x.outlet, count(*) AS n FROM text_reuse r JOIN articles x ON x.id = r.source_article_id
               GROUP BY x.outlet),
    cited AS (SELECT c.target_outlet AS outlet, count(*) AS n FROM citations c JOIN articles x ON x.id = c.article_id
              WHERE x.outlet != c.target_outlet GROUP BY c.target_outlet)
    SELECT o.name AS outlet, coalesce(p.originated, 0) AS originated, coalesce(p.adopted, 0) AS adopted,
           p.mean_lag_hours, coalesce(m.n, 0) AS copies_made, coalesce(c.n, 0) AS copied_by_others,
           coalesce(t.n, 0) AS cited_by_others
    FROM outlets o LEFT JOIN per_outlet p ON p.outlet = o.name LEFT JOIN made m ON m.outlet = o.name
    LEFT JOIN copied c ON c.outlet = o.name LEFT JOIN cited t ON t.outlet = o.name"""


@migration
def m020_influence_from_counts(db: sqlite_utils.Database):
    # the outlet summary from the spread stage's first appearances per narrative and one grouped
    # pass over reuse and citations, instead of every narrative member's article row and a
    # correlated count per outlet: 4.8 s instead of 17.0 s on the 1M bench database
    db.execute("DROP VIEW IF EXISTS outlet_influence")
    db.execute(INFLUENCE_FROM_COUNTS)


@migration
def m021_edges_by_weight(db: sqlite_utils.Database):
    # `spread` shows the strongest edges of each kind: read in weight order, not all then sorted
    db.execute("CREATE INDEX spread_edges_weight ON spread_edges "
               "(kind, subject_id, edge_kind, weight DESC, from_outlet, to_outlet)")


@migration
def m022_vector_precision(db: sqlite_utils.Database):
    # each vector says the number format it was computed in (fp32 or bf16, issue #14) beside its
    # model. Existing rows take the format their `process` run logged (every run logs it in its
    # params; a vector belongs to the run whose time span holds its created_at), else "unknown"
    # (vectors of `narratives embed`, which logs no run).
    for table in ("embeddings", "passages"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN precision TEXT NOT NULL DEFAULT 'unknown'")
    db.execute("""
        UPDATE embeddings SET precision = COALESCE((
            SELECT json_extract(r.params, '$.precision') FROM runs r
            WHERE r.stage = 'process' AND json_extract(r.params, '$.model_id') = embeddings.model_id
              AND r.started_at <= embeddings.created_at
              AND embeddings.created_at <= COALESCE(r.finished_at, '9999')
              AND json_extract(r.params, '$.precision') IN ('fp32', 'bf16')
            ORDER BY r.id DESC LIMIT 1), 'unknown')""")
    db.execute("""
        UPDATE passages SET precision = (
            SELECT e.precision FROM embeddings e WHERE e.article_id = passages.article_id
              AND e.model_id = passages.model_id)
        WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = passages.article_id
                      AND e.model_id = passages.model_id AND e.precision != 'unknown')""")
    # the embed stage asks, once a run, whether a model already has vectors of another format
    db.execute("CREATE INDEX embeddings_model_precision ON embeddings (model_id, precision)")


WATCH_MEMBER = ("m.score >= w.effective_threshold AND NOT EXISTS (SELECT 1 FROM stances s WHERE s.kind = 'watch' "
                "AND s.subject_id = m.watch_id AND s.article_id = m.article_id AND s.stance != 'carries')")


@migration
def m023_stances(db: sqlite_utils.Database):
    # the stance judge's verdicts (issue #16): one row per judged (subject, article), reused while
    # claim, article text and model are unchanged. Narrative members are carriers; a watched
    # narrative matches carriers (a candidate no judge covers stays a member: not judged).
    db.execute("""CREATE TABLE stances (kind TEXT NOT NULL, subject_id INTEGER NOT NULL, article_id INTEGER NOT NULL,
        stance TEXT NOT NULL, p_carries REAL, p_reports REAL, p_debunks REAL, p_unrelated REAL, evidence TEXT,
        claim_hash TEXT, content_hash TEXT, model_id TEXT, run_id INTEGER, judged_at TEXT,
        PRIMARY KEY (kind, subject_id, article_id))""")
    db.execute("CREATE INDEX stances_subject_stance ON stances (kind, subject_id, stance)")
    db.execute("CREATE INDEX stances_article ON stances (article_id)")
    # a narrative's claim as the judge reads it, and the judge that last judged all its candidates
    db["narratives"].add_column("claims", str)
    db["narratives"].add_column("stance_model", str)
    db["watched_narratives"].add_column("stance_model", str)
    db.execute("DROP VIEW IF EXISTS subject_members")
    db.execute(f"""CREATE VIEW subject_members AS
        SELECT 'narrative' AS kind, m.narrative_id AS subject_id, m.article_id, m.score
          FROM narrative_memberships m JOIN narratives n ON n.id = m.narrative_id WHERE n.status = 'active'
        UNION ALL
        SELECT 'event', event_id, article_id, score FROM event_memberships
        UNION ALL
        SELECT 'watch', m.watch_id, m.article_id, m.score
          FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id WHERE {WATCH_MEMBER}""")
    # reports and debunks beside the members (carriers), for your own SQL and the saved queries
    db.execute("""CREATE VIEW subject_stances AS
        SELECT s.kind, s.subject_id, s.article_id, s.stance, s.p_carries, s.p_reports, s.p_debunks, s.p_unrelated,
               s.evidence, s.model_id, t.outlet, t.time, t.time_source
        FROM stances s JOIN article_times t ON t.article_id = s.article_id
        WHERE s.stance IN ('reports', 'debunks') AND (
          (s.kind = 'narrative' AND EXISTS (SELECT 1 FROM narratives n WHERE n.id = s.subject_id AND n.status = 'active'))
          OR (s.kind = 'watch' AND EXISTS (SELECT 1 FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id
                 WHERE m.watch_id = s.subject_id AND m.article_id = s.article_id AND m.score >= w.effective_threshold)))""")
    # judged on the next `process` (migrated databases): their counts are recounted after it
    db.execute("INSERT OR IGNORE INTO spread_stale (kind, subject_id) SELECT 'narrative', id FROM narratives "
               "WHERE status = 'active'")
    db.execute("INSERT OR IGNORE INTO spread_stale (kind, subject_id) SELECT 'watch', id FROM watched_narratives")


@migration
def m024_translations(db: sqlite_utils.Database):
    # translated relays found by a multilingual model (issue #17, clustering/translation.py): the
    # earlier article is the source; the checks make the stage incremental per content hash
    db.execute("""CREATE TABLE translations (article_id INTEGER NOT NULL REFERENCES articles(id),
        source_article_id INTEGER NOT NULL REFERENCES articles(id), model_id TEXT NOT NULL, matched INTEGER,
        share REAL, cosine REAL, evidence TEXT, run_id INTEGER, found_at TEXT,
        PRIMARY KEY (article_id, source_article_id, model_id))""")
    db.execute("CREATE INDEX translations_source ON translations (source_article_id)")
    db.execute("""CREATE TABLE translation_checks (article_id INTEGER NOT NULL, model_id TEXT NOT NULL,
        content_hash TEXT, checked_at TEXT, PRIMARY KEY (article_id, model_id))""")


@migration
def m025_settings(db: sqlite_utils.Database):
    # database-wide choices that outlive one command: the embedding model the database was
    # switched to (`narratives switch-model`), so later commands use it without being told
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT)")


@migration
def m026_stance_through_translation(db: sqlite_utils.Database):
    # an article no stance judge reads is judged through its full translation (issue #17): the
    # verdict names the article the judge read; a pair's coverage says how much of the longer
    # article the aligned units are
    db["stances"].add_column("via_article_id", int)
    db["translations"].add_column("coverage", float)
    # the pairs found before are found again, with their coverage, by the next `process`
    db.execute("""DELETE FROM translation_checks WHERE article_id IN
                  (SELECT article_id FROM translations UNION SELECT source_article_id FROM translations)""")


@migration
def m027_watch_languages(db: sqlite_utils.Database):
    # watched narratives standardised per language (issue #29, clustering/watch.py
    # language_calibration): a match keeps its calibrated score before that (z) and what the
    # carrier gate and keywords add (adjust), so a language's new standardisation updates the
    # scores in SQL, without scoring again
    db["watch_matches"].add_column("z", float)
    db["watch_matches"].add_column("adjust", float)
    db.execute("""CREATE TABLE watch_languages (model_id TEXT NOT NULL, language TEXT NOT NULL, articles INTEGER,
        shift REAL, scale REAL, status TEXT, watches TEXT, updated_at TEXT, PRIMARY KEY (model_id, language))""")
    # scores from before have no z: every watched narrative is scored again by the next `process`
    db.execute("UPDATE watched_narratives SET rescore = 1")
    # the language a narrative's keywords and headline are in (its members' most common)
    db["narratives"].add_column("label_language", str)


@migration
def m028_address_guard(db: sqlite_utils.Database):
    # the address guard (issue #32): an outlet's own allowance (JSON list of networks, from
    # `allow_addresses` in the outlets file), and the fetches a run refused by address.
    # Numbered 28: main's m027 is m027_watch_languages (issue #29), merged beside this one.
    db["outlets"].add_column("allow_addresses", str)
    db["crawl_run_outlets"].add_column("addresses_refused", int)


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
