"""The default stance judge over the shared space (clustering/stance/vector_head.py, issue #30)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clustering.languages import readable_claims
from clustering.stance.base import DEFAULT_MODEL, STANCES, Judgement
from clustering.stance.vector_head import decide, pack
from clustering.stance_stage import StanceResult, judge_candidates
from db import open_db
from db.store import ensure_outlet, insert_articles

ROOT = Path(__file__).resolve().parent.parent
LABELS = list(STANCES)


def test_floors_keep_carriers_and_guard_debunks():
    probs = np.array([0.30, 0.05, 0.60, 0.05])
    assert decide(LABELS, probs, {}) == "debunks"  # no floors: the most probable
    assert decide(LABELS, probs, {"carries": 0.2}) == "carries"  # p(carries) clears the keep floor
    assert decide(LABELS, probs, {"carries": 0.4}) == "debunks"
    assert decide(LABELS, probs, {"carries": 0.4, "debunks": 0.7}) == "reports"  # not sure enough to say debunks
    assert decide(LABELS, np.array([0.6, 0.1, 0.2, 0.1]), {}) == "carries"
    assert decide(LABELS, np.array([0.01, 0.74, 0.25, 0.0]), {"carries": 0.1, "debunks": 0.8}) == "reports"


def test_an_article_without_passages_still_packs():
    c, p, m = pack([np.ones(4)], [np.zeros((0, 4))], max_passages=3)
    assert p.shape == (1, 3, 4) and m.tolist() == [[True, False, False]]


def test_claims_in_a_language_the_judge_does_not_read_are_never_judged():
    claims = ["The West arms jihadist militants to attack Russia and its allies.",
              "Западът въоръжава джихадисти, за да нападнат Русия и нейните съюзници.",
              "Запад вооружает боевиков-джихадистов для нападений на Россию и её союзников."]
    assert readable_claims(claims, {"en", "ru"}) == [claims[0], claims[2]]
    assert readable_claims(claims, None) == claims


class VectorFake:
    """A judge over a vector space: says "carries" when the article's first passage vector is
    nearest the claim; records which path each article took."""

    license = "test"
    languages = {"en"}
    space = "space-x"
    model_id = "vector-fake@1"

    def __init__(self):
        self.from_vectors, self.from_text = [], []

    def judge_vectors(self, items):
        self.from_vectors += [texts for _, texts, _ in items]
        return [Judgement("carries" if v[0][0] > 0 else "unrelated", {"carries": 0.5, "unrelated": 0.5}, list(texts))
                for _, texts, v in items]

    def judge_batch(self, items):
        self.from_text += [text for _, text, _ in items]
        return [Judgement("reports", {"reports": 1.0}, [text]) for _, text, _ in items]


def test_the_stage_hands_a_vector_judge_the_stored_passages(tmp_path):
    from clustering.vectors import to_blob

    db = open_db(tmp_path / "v.db")
    ensure_outlet(db, "o", "http://127.0.0.1/")
    with db.conn:
        ids = insert_articles(db, [{"url": f"http://127.0.0.1/{i}", "outlet": "o", "text": f"text {i}",
                                    "language": "en", "content_hash": f"h{i}"} for i in range(3)])
        for aid, sign in zip(ids[:2], (1.0, -1.0)):
            db["passages"].insert_all({"article_id": aid, "model_id": "space-x", "idx": k, "text": f"p{aid}.{k}",
                                       "vector": to_blob(np.full(4, sign, np.float32))} for k in range(2))
    judge, result = VectorFake(), StanceResult()
    got = judge_candidates(db, judge, "narrative", 1, ["The claim that the stage reads in English."], ids, None,
                           result)
    assert got == {ids[0]: "carries", ids[1]: "unrelated", ids[2]: "reports"}  # the third has no stored passages
    assert judge.from_vectors == [[f"p{ids[0]}.0", f"p{ids[0]}.1"], [f"p{ids[1]}.0", f"p{ids[1]}.1"]]
    assert judge.from_text == ["text 2"] and result.judged == 3


def test_a_claim_the_judge_cannot_read_leaves_every_candidate_unjudged(tmp_path):
    db = open_db(tmp_path / "c.db")
    ensure_outlet(db, "o", "http://127.0.0.1/")
    with db.conn:
        ids = insert_articles(db, [{"url": "http://127.0.0.1/a", "outlet": "o", "text": "x", "language": "en",
                                    "content_hash": "h"}])
    judge = VectorFake()
    got = judge_candidates(db, judge, "narrative", 1, ["पश्चिम जिहादियों को हथियार देता है ताकि वे रूस पर हमला करें"],
                           ids, None)
    assert got == {ids[0]: None} and not judge.from_vectors and not judge.from_text


@pytest.fixture(scope="module")
def judge():
    from clustering.embedding.use_onnx import onnx_path
    from clustering.stance import load_judge

    if not onnx_path().is_file():
        pytest.skip("the USE model is not installed (make install)")
    return load_judge("use-stance")


def test_the_default_judge_is_the_shipped_vector_head(judge):
    meta = json.loads((ROOT / "clustering" / "stance" / "models" / "use-stance" / "stance_meta.json").read_text())
    assert DEFAULT_MODEL == "use-stance" and judge.model_id.startswith("use-stance@")
    assert {"en", "ru", "pt"} <= judge.languages and "bg" not in judge.languages and "hi" not in judge.languages
    assert "Apache-2.0" in judge.license and meta["space"] == judge.space


def test_stored_vectors_and_text_give_the_same_verdicts(judge):
    from clustering.passages import split_passages

    rows = [json.loads(line) for line in (ROOT / "bench" / "stance_data" / "ru_A.jsonl").read_text("utf-8").splitlines()]
    items = [(r["claim_ru"], r["text"], r["title"]) for r in rows[:6]]
    by_text = judge.judge_batch(items)
    passages = [split_passages(t, x) for _, x, t in items]
    by_vectors = judge.judge_vectors([(c, ps, judge.encoder.embed(ps)) for (c, _, _), ps in zip(items, passages)])
    assert [j.stance for j in by_text] == [j.stance for j in by_vectors]
    for a, b in zip(by_text, by_vectors):
        assert all(abs(a.scores[s] - b.scores[s]) < 1e-4 for s in STANCES)
        assert sorted(a.evidence) == sorted(b.evidence)


def test_it_reads_russian_carriers_and_says_debunks_only_when_right(judge):
    rows = [json.loads(line) for f in ("ru_A", "ru_B")
            for line in (ROOT / "bench" / "stance_data" / f"{f}.jsonl").read_text("utf-8").splitlines()]
    verdicts = [j.stance for j in judge.judge_batch([(r["claim_ru"], r["text"], r["title"]) for r in rows])]
    gold = [r["stance"] for r in rows]
    carriers = [v for v, g in zip(verdicts, gold) if g == "carries"]
    assert carriers.count("carries") >= 0.8 * len(carriers)
    said_debunks = [g for v, g in zip(verdicts, gold) if v == "debunks"]
    assert said_debunks and all(g == "debunks" for g in said_debunks)  # the costliest error: never here
