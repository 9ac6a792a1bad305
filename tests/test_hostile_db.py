"""Database faults during real crawls: out of room, killed mid-write. Nothing stored is lost,
the database stays intact, and the next crawl carries on."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import ALLOW_LOOPBACK, REPO, run_cli
from tests.hostile_web import build_filler_web, filler_toml

pytestmark = pytest.mark.slow

FAST = ["-s", "DOWNLOAD_TIMEOUT=3", "-s", "RETRY_TIMES=0", "-s", "AUTOTHROTTLE_START_DELAY=0.05",
        "-s", "AUTOTHROTTLE_MAX_DELAY=0.5", "-s", "NARRATIVES_EXTRACT_WORKERS=1", *ALLOW_LOOPBACK]
COUNT = 40


def query(db, sql, *params):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def integrity(db) -> str:
    return query(db, "PRAGMA integrity_check")[0][0]


def articles(db) -> dict:
    return {url: (aid, h) for aid, url, h in query(db, "SELECT id, url, content_hash FROM articles")}


@pytest.fixture
def filler(tmp_path):
    web = build_filler_web(COUNT)
    db = tmp_path / "n.db"
    (tmp_path / "outlets.toml").write_text(filler_toml(web))
    assert run_cli("outlets", "import", db, tmp_path / "outlets.toml").returncode == 0
    yield web, db
    web.stop()


def test_database_full_stops_the_crawl_cleanly_and_the_next_run_carries_on(filler):
    web, db = filler
    limit = os.path.getsize(db) + 400 * 1024  # room for a few articles of ~16 KB text + HTML + FTS, not for 40
    full = run_cli("crawl", db, *FAST, "-s", f"NARRATIVES_DB_MAX_SIZE={limit}")
    assert full.returncode == 1, full.stderr
    assert "is full" in full.stderr and "Traceback" not in full.stderr
    assert integrity(db) == "ok"
    kept = articles(db)
    assert 1 <= len(kept) < COUNT
    page_count, page_size = query(db, "PRAGMA page_count")[0][0], query(db, "PRAGMA page_size")[0][0]
    assert page_count * page_size <= limit + page_size  # the limit was real

    again = run_cli("crawl", db, *FAST)
    assert again.returncode == 0, again.stderr
    assert integrity(db) == "ok"
    after = articles(db)
    assert len(after) == COUNT
    assert all(after[url] == kept[url] for url in kept)  # nothing stored before was lost or rewritten
    # the second run fetched only what the first could not store
    fetched = {h.path for h in web.hits("filler") if h.path.startswith("/story-")}
    assert len([h for h in web.hits("filler") if h.path.startswith("/story-")]) <= 2 * COUNT - len(kept)
    assert len(fetched) == COUNT


def test_database_full_stops_a_scheduled_run_too(filler):
    web, db = filler
    limit = os.path.getsize(db) + 400 * 1024
    full = run_cli("run", db, "--no-process", *FAST, "-s", f"NARRATIVES_DB_MAX_SIZE={limit}")
    assert full.returncode == 1, full.stderr
    assert "crawl stopped: database" in full.stderr and "is full" in full.stderr and "Traceback" not in full.stderr
    assert integrity(db) == "ok"
    kept = articles(db)
    assert 1 <= len(kept) < COUNT
    # the run is recorded, with the reason, past the limit (the limit binds the crawl's writes)
    assert query(db, "SELECT status, reason, articles_new FROM crawl_runs") == [("failed", "database_full", len(kept))]

    again = run_cli("run", db, "--no-process", *FAST)
    assert again.returncode == 0, again.stderr
    after = articles(db)
    assert len(after) == COUNT and all(after[url] == kept[url] for url in kept)
    assert query(db, "SELECT status FROM crawl_runs ORDER BY id") == [("failed",), ("finished",)]


def test_killed_crawl_leaves_an_intact_database_and_the_next_run_carries_on(tmp_path):
    web = build_filler_web(COUNT, delay=0.25)
    try:
        db = tmp_path / "n.db"
        (tmp_path / "outlets.toml").write_text(filler_toml(web))
        assert run_cli("outlets", "import", db, tmp_path / "outlets.toml").returncode == 0
        proc = subprocess.Popen([sys.executable, "-m", "narratives.cli", "crawl", str(db), *FAST], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if query(db, "SELECT count(*) FROM articles")[0][0] >= 3:
                        break
                except sqlite3.OperationalError:
                    pass
                time.sleep(0.05)
            assert proc.poll() is None, "the crawl ended before it could be killed"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the crawler and its extraction workers, mid-crawl
            proc.wait(timeout=10)
        assert integrity(db) == "ok"
        kept = articles(db)
        assert 3 <= len(kept) < COUNT

        again = run_cli("crawl", db, *FAST)
        assert again.returncode == 0, again.stderr
        assert integrity(db) == "ok"
        after = articles(db)
        assert len(after) == COUNT and all(after[url] == kept[url] for url in kept)
    finally:
        web.stop()


KILL_MID_TRANSACTION = textwrap.dedent("""
    import os, signal, sys
    from db import open_db
    from db.store import record_page, store_article
    db = open_db(sys.argv[1])
    db.conn.execute("BEGIN IMMEDIATE")
    for i in range(2000):
        pid = record_page(db, {"url": f"http://127.0.0.81/half-{i}.html", "outlet": "filler", "kind": "article",
                               "status": 200, "body": os.urandom(2048)})
        store_article(db, {"url": f"http://127.0.0.81/half-{i}.html", "outlet": "filler", "page_id": pid,
                           "text": "never committed " * 50})
    print("written", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_process_killed_inside_a_write_transaction_loses_only_that_transaction(filler):
    web, db = filler
    first = run_cli("crawl", db, *FAST)
    assert first.returncode == 0, first.stderr
    before = articles(db)
    assert len(before) == COUNT
    killed = subprocess.run([sys.executable, "-c", KILL_MID_TRANSACTION, str(db)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL and "written" in killed.stdout
    assert integrity(db) == "ok"
    assert articles(db) == before
    assert query(db, "SELECT count(*) FROM pages WHERE url LIKE '%/half-%'")[0][0] == 0
    # the next crawl opens it, writes and finishes
    again = run_cli("crawl", db, *FAST, "--refresh")
    assert again.returncode == 0, again.stderr
    assert integrity(db) == "ok"
    assert articles(db).keys() == before.keys()
