import sqlite3

from db import open_db
from db.migrations import MIGRATIONS
from db.store import decompress_html, page_validators, record_page, store_article, upsert_outlets


def test_migrations_apply_once_and_wal_is_on(tmp_path):
    path = tmp_path / "n.db"
    open_db(path).close()
    db = open_db(path)  # second open applies nothing again
    names = [r["name"] for r in db["_migrations"].rows]
    assert names == [fn.__name__ for fn in MIGRATIONS]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"outlets", "pages", "articles", "citations", "articles_fts"} <= set(db.table_names())


def test_record_page_keeps_body_and_validators_on_304(tmp_path):
    db = open_db(tmp_path / "n.db")
    upsert_outlets(db, [{"name": "a", "home": "http://x/", "feeds": "[]", "sitemaps": "[]", "sections": "[]"}])
    pid = record_page(db, {"url": "http://x/rss", "outlet": "a", "kind": "feed", "status": 200, "body": b"<rss/>",
                           "etag": '"e1"', "last_modified": "Tue, 03 Mar 2026 09:15:00 GMT"})
    assert page_validators(db, "http://x/rss") == ('"e1"', "Tue, 03 Mar 2026 09:15:00 GMT")
    assert record_page(db, {"url": "http://x/rss", "outlet": "a", "kind": "feed", "status": 304}) == pid
    row = db["pages"].get(pid)
    assert row["status"] == 304 and row["fetch_count"] == 2
    assert decompress_html(row["html"]) == b"<rss/>" and row["etag"] == '"e1"'


def test_store_article_upserts_and_replaces_citations(tmp_path):
    db = open_db(tmp_path / "n.db")
    upsert_outlets(db, [{"name": "a", "home": "http://x/", "feeds": "[]", "sitemaps": "[]", "sections": "[]"}])
    art = {"url": "http://x/1", "outlet": "a", "title": "T", "text": "one two three"}
    first = store_article(db, art, [{"kind": "link", "target_url": "http://y/"}])
    second = store_article(db, dict(art, text="one two three four"), [{"kind": "source", "text": "Y"}])
    assert first == second and db["articles"].count == 1
    assert db["articles"].get(first)["word_count"] == 4
    assert [(c["kind"], c["text"]) for c in db["citations"].rows] == [("source", "Y")]
    conn = sqlite3.connect(tmp_path / "n.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_refetch_keeps_the_first_fetch_time(tmp_path):
    """An undated article's time is its first fetch (timelines, adoption order): a later fetch of
    the same URL must not move it."""
    db = open_db(tmp_path / "n.db")
    upsert_outlets(db, [{"name": "a", "home": "http://x/", "feeds": "[]", "sitemaps": "[]", "sections": "[]"}])
    art = {"url": "http://x/1", "outlet": "a", "title": "T", "text": "one two three", "fetched_at": "2026-03-01T08:00:00Z"}
    aid = store_article(db, art)
    store_article(db, dict(art, text="one two three four", fetched_at="2026-03-02T09:00:00Z"), keep_revision=True)
    store_article(db, dict(art, fetched_at="2026-03-03T10:00:00Z"))
    assert db["articles"].get(aid)["fetched_at"] == "2026-03-01T08:00:00Z"
    assert db["articles"].get(aid)["word_count"] == 3
