"""Spread: text reuse, edges, origins with ties, lags, bursts, timelines (CLI and functions)."""
import json
import shutil
import sqlite3
from urllib.parse import urlsplit

import pytest

from clustering.reuse import containment, shingles
from clustering.spread_stage import update_spread
from db import open_db
import db.spread as spread_queries
from db.spread import adopters, bursts, counted, spread, timeline
from tests.conftest import N1_DESCRIPTION, adoption_in, run_cli

ALL = None  # the languages the default model reads: every one of the demo's



@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, demo_processed):
    db = tmp_path_factory.mktemp("spread") / "demo.db"
    shutil.copy(demo_processed[0], db)
    gt = demo_processed[1]
    r = run_cli("watch", "add", db, "West arms jihadists", "--description", N1_DESCRIPTION)
    assert r.returncode == 0, r.stderr
    return db, gt


def gt_ids(db, gt):
    by_path = {(a["outlet"], a["path"].rstrip("/")): a["id"] for a in gt["articles"]}
    conn = sqlite3.connect(db)
    out = {aid: by_path[(outlet, urlsplit(url).path.rstrip("/"))]
           for aid, outlet, url in conn.execute("SELECT id, outlet, url FROM articles")}
    conn.close()
    return out


def test_every_planted_copy_found_and_no_reuse_between_outlets_that_never_shared_text(demo_db):
    db, gt = demo_db
    ids = gt_ids(db, gt)
    conn = sqlite3.connect(db)
    found = {(ids[src], ids[copy]): kind for copy, src, kind in
             conn.execute("SELECT article_id, source_article_id, kind FROM text_reuse")}
    planted = {(a["copied_from"], a["id"]) for a in gt["articles"] if a["copied_from"]}
    assert set(found) == planted
    assert set(found.values()) == {"verbatim"}


def test_copy_edges_of_the_ground_truth_appear_in_spread_edges(demo_db):
    db, gt = demo_db
    conn = sqlite3.connect(db)
    edges = {(f, t) for f, t in conn.execute("SELECT from_outlet, to_outlet FROM spread_edges WHERE edge_kind = 'copy'")}
    planted = {(e["from_outlet"], e["to_outlet"]) for e in gt["edges"] if e["kind"] == "copy"}
    # every planted copy edge between two outlets is carried by at least one subject (event or narrative)
    assert planted <= edges


def test_watched_narrative_spread_origin_and_adoption_order(demo_db):
    db, gt = demo_db
    handle = open_db(db)
    result = spread(handle, "watch", 1)
    n1 = next(n for n in gt["narratives"] if n["label"] == "West arms jihadists")
    planted = [a["outlet"] for a in adoption_in(gt, n1, ALL)]  # the Russian origin first: the default reads it
    assert result["origin"] == planted[:1]
    order = [a["outlet"] for a in result["adopters"] if a["outlet"] in set(n1["outlets"])]
    assert order == planted
    first = result["adopters"][0]
    assert first["lag_hours"] == 0 and first["time_source"].startswith("published")


def test_cli_spread_timeline_influence(demo_db):
    db, _ = demo_db
    r = run_cli("spread", db, "1", "--kind", "watch", "--json")
    data = json.loads(r.stdout)
    assert data["subject"]["name"] == "West arms jihadists" and data["adopters"] and data["bursts"]
    assert {e["edge_kind"] for e in data["edges"]} >= {"follow", "citation"}
    r = run_cli("timeline", db, "1", "--kind", "watch", "--by", "week", "--csv")
    lines = r.stdout.splitlines()
    assert lines[0] == "bucket,outlet,articles" and len(lines) > 1
    weeks = {line.split(",")[0] for line in lines[1:]}
    from datetime import date
    assert all(date.fromisoformat(w).weekday() == 0 for w in weeks)  # ISO weeks start on Monday
    r = run_cli("influence", db, "--json")
    rows = json.loads(r.stdout)
    assert {row["outlet"] for row in rows} == {o["name"] for o in json.loads(run_cli("outlets", "list", db, "--json").stdout)}
    assert run_cli("spread", db, "999").returncode == 2


@pytest.fixture
def tiny(tmp_path):
    """Hand-made memberships: two outlets tie for first, one relays a day later, a later comeback."""
    db = open_db(tmp_path / "t.db")
    for name in ("a", "b", "c"):
        db["outlets"].insert({"name": name, "home": f"https://{name}.example/", "feeds": "[]", "sitemaps": "[]",
                              "sections": "[]"})
    arts = [("a", "2026-03-01T10:00:00Z", "feed"), ("b", "2026-03-01T10:00:00Z", "jsonld"),
            ("c", None, None), ("a", "2026-04-20T09:00:00Z", "feed")]
    for i, (outlet, published, source) in enumerate(arts, 1):
        db["articles"].insert({"id": i, "url": f"https://{outlet}.example/{i}", "outlet": outlet, "text": "x",
                               "published_at": published, "date_source": source, "fetched_at": "2026-03-02T10:00:00Z"})
    db["runs"].insert({"id": 1, "stage": "test"})
    db["narratives"].insert({"id": 7, "label": "test", "status": "active"})
    db["narrative_memberships"].insert_all({"narrative_id": 7, "article_id": i, "run_id": 1, "score": 1.0}
                                           for i in range(1, 5))
    db.conn.commit()
    return db


def test_ties_for_first_seen_are_ties_and_fetch_time_is_the_fallback(tiny):
    rows = adopters(tiny, "narrative", 7)
    assert [(r["outlet"], r["adoption_rank"], r["is_origin"]) for r in rows] == [
        ("a", 1, True), ("b", 1, True), ("c", 2, False)]
    c = rows[2]
    assert c["time_source"] == "first fetch" and c["lag_hours"] == 24.0
    assert rows[1]["time_source"] == "published (jsonld)"
    assert spread(tiny, "narrative", 7)["origin"] == ["a", "b"]


def test_bursts_and_edges_from_tiny(tiny):
    update_spread(tiny)
    assert [(b["start_day"], b["end_day"], b["articles"]) for b in bursts(tiny, "narrative", 7)] == [
        ("2026-03-01", "2026-03-02", 3), ("2026-04-20", "2026-04-20", 1)]
    follows = {(e["from_outlet"], e["to_outlet"]) for e in spread(tiny, "narrative", 7)["edges"] if e["edge_kind"] == "follow"}
    assert follows == {("a", "c"), ("b", "c")}
    days = timeline(tiny, "narrative", 7)
    assert [(d["bucket"], d["outlet"], d["articles"]) for d in days] == [
        ("2026-03-01", "a", 1), ("2026-03-01", "b", 1), ("2026-03-02", "c", 1), ("2026-04-20", "a", 1)]


def test_containment_tells_copies_from_paraphrase():
    original = ("The intelligence service said on Tuesday that foreign instructors were training sixty militants "
                "at a desert camp to attack diplomats and officials in the region next month.")
    copy = original + " Source: Eurasia Daily Wire."
    paraphrase = ("Sixty fighters are being prepared by foreign trainers in a desert base, the spy agency claimed, "
                  "with diplomats and officials in the region as their targets.")
    assert containment(shingles(copy), shingles(original)) > 0.8
    assert containment(shingles(paraphrase), shingles(original)) < 0.2


def test_removing_a_watched_narrative_removes_its_spread(demo_db, tmp_path):
    from clustering.spread_stage import STATE_TABLES

    db = tmp_path / "removed.db"
    shutil.copy(demo_db[0], db)
    conn = sqlite3.connect(db)
    count = lambda table: conn.execute(f"SELECT count(*) FROM {table} WHERE kind = 'watch' AND subject_id = 1").fetchone()[0]  # noqa: E731
    assert all(count(t) for t in ("spread_edges", "spread_members", "subject_outlets", "subject_days"))
    r = run_cli("watch", "remove", db, "West arms jihadists")
    assert r.returncode == 0, r.stderr
    assert [count(t) for t in STATE_TABLES] == [0] * len(STATE_TABLES)
    assert conn.execute("SELECT count(*) FROM watch_matches WHERE watch_id = 1").fetchone()[0] == 0
    assert json.loads(run_cli("watch", "list", db, "--json").stdout) == []


@pytest.mark.parametrize("planted", [
    "N1", "N2",
    pytest.param("N3", marks=pytest.mark.xfail(reason="issue #4 demo check not met: a neutral report of E07 "
                                                      "(baltic-morning-post, before the first carrier) is a member")),
    "N4",  # the stance judge keeps the neutral report of E10 (northern-herald) out since issue #30
])
def test_discovered_narrative_origin_and_adoption_order(demo_db, planted):
    """For each planted narrative, the discovered narrative that best matches it has the planted
    origin, and the planted outlets adopt it in the planted order."""
    db, gt = demo_db
    ids = gt_ids(db, gt)
    n = next(x for x in gt["narratives"] if x["id"] == planted)
    conn = sqlite3.connect(db)
    members = {}
    for nid, aid in conn.execute("SELECT m.narrative_id, m.article_id FROM narrative_memberships m JOIN narratives n "
                                 "ON n.id = m.narrative_id WHERE n.status = 'active'"):
        members.setdefault(nid, set()).add(ids[aid])
    conn.close()
    gold = set(n["articles"])
    best = max(members, key=lambda k: 2 * len(members[k] & gold) / (len(members[k]) + len(gold)))
    result = spread(open_db(db), "narrative", best)
    planted = [a["outlet"] for a in adoption_in(gt, n, ALL)]
    assert result["origin"] == planted[:1]
    order = [a["outlet"] for a in result["adopters"] if a["outlet"] in set(n["outlets"])]
    assert order == planted


def test_timeline_and_adopters_read_from_the_spread_counts_agree_with_the_members(demo_db, tmp_path, monkeypatch):
    """The queries read the spread stage's per-subject counts when they hold every member; the
    answer is the one a scan of the members' articles gives, and a subject whose counts are
    missing or short falls back to that scan."""
    db_path = tmp_path / "counts.db"
    shutil.copy(demo_db[0], db_path)
    db = open_db(db_path)
    subjects = ([("narrative", r[0]) for r in db.execute("SELECT id FROM narratives WHERE status = 'active'")]
                + [("watch", r[0]) for r in db.execute("SELECT id FROM watched_narratives")]
                + [("event", r[0]) for r in db.execute("SELECT id FROM events")])

    def answers(kind, sid):
        return timeline(db, kind, sid), timeline(db, kind, sid, by="week"), adopters(db, kind, sid)

    from_counts = {s: answers(*s) for s in subjects}
    assert all(counted(db, *s) for s in subjects if s[0] != "event")
    with monkeypatch.context() as m:
        m.setattr(spread_queries, "counted", lambda *a: False)
        assert {s: answers(*s) for s in subjects} == from_counts
    # a narrative whose spread stage did not count its latest member: the scan answers
    kind, sid = subjects[0]
    last = db.execute("SELECT max(article_id) FROM narrative_memberships WHERE narrative_id = ?", [sid]).fetchone()[0]
    outlet = db.execute("SELECT outlet FROM articles WHERE id = ?", [last]).fetchone()[0]
    db.execute("UPDATE subject_outlets SET articles = articles - 1 WHERE kind = ? AND subject_id = ? AND outlet = ?",
               [kind, sid, outlet])
    db.conn.commit()
    assert not counted(db, kind, sid)
    assert answers(kind, sid) == from_counts[(kind, sid)]


def test_a_member_whose_time_changes_is_recounted_by_the_next_process(demo_db, tmp_path, monkeypatch):
    """A re-fetch or re-extraction that finds another publication date for a counted member marks
    its subjects; until `process` recounts them the queries read the members themselves, after it
    the spread counts (origin included) agree with the members again."""
    db_path = tmp_path / "redated.db"
    shutil.copy(demo_db[0], db_path)
    db = open_db(db_path)
    nid = db.execute("SELECT id FROM narratives WHERE status = 'active' ORDER BY id").fetchone()[0]
    before = spread(db, "narrative", nid)
    first = before["adopters"][0]
    # the origin's first article turns out to be published a month after the last adopter
    late = db.execute("SELECT datetime(max(first_seen_at), '+30 days') FROM subject_outlets "
                      "WHERE kind = 'narrative' AND subject_id = ?", [nid]).fetchone()[0].replace(" ", "T") + "Z"
    with db.conn:
        db.execute("UPDATE articles SET published_at = ? WHERE id = ?", [late, first["first_article_id"]])
    assert ("narrative", nid) in set(db.execute("SELECT kind, subject_id FROM spread_stale").fetchall())
    assert not counted(db, "narrative", nid)
    scanned = spread(db, "narrative", nid)
    assert scanned["adopters"] != before["adopters"]
    db.conn.close()
    r = run_cli("process", db_path)
    assert r.returncode == 0, r.stderr
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM spread_stale").fetchone()[0] == 0
    assert counted(db, "narrative", nid)
    after = spread(db, "narrative", nid)
    assert after["adopters"] == scanned["adopters"]
    follows = {(e["from_outlet"], e["to_outlet"]) for e in after["edges"] if e["edge_kind"] == "follow"}
    assert follows == {(o, a["outlet"]) for o in after["origin"] for a in after["adopters"] if not a["is_origin"]}
    counts = timeline(db, "narrative", nid), timeline(db, "narrative", nid, by="week")
    monkeypatch.setattr(spread_queries, "counted", lambda *a: False)
    assert counts == (timeline(db, "narrative", nid), timeline(db, "narrative", nid, by="week"))


def test_outlet_influence_from_the_spread_counts_agrees_with_the_members(demo_db):
    """`narratives influence` reads the spread stage's first appearances; the answer is the one
    computed from every narrative member (the `spread_outlets` view) and correlated counts."""
    from db.migrations import INFLUENCE_FROM_MEMBERS
    from db.spread import influence

    db = open_db(demo_db[0])
    view = INFLUENCE_FROM_MEMBERS.split(" AS\n", 1)[1]  # the query of the view as first defined
    expected = [dict(r) for r in db.query(f"""SELECT * FROM ({view})
        ORDER BY originated DESC, copied_by_others DESC, cited_by_others DESC, outlet""")]
    assert influence(db) == expected
    assert sum(r["originated"] for r in expected) >= 4 and sum(r["copied_by_others"] for r in expected) >= 12


def test_spread_shows_the_strongest_edges_of_each_kind_and_counts_them_all(tiny):
    """A narrative 200 outlets copied from one another has tens of thousands of edges: `spread`
    shows the strongest of each kind and says how many there are; --edges 0 shows all."""
    rows = [("narrative", 7, f"o{i}", f"o{j}", "copy", 1.0, (i * 7 + j) % 13 + 1, "[]")
            for i in range(12) for j in range(12) if i != j]
    tiny.conn.executemany("""INSERT INTO spread_edges (kind, subject_id, from_outlet, to_outlet, edge_kind,
                             lag_hours, weight, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", rows)
    tiny.conn.commit()
    capped = spread(tiny, "narrative", 7, edges_per_kind=5)
    copies = [e for e in capped["edges"] if e["edge_kind"] == "copy"]
    assert capped["edge_counts"]["copy"] == len(rows) and len(copies) == 5
    strongest = sorted(rows, key=lambda r: (-r[6], r[2], r[3]))[:5]
    assert [(e["from_outlet"], e["to_outlet"], e["weight"]) for e in copies] == [(r[2], r[3], r[6]) for r in strongest]
    assert len(spread(tiny, "narrative", 7, edges_per_kind=None)["edges"]) == sum(capped["edge_counts"].values())


def test_cli_spread_edges_option(demo_db):
    db, _ = demo_db
    full = json.loads(run_cli("spread", db, "1", "--json", "--edges", "0").stdout)
    one = json.loads(run_cli("spread", db, "1", "--json", "--edges", "1").stdout)
    assert one["edge_counts"] == full["edge_counts"] and len(full["edges"]) == sum(full["edge_counts"].values())
    assert len(one["edges"]) == len(full["edge_counts"])
    table = run_cli("spread", db, "1", "--edges", "1")
    assert table.returncode == 0 and f"of {len(full['edges'])} edges shown" in table.stdout
    assert run_cli("spread", db, "1", "--edges", "-1").returncode == 2


def test_a_database_not_migrated_since_answers_from_the_members(demo_db, tmp_path):
    """Plain `datasette DB` opens a database read-only, without migrating it: one from before the
    spread counts (or their staleness table) still gets its timeline and adopters, from the members."""
    db_path = tmp_path / "old.db"
    shutil.copy(demo_db[0], db_path)
    db = open_db(db_path)
    nid = db.execute("SELECT id FROM narratives WHERE status = 'active' ORDER BY id").fetchone()[0]
    expected = timeline(db, "narrative", nid), adopters(db, "narrative", nid)
    assert counted(db, "narrative", nid)
    db.execute("DROP TRIGGER IF EXISTS articles_time_changed")
    db.execute("DROP TABLE spread_stale")
    db.conn.commit()
    db.conn.close()
    old = open_db(db_path, readonly=True)
    assert not counted(old, "narrative", nid)
    assert (timeline(old, "narrative", nid), adopters(old, "narrative", nid)) == expected
