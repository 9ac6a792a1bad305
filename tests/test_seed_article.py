"""The article this project was specified from (../shared/data/seed: a real opinion piece
relaying a foreign intelligence service's claim that the US trains IS/Al-Qaeda fighters at
Al-Tanf to attack Russia and its allies; never used to choose anything) arrives in the processed
demo database as a user would import it. The watched "West arms jihadists" narrative must match
it, and it must join the discovered narrative that stands for the planted N1: the real thing the
tool exists for, from outside the demo web it was built around."""
import json
import shutil
import sqlite3
from urllib.parse import urlsplit

import pytest

from bench.shared_data import shared_data_dir
from tests.conftest import N1_DESCRIPTION, REFERENCE, run_cli

SEED = "000_457026a0e46297ac.txt"
URL = "https://seed.example/wests-quest-for-power"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, demo_processed):
    data = shared_data_dir()
    seed = data / "seed" / SEED if data else None
    if seed is None or not seed.is_file():
        pytest.skip(f"../shared/data/seed/{SEED} absent (set NARRATIVES_SHARED_DATA to run it)")
    tmp = tmp_path_factory.mktemp("seed")
    db = tmp / "demo.db"
    shutil.copy(demo_processed[0], db)
    assert run_cli("watch", "add", db, "West arms jihadists", "--description", N1_DESCRIPTION).returncode == 0
    title, _, text = seed.read_text("utf-8").partition("\n")
    (tmp / "seed.jsonl").write_text(json.dumps({"url": URL, "outlet": "seed-outlet", "title": title.strip(),
                                                "text": text.strip(), "published_at": "2026-06-01T10:00:00Z"}) + "\n")
    r = run_cli("import", db, tmp / "seed.jsonl")
    assert r.returncode == 0, r.stderr
    r = run_cli("process", db, timeout=600, env=REFERENCE)  # a demo check: the reference format
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(db)
    (aid,) = conn.execute("SELECT id FROM articles WHERE url = ?", [URL]).fetchone()
    conn.close()
    return db, demo_processed[1], aid


def test_the_watched_narrative_matches_the_seed_article(seeded):
    db, _, aid = seeded
    r = run_cli("watch", "show", db, "West arms jihadists", "--json", "--limit", "1000")
    assert r.returncode == 0, r.stderr
    assert aid in {m["article_id"] for m in json.loads(r.stdout)}


def test_the_seed_article_joins_the_discovered_west_arms_jihadists_narrative(seeded):
    db, gt, aid = seeded
    n1 = {(a["outlet"], a["path"].rstrip("/")) for a in gt["articles"] if "N1" in a["narratives"]}
    conn = sqlite3.connect(db)
    planted = {i for i, outlet, url in conn.execute("SELECT id, outlet, url FROM articles")
               if (outlet, urlsplit(url).path.rstrip("/")) in n1}
    assert len(planted) == len(n1)
    members = {}
    for nid, article in conn.execute("SELECT m.narrative_id, m.article_id FROM narrative_memberships m "
                                     "JOIN narratives n ON n.id = m.narrative_id WHERE n.status = 'active'"):
        members.setdefault(nid, set()).add(article)
    conn.close()
    best = max(members, key=lambda k: 2 * len(members[k] & planted) / (len(members[k]) + len(planted)))
    assert len(members[best] & planted) >= len(planted) // 2  # it is the N1 narrative
    assert aid in members[best]
