"""A crawl killed at any point (SIGKILL or SIGTERM) and started again ends with the same articles as
an uninterrupted crawl: nothing lost, nothing stored twice, the database intact."""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import ALLOW_LOOPBACK, REPO, run_cli, import_outlets
from tests.fixture_sites import GrowingWeb

SEED = 20260305
SETTINGS = ["-s", "AUTOTHROTTLE_START_DELAY=0.02", "-s", "NARRATIVES_EXTRACT_WORKERS=1", "-s",
            "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "NARRATIVES_PROGRESS_INTERVAL=0", *ALLOW_LOOPBACK]


def query(db, sql):
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def fetches(db) -> int:
    try:
        return query(db, "SELECT coalesce(sum(fetch_count), 0) FROM pages")[0][0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def article_set(db):
    return set(query(db, "SELECT url, title, content_hash FROM articles"))


def interrupted_crawl(db, how: str, after_fetches: int | None = None, after_seconds: float | None = None):
    """Start a crawl and send *how* (KILL or TERM) once it stored *after_fetches* more fetches
    (or after *after_seconds*); returns the exit code."""
    base = fetches(db)
    proc = subprocess.Popen([sys.executable, "-m", "narratives.cli", "crawl", str(db), *SETTINGS], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    start = time.time()
    conn = sqlite3.connect(db, timeout=30)  # one reader for the polling: WAL lets it read while the crawl writes
    try:
        while proc.poll() is None:
            if after_fetches is not None:
                try:
                    done = conn.execute("SELECT coalesce(sum(fetch_count), 0) FROM pages").fetchone()[0] - base
                except sqlite3.OperationalError:
                    done = 0
                if done >= after_fetches:
                    break
            if after_seconds is not None and time.time() - start >= after_seconds:
                break
            time.sleep(0.01)
    finally:
        conn.close()
    assert proc.poll() is None, "the crawl ended before the kill point: make the fixture slower"
    os.kill(proc.pid, getattr(signal, f"SIG{how}"))
    code = proc.wait(timeout=60)
    if how == "KILL":  # the extraction worker processes go with their parent's session
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return code


@pytest.fixture(scope="module")
def web():
    w = GrowingWeb({"north": "127.0.0.44", "south": "127.0.0.45"}, delay=0.15, feed_size=30)
    w.publish("north", 12)
    w.publish("south", 10)
    yield w
    w.stop()


def new_db(tmp_path, web, name):
    db = tmp_path / name
    import_outlets(db, web.outlets_toml(), tmp_path)
    return db


def test_killed_crawls_resume_to_the_uninterrupted_result(tmp_path, web):
    reference = new_db(tmp_path, web, "reference.db")
    r = run_cli("crawl", reference, *SETTINGS)
    assert r.returncode == 0, r.stderr
    expected = article_set(reference)
    assert len(expected) == 22 and {u for u, _, _ in expected} == web.article_urls()

    rng = random.Random(SEED)
    # seeded kill points: at start-up, just after the feeds and sitemaps were stored (their
    # articles not yet), and in the middle of the article fetches
    points = [("KILL", None, rng.uniform(0.2, 1.0)), ("KILL", rng.randint(1, 4), None),
              ("KILL", rng.randint(8, 12), None), ("TERM", rng.randint(3, 8), None)]
    db = new_db(tmp_path, web, "killed.db")
    codes, stored = [], []
    for how, n, t in points:
        codes.append(interrupted_crawl(db, how, after_fetches=n, after_seconds=t))
        stored.append(len(article_set(db)))
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert codes[:3] == [-signal.SIGKILL] * 3
    assert codes[3] == 1  # SIGTERM: Scrapy stops gracefully, the crawl reports it ended early
    print("articles stored after each interruption:", stored)
    # the kills interrupted real work: after the feeds were stored no article was, and mid-crawl some were
    assert stored == sorted(stored) and stored[1] == 0 and stored[2] < len(expected), stored

    final = run_cli("crawl", db, *SETTINGS)
    assert final.returncode == 0, final.stderr
    assert article_set(db) == expected
    assert query(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(22, 22)]
    assert query(db, "SELECT count(*), count(DISTINCT url) FROM pages")[0][0] == query(
        db, "SELECT count(DISTINCT url) FROM pages")[0][0]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    statuses = [s for (s,) in query(db, "SELECT status FROM crawl_runs ORDER BY id")]
    # the start-up kill may land before the run was even recorded
    assert statuses[-2:] == ["interrupted", "finished"] and set(statuses[:-2]) == {"killed"}, statuses
    assert len(statuses) in (4, 5), statuses
    # nothing was fetched that was already stored: every article page fetched at most twice
    # (once when killed before its article was committed, once more)
    assert query(db, "SELECT max(fetch_count) FROM pages WHERE kind = 'article'")[0][0] <= 2
