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


def test_a_read_then_write_transaction_waits_for_a_crawl_instead_of_failing(tmp_path):
    # the race `process` hit beside a crawl (found with the static model, whose process runs
    # often): a deferred transaction reads, another connection commits, the first write fails
    # at once with "database is locked" whatever busy_timeout says
    import sqlite3

    import pytest

    from db.connection import write_transaction

    path = tmp_path / "race.db"
    db = open_db(path)
    db.execute("CREATE TABLE t (x INTEGER)")
    db.execute("CREATE TEMP TABLE scratch (x INTEGER)")
    crawl = sqlite3.connect(path, timeout=0.2)

    db.execute("INSERT INTO scratch VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        with db.conn:
            db.execute("BEGIN")  # deferred, as a transaction whose first write comes after its reads
            db.execute("SELECT count(*) FROM t").fetchone()  # pins a snapshot of the main database
            with crawl:
                crawl.execute("INSERT INTO t VALUES (0)")
            db.execute("INSERT INTO t SELECT x FROM scratch")  # fails at once: busy_timeout is 30 s

    with write_transaction(db):
        db.execute("INSERT INTO scratch VALUES (2)")
        db.execute("SELECT count(*) FROM t").fetchone()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            with crawl:  # the crawl waits (here: gives up after 0.2 s) while the lock is held
                crawl.execute("INSERT INTO t VALUES (0)")
        db.execute("INSERT INTO t SELECT x FROM scratch")
    assert sorted(x for (x,) in db.execute("SELECT x FROM t")) == [0, 1, 2]  # the crawl's row, then ours
