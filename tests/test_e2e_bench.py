"""The end-to-end throughput harness (bench/e2e.py) on a small web, and `narratives crawl --process`.

Benchmarks are not timed tests: this only checks that every page goes through every stage and
that the report holds each stage's CPU. Needs ../shared/data (real templates and texts)."""
import sqlite3
import subprocess
import sys

import pytest

from bench import e2e
from bench.shared_data import REPO_ROOT, shared_data_dir
from tests.conftest import ALLOW_LOOPBACK

pytestmark = pytest.mark.slow


def _data():
    if shared_data_dir() is None:
        pytest.skip("../shared/data absent (set NARRATIVES_SHARED_DATA to run the e2e harness)")


def test_e2e_harness_small_web(tmp_path):
    _data()
    result = e2e.run(tmp_path, pages=16, outlets=3)
    assert result["counts"]["articles"] >= 14  # a real template may lose a short text
    assert result["completed"] == result["embedded"] == result["counts"]["articles"] - sum(result["skipped"].values())
    assert result["counts"]["pending"] == []
    assert result["cpu_ms_per_article"]["extract (worker processes)"] > 0
    assert result["cpu_ms_per_article"]["process: embed"] > 0
    assert result["server_requests"] > 24
    assert ("forbidden by robots.txt", 3) in [tuple(e) for e in result["counts"]["page_errors"]]
    assert result["text_f1_vs_source"] > 0.8
    # the watched narratives defined before the crawl scored every article; the judge's cost is reported
    assert result["watches"] == len(e2e.WATCHES)
    assert set(result["stance"]) >= {"pairs_judged", "cpu_ms_per_judged_pair", "share_of_articles_judged"}
    assert 0.0 <= result["stance"]["share_of_articles_judged"] <= 1.0


def test_crawl_with_process_embeds_alongside(tmp_path):
    _data()
    web, info = e2e.start_web(tmp_path, pages=12, outlets=2)
    db = tmp_path / "n.db"
    try:
        (tmp_path / "o.toml").write_text(e2e.outlets_toml(info))
        cli = [sys.executable, "-m", "narratives.cli"]
        subprocess.run([*cli, "outlets", "import", str(db), str(tmp_path / "o.toml")], check=True, cwd=REPO_ROOT)
        proc = subprocess.run([*cli, "crawl", str(db), "--process", "-s", "AUTOTHROTTLE_ENABLED=False", *ALLOW_LOOPBACK],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    finally:
        e2e.stop_web(web, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(DISTINCT article_id) FROM embeddings").fetchone()[0] == 12
    assert conn.execute("SELECT count(*) FROM event_memberships").fetchone()[0] == 12
    assert conn.execute("SELECT count(*) FROM pending").fetchone()[0] == 0
    assert "articles into events" in proc.stdout
