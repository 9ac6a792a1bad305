"""The stance stage (clustering/stance_stage.py) over a real SQLite database, with a fake judge
whose verdict is written in the article text, so what is judged, reused and kept can be checked
exactly. The real judge is tested in tests/test_stance_gate.py."""
from __future__ import annotations

import json

import pytest

from clustering.stance.base import Judgement
from clustering.stance_stage import StanceResult, claim_hash, judge_candidates, members_of, pick
from db import open_db
from db.store import ensure_outlet, insert_articles


class FakeJudge:
    """Reads the verdict from the text: "[carries]", "[reports]", ...; counts its calls."""

    license = "test"

    def __init__(self, model_id="fake@1", languages=None):
        self.model_id = model_id
        self.languages = languages
        self.calls = []

    def judge_batch(self, items):
        out = []
        for claim, text, title in items:
            self.calls.append((claim, text))
            stance = next(s for s in ("carries", "reports", "debunks", "unrelated") if f"[{s}]" in text)
            if claim.startswith("other") and stance != "unrelated":  # a claim it does not address
                stance = "unrelated"
            scores = {s: (0.7 if s == stance else 0.1) for s in ("carries", "reports", "debunks", "unrelated")}
            out.append(Judgement(stance, scores, [text.split(".")[0]]))
        return out


@pytest.fixture
def db(tmp_path):
    handle = open_db(tmp_path / "s.db")
    ensure_outlet(handle, "o", "http://127.0.0.1/")
    texts = ["[carries] one", "[reports] two", "[debunks] three", "[unrelated] four", "[carries] five"]
    with handle.conn:
        ids = insert_articles(handle, [{"url": f"http://127.0.0.1/{i}", "outlet": "o", "text": t, "language": lang,
                                        "content_hash": f"h{i}"}
                                       for i, (t, lang) in enumerate(zip(texts, ["en", "en", "en", "en", "ru"]))])
    handle.ids = ids
    return handle


def test_verdicts_are_stored_reused_and_judged_again_when_something_changes(db):
    judge, result = FakeJudge(), StanceResult()
    got = judge_candidates(db, judge, "narrative", 1, ["the claim"], db.ids[:4], run_id=None, result=result)
    assert [got[a] for a in db.ids[:4]] == ["carries", "reports", "debunks", "unrelated"]
    assert result.judged == 4 and len(judge.calls) == 4
    rows = list(db.query("SELECT * FROM stances ORDER BY article_id"))
    assert [r["stance"] for r in rows] == ["carries", "reports", "debunks", "unrelated"]
    assert all(r["model_id"] == "fake@1" and r["claim_hash"] == claim_hash(["the claim"]) for r in rows)
    assert json.loads(rows[0]["evidence"]) == ["[carries] one"] and rows[0]["p_carries"] == 0.7
    # unchanged: nothing judged again
    again = StanceResult()
    assert judge_candidates(db, judge, "narrative", 1, ["the claim"], db.ids[:4], None, again) == got
    assert again.judged == 0 and again.reused == 4 and len(judge.calls) == 4
    # the article changed: that one is judged again
    with db.conn:
        db.execute("UPDATE articles SET text = '[debunks] one, rewritten', content_hash = 'h0b' WHERE id = ?", [db.ids[0]])
    changed = StanceResult()
    assert judge_candidates(db, judge, "narrative", 1, ["the claim"], db.ids[:4], None, changed)[db.ids[0]] == "debunks"
    assert changed.judged == 1 and changed.reused == 3
    # the claim changed, or the model: all judged again
    other_claim = StanceResult()
    judge_candidates(db, judge, "narrative", 1, ["a new claim"], db.ids[:4], None, other_claim)
    assert other_claim.judged == 4
    new_model = StanceResult()
    judge_candidates(db, FakeJudge("fake@2"), "narrative", 1, ["a new claim"], db.ids[:4], None, new_model)
    assert new_model.judged == 4


def test_a_verdict_is_shared_by_subjects_with_the_same_claim(db):
    judge = FakeJudge()
    judge_candidates(db, judge, "narrative", -1, ["same claim"], db.ids[:2], None)
    result = StanceResult()
    judge_candidates(db, judge, "watch", 7, ["same claim"], db.ids[:2], None, result)
    assert result.reused == 2 and len(judge.calls) == 2
    assert db.execute("SELECT count(*) FROM stances WHERE kind = 'watch' AND subject_id = 7").fetchone()[0] == 2


def test_each_claim_is_read_and_the_one_addressed_most_decides(db):
    judge = FakeJudge()
    got = judge_candidates(db, judge, "watch", 1, ["other: about something else", "the claim"], [db.ids[1]], None)
    assert got == {db.ids[1]: "reports"} and len(judge.calls) == 2
    assert pick([Judgement("unrelated", {"unrelated": 0.9, "carries": 0.1}),
                 Judgement("carries", {"unrelated": 0.2, "carries": 0.8})]).stance == "carries"


def test_languages_the_judge_does_not_cover_are_members_not_judged(db):
    judge, result = FakeJudge(languages={"en"}), StanceResult()
    got = judge_candidates(db, judge, "narrative", 1, ["the claim"], [db.ids[0], db.ids[4]], None, result)
    assert got == {db.ids[0]: "carries", db.ids[4]: None}
    assert result.not_judged == 1 and members_of(got) == {db.ids[0], db.ids[4]}
    assert db.execute("SELECT count(*) FROM stances").fetchone()[0] == 1


def test_an_article_no_judge_reads_is_judged_through_its_full_translation_only(db):
    """Article 4 (Russian, "[carries] five") is a full translation of article 1 ("[reports] two"):
    the judge reads article 1 in its place. A partial relay (coverage under STANCE_COVERAGE) passes
    nothing on, and a pair found later sends the subjects with the article unjudged back to the judge."""
    from clustering.stance_stage import judge_new_translations
    from clustering.translation import STANCE_COVERAGE, stance_partners

    ru, en = db.ids[4], db.ids[1]
    with db.conn:
        db["narratives"].insert({"id": 7, "status": "active", "model_id": "m", "stance_model": "fake@1"}, alter=True)
        db["narrative_memberships"].insert({"narrative_id": 7, "article_id": ru, "score": 0.5}, alter=True)
        db["translations"].insert({"article_id": en, "source_article_id": ru, "model_id": "m", "matched": 3,
                                   "share": 0.6, "coverage": STANCE_COVERAGE - 0.1, "run_id": 1})
    assert stance_partners(db, [ru], {"en"}) == {}
    judge, result = FakeJudge(languages={"en"}), StanceResult()
    assert judge_candidates(db, judge, "narrative", 7, ["the claim"], [ru], None, result) == {ru: None}
    assert judge_new_translations(db, 1) == 0  # a partial relay judges nothing again
    # the same pair, found in run 2 to cover most of both articles
    with db.conn:
        db.execute("UPDATE translations SET coverage = 0.95, run_id = 2")
    assert stance_partners(db, [ru], {"en"}) == {ru: en} and stance_partners(db, [ru], {"de"}) == {}
    assert judge_new_translations(db, 2) == 1
    assert db.execute("SELECT stance_model FROM narratives WHERE id = 7").fetchone()[0] is None
    result = StanceResult()
    assert judge_candidates(db, judge, "narrative", 7, ["the claim"], [ru], None, result) == {ru: "reports"}
    assert judge.calls[-1] == ("the claim", "[reports] two")  # it read the English translation
    assert (result.judged, result.via_translation, result.not_judged) == (1, 1, 0)
    assert "1 through a translation" in result.summary()
    row = db.execute("SELECT stance, via_article_id, content_hash FROM stances WHERE article_id = ?", [ru]).fetchone()
    assert row == ("reports", en, "h4")  # the verdict is the Russian article's, kept while its text is
    assert judge_new_translations(db, 2) == 0  # judged now: nothing to send back


def test_members_are_carriers_and_the_unjudged():
    assert members_of({1: "carries", 2: "reports", 3: "debunks", 4: "unrelated", 5: None}) == {1, 5}


def test_no_judge_or_no_claim_judges_nothing(db):
    assert judge_candidates(db, None, "narrative", 1, ["c"], db.ids[:2], None) == {db.ids[0]: None, db.ids[1]: None}
    assert judge_candidates(db, FakeJudge(), "narrative", 1, [" "], db.ids[:2], None) == {db.ids[0]: None,
                                                                                          db.ids[1]: None}


NEUTRAL = ("northern-herald", "baltic-morning-post")  # the demo's outlets of neutral reports and fact checks


class OutletJudge(FakeJudge):
    """Debunks for the demo's neutral outlets, carries for the others (a stand-in with a known answer)."""

    def __init__(self, outlet_of):
        super().__init__("outlet@1")
        self.outlet_of = outlet_of

    def judge_batch(self, items):
        out = []
        for claim, text, title in items:
            self.calls.append((claim, text))
            stance = "debunks" if self.outlet_of[text] in NEUTRAL else "carries"
            out.append(Judgement(stance, {s: (0.97 if s == stance else 0.01) for s in
                                          ("carries", "reports", "debunks", "unrelated")}, [text[:40]]))
        return out


def test_the_pipeline_keeps_carriers_and_shows_the_rest_apart(demo_crawled, tmp_path):
    """`process` with a judge on the real demo web: no narrative or watch member, origin or
    adopter comes from an article judged a debunk; those articles are listed as debunks with their
    times; a second run judges nothing again; re-running with another judge re-judges."""
    import shutil

    from clustering.embedding import load_embedder
    from clustering.pipeline import process
    from clustering.watch_stage import match_watches, save_watch, watch_matches
    from db import spread
    from tests.conftest import N1_DESCRIPTION

    path = tmp_path / "demo.db"
    shutil.copy(demo_crawled[0], path)
    db = open_db(path)
    outlet_of = {r["text"]: r["outlet"] for r in db.query("SELECT text, outlet FROM articles")}
    judge = OutletJudge(outlet_of)
    embedder = load_embedder(precision="fp32")
    result = process(db, embedder, judge=judge)
    assert result.stance.judged > 0 and result.stance.counts.get("debunks", 0) > 0
    watch_id = save_watch(db, embedder, name="West arms jihadists", description=N1_DESCRIPTION)
    match_watches(db, embedder, judge=judge)
    narratives = [r[0] for r in db.execute("SELECT id FROM narratives WHERE status = 'active'")]
    assert narratives
    for nid in narratives:
        members = {r["outlet"] for r in spread.articles(db, "narrative", nid)}
        assert members and not members & set(NEUTRAL), (nid, members)
        data = spread.spread(db, "narrative", nid)
        assert not set(data["origin"]) & set(NEUTRAL)
        assert {r["outlet"] for r in data["adopters"]} == members
        assert all(r["outlet"] in NEUTRAL for r in data["debunked_by"])
        assert not data["reported_by"]
        if data["debunked_by"]:
            first = data["first_debunk"]
            assert first == data["debunked_by"][0] and first["lag_after_origin_hours"] is not None
    _, matches = watch_matches(db, watch_id, limit=1000)
    _, others = watch_matches(db, watch_id, limit=1000, stances=("reports", "debunks"))
    assert matches and others
    assert {r["outlet"] for r in matches}.isdisjoint(NEUTRAL) and {r["outlet"] for r in others} <= set(NEUTRAL)
    assert all(r["stance"] == "carries" for r in matches) and all(r["stance"] == "debunks" for r in others)
    # nothing new: nothing judged again
    calls = len(judge.calls)
    again = process(db, embedder, judge=judge)
    assert again.run_id is None and len(judge.calls) == calls
    # a new judge model: every narrative's and watch's candidates judged again, in the next process
    other = OutletJudge(outlet_of)
    other.model_id = "outlet@2"
    rerun = process(db, embedder, judge=other)
    assert rerun.run_id is not None and rerun.stance.judged > 0
    assert not db.execute("SELECT count(*) FROM narratives WHERE status = 'active' AND stance_model IS NOT ?",
                          [other.model_id]).fetchone()[0]
    db.conn.close()


def test_an_earlier_judges_verdict_on_an_article_the_new_one_cannot_read_is_dropped(db):
    ru = db.ids[4]
    assert judge_candidates(db, FakeJudge("any@1"), "watch", 3, ["the claim"], [ru], None) == {ru: "carries"}
    got = judge_candidates(db, FakeJudge("english@1", languages={"en"}), "watch", 3, ["the claim"], [ru], None)
    assert got == {ru: None}  # not judged: the stored verdict was another model's
    assert db.execute("SELECT count(*) FROM stances WHERE kind = 'watch' AND subject_id = 3").fetchone()[0] == 0
