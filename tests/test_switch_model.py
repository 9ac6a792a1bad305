"""`narratives switch-model` on the processed demo web: a database made with the English-only default
of before (all-MiniLM-L6-v2) keeps working, and is moved to today's default (two spaces: USE for
every article, MiniLM for English events): events and narratives rebuilt, narrative ids kept
through lineage, watched narratives re-calibrated, the English titles and leads kept; later
commands use the new model; a different model is refused; an interrupted switch is finished by
running it again."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from tests.conftest import REFERENCE, db_query, run_cli

USE = "use-multilingual-v3-int8"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT = "use-multilingual-v3+all-MiniLM-L6-v2"
SPACE_ID = f"{USE}+{MINILM}"
N1_DESCRIPTION = ("The US, NATO and the West recruit, train and arm jihadist militants (IS, Al-Qaeda offshoots) "
                  "to attack Russia and its allies in Central Asia.")


def _narrative_of(db, url_end: str) -> int:
    return db_query(db, """SELECT m.narrative_id FROM narrative_memberships m JOIN articles a ON a.id = m.article_id
                           JOIN narratives n ON n.id = m.narrative_id
                           WHERE a.url LIKE ? AND n.status = 'active'""", f"%{url_end}")[0][0]


@pytest.fixture(scope="module")
def before(demo_crawled, tmp_path_factory):
    """The demo processed with the English-only default of before, with a watched narrative (custom
    threshold); later commands keep using that model without being told."""
    db = tmp_path_factory.mktemp("switch") / "demo.db"
    shutil.copy(demo_crawled[0], db)
    gt = demo_crawled[1]
    r = run_cli("process", db, "--model", "all-MiniLM-L6-v2", env=REFERENCE, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "skipped: 7 language 'ru' not covered by the model" in r.stdout, r.stdout
    r = run_cli("watch", "add", db, "West arms jihadists", "--description", N1_DESCRIPTION, env=REFERENCE)
    assert r.returncode == 0, r.stderr
    r = run_cli("process", db)  # the old database keeps its model: nothing to do, nothing refused
    assert r.returncode == 0 and "nothing new to process" in r.stdout, r.stdout + r.stderr
    assert run_cli("watch", "threshold", db, "West arms jihadists", "0.9").returncode == 0
    return db, gt


def test_switch_rebuilds_everything_on_the_new_model(before, tmp_path):
    db = tmp_path / "demo.db"
    shutil.copy(before[0], db)
    gt = before[1]
    origin = next(a["path"] for a in gt["articles"] if a["id"] == "edw-e01")  # the first English carrier of N1
    n1_before = _narrative_of(db, origin)
    r = run_cli("spread", db, n1_before, "--json")
    assert json.loads(r.stdout)["origin"] == ["eurasia-daily-wire"]  # the English model skips the Russian origin
    old_model = db_query(db, "SELECT DISTINCT model_id FROM embeddings")[0][0]
    assert old_model == MINILM
    leads_before = db_query(db, "SELECT article_id, created_at FROM embeddings ORDER BY 1")

    r = run_cli("switch-model", db, DEFAULT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"switched to {SPACE_ID} (from {old_model})" in r.stdout, r.stdout
    assert "custom threshold 0.9 cleared" in r.stderr, r.stderr
    # the shared space for every article; the English space keeps the old model's titles and leads
    assert dict(db_query(db, "SELECT model_id, count(*) FROM embeddings GROUP BY 1")) == {USE: 109, MINILM: 102}
    assert db_query(db, "SELECT article_id, created_at FROM embeddings WHERE model_id = ? ORDER BY 1",
                    MINILM) == leads_before
    assert db_query(db, "SELECT count(*) FROM passages WHERE model_id = ? AND idx > 0", MINILM) == [(0,)]
    assert db_query(db, "SELECT count(*) FROM embed_skips") == [(0,)]
    assert db_query(db, "SELECT DISTINCT model_id FROM events") == [(SPACE_ID,)]
    assert db_query(db, "SELECT DISTINCT model_id FROM narratives WHERE status = 'active'") == [(USE,)]
    n_articles = db_query(db, "SELECT count(*) FROM articles")[0][0]
    assert db_query(db, "SELECT count(*) FROM event_memberships WHERE model_id = ?", SPACE_ID) == [(n_articles,)]
    # the narrative carrying the planted N1 keeps its id; the new model reads the Russian origin
    assert _narrative_of(db, origin) == n1_before
    r = run_cli("spread", db, n1_before, "--json")
    assert r.returncode == 0, r.stderr
    n1 = next(n for n in gt["narratives"] if n["id"] == "N1")
    assert json.loads(r.stdout)["origin"] == [n1["origin_outlet"]] == ["moskovsky-telegraf"]
    # the watched narrative: the new model's profile, calibrated threshold, every article scored again
    (model_id, custom, profile), = db_query(db, "SELECT model_id, threshold, profile FROM watched_narratives")
    assert model_id == USE and custom is None and profile is not None
    assert db_query(db, "SELECT count(*) FROM watch_matches") == [(n_articles,)]
    r = run_cli("watch", "show", db, "West arms jihadists", "--json")
    assert r.returncode == 0, r.stderr
    assert origin in r.stdout  # the N1 origin matches under the new model

    # later commands use the database's model without being told
    r = run_cli("process", db)
    assert r.returncode == 0 and "nothing new to process" in r.stdout, r.stdout + r.stderr
    r = run_cli("search", db, "the West trains militants to attack Russia", "--json")
    assert r.returncode == 0, r.stderr
    # another model would mix vectors: refused, naming the command that switches; so is one space of the two
    for other in ("all-MiniLM-L6-v2", "use-multilingual-v3"):
        r = run_cli("process", db, "--model", other)
        assert r.returncode == 2 and "switch-model" in r.stderr, r.stderr
    # a second switch to the same model changes nothing
    r = run_cli("switch-model", db, DEFAULT)
    assert r.returncode == 0 and "already uses" in r.stdout, r.stdout

    # the events record the space they were built in: two tiers, the shared lead centred
    from clustering.events import params_for

    (space,), = db_query(db, "SELECT value FROM settings WHERE key = 'event_space'")
    assert json.loads(space) == {"model_id": SPACE_ID, **params_for(SPACE_ID).space}
    assert params_for(SPACE_ID).fallback
    # a database whose events were built in an older space is rebuilt by the next process: every
    # article in an event again, narratives recounted, spread rebuilt
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("""UPDATE settings SET value = json_object('model_id', ?, 'channels', 2, 'center', '',
                        'title_model', '') WHERE key = 'event_space'""", [SPACE_ID])
    conn.close()
    r = run_cli("process", db, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "rebuilt in a new event space" in r.stdout, r.stdout
    assert json.loads(db_query(db, "SELECT value FROM settings WHERE key = 'event_space'")[0][0])["fallback"]
    assert db_query(db, "SELECT count(*) FROM event_memberships") == [(n_articles,)]
    assert db_query(db, "SELECT count(*) FROM narrative_events WHERE event_id NOT IN (SELECT id FROM events)") == [(0,)]
    r = run_cli("spread", db, n1_before, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["origin"] == ["moskovsky-telegraf"], r.stdout + r.stderr
    r = run_cli("process", db)
    assert r.returncode == 0 and "nothing new to process" in r.stdout, r.stdout + r.stderr


def test_interrupted_switch_is_finished_by_running_it_again(before, tmp_path, monkeypatch):
    from clustering import switch_model as sm
    from clustering.embedding import load_embedder
    from db import open_db

    db = tmp_path / "demo.db"
    shutil.copy(before[0], db)
    handle = open_db(str(db))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sm, "process", killed)  # killed after embedding, before the rebuild
    with pytest.raises(KeyboardInterrupt):
        sm.switch_model(handle, load_embedder(DEFAULT), DEFAULT)
    handle.close()
    # half way: both models' vectors; the database already says which model it is moving to
    assert len(db_query(db, "SELECT DISTINCT model_id FROM embeddings")) == 2
    r = run_cli("process", db, "--model", "all-MiniLM-L6-v2")
    assert r.returncode == 2, r.stderr
    r = run_cli("switch-model", db, DEFAULT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert dict(db_query(db, "SELECT model_id, count(*) FROM embeddings GROUP BY 1")) == {USE: 109, MINILM: 102}
    assert db_query(db, "SELECT DISTINCT model_id FROM narratives WHERE status = 'active'") == [(USE,)]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM events WHERE model_id != ?", [SPACE_ID]).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pending").fetchone()[0] == 0


def test_switch_to_a_missing_model_is_a_usage_error_and_changes_nothing(before, tmp_path):
    db = tmp_path / "demo.db"
    shutil.copy(before[0], db)
    before_rows = db_query(db, "SELECT count(*), min(model_id) FROM embeddings")
    r = run_cli("switch-model", db, str(tmp_path / "no-such-model"))
    assert r.returncode == 2, r.stderr
    assert db_query(db, "SELECT count(*), min(model_id) FROM embeddings") == before_rows
