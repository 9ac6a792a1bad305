"""Watched narratives: logic on fake embeddings, a few checks on the real model (small inputs)."""
from __future__ import annotations

import numpy as np
import pytest

from clustering import watch as W
from clustering.passages import split_passages

DIM = 8


def fake_embed(texts):
    """Deterministic bag-of-topics vectors: each topic word lights one axis."""
    axes = ["jihadist", "vaccine", "sanction", "farmer", "football", "weather", "arms", "train"]
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        low = t.lower()
        for j, a in enumerate(axes):
            out[i, j] = low.count(a)
        out[i, 5] += 0.3  # every text shares a little "weather"
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def article(*sentences):
    passages = split_passages(sentences[0], " ".join(sentences[1:]))
    return fake_embed(passages), passages


def test_threshold_change_changes_matches():
    p = W.build_profile(W.WatchedNarrative("n1", "jihadist arms"), fake_embed)
    vecs, texts = article("Jihadist fighters seen near the border, officials say", "The weather was mild today in the capital city.")
    score = W.score_article([p], vecs, texts)[0].score
    p.threshold = score - 0.01
    assert [m.watch_id for m in W.match_article([p], vecs, texts)] == ["n1"]
    p.threshold = score + 0.01
    assert W.match_article([p], vecs, texts) == []


def test_keywords_boost():
    plain = W.build_profile(W.WatchedNarrative("n", "jihadist arms"), fake_embed)
    kw = W.build_profile(W.WatchedNarrative("n", "jihadist arms", keywords=["Al-Tanf"]), fake_embed)
    vecs, texts = article("Camp at Al-Tanf trains jihadist recruits, report says", "The weather was mild today in the capital city.")
    assert W.score_article([kw], vecs, texts)[0].score > W.score_article([plain], vecs, texts)[0].score
    vecs2, texts2 = article("Jihadist recruits trained in a desert camp, report says", "Nothing else of note here at all today.")
    assert W.score_article([kw], vecs2, texts2)[0].score == W.score_article([plain], vecs2, texts2)[0].score
    # whole words only
    assert W._keyword_hit(["arms"], ["the farmstead and armstrong"]) == -1


def test_best_passage_and_order():
    p = W.build_profile(W.WatchedNarrative("n", "vaccine"), fake_embed)
    vecs, texts = article("Local football results from the weekend games", "The weather stays dry for the whole week ahead.",
                          "A vaccine campaign is a vaccine plot, activists claim loudly.")
    m = W.score_article([p], vecs, texts)[0]
    assert "vaccine" in texts[m.passage_index].lower()


def test_calibration_and_serialisation_roundtrip():
    profiles = [W.build_profile(W.WatchedNarrative(i, name), fake_embed, model_id="fake")
                for i, name in enumerate(["jihadist arms", "vaccine", "sanction"])]
    rng = np.random.default_rng(0)
    background = [W._normalize(rng.normal(size=(5, DIM))) for _ in range(30)]
    W.calibrate(profiles, background)
    assert all(p.calibrated for p in profiles)
    assert profiles[0].effective_threshold == W.DEFAULT_THRESHOLD
    back = [W.Profile.from_json(p.to_json()) for p in profiles]
    vecs, texts = article("Sanction talks stall again in Brussels", "The weather was mild today in the capital city.")
    assert [m.score for m in W.score_article(back, vecs, texts)] == [m.score for m in W.score_article(profiles, vecs, texts)]
    assert W.calibrate(profiles[:1], background[:3])[0].calibrated  # too few: left as it was


def test_empty_article():
    p = W.build_profile(W.WatchedNarrative("n", "vaccine"), fake_embed)
    m = W.score_article([p], np.zeros((0, DIM), dtype=np.float32), [])[0]
    assert not m.matched


@pytest.fixture(scope="module")
def real_embed():
    try:
        from bench.embedding_cache import cached_embed
        cached_embed(["probe"])
    except Exception as exc:  # model package not installed
        pytest.skip(f"embedding model unavailable: {exc}")
    return cached_embed


NARR = ("West arms jihadists", "The US and NATO train and arm jihadist militants to attack Russia and its allies.")
ON = ("SVR: US instructors train militants in Syria for attacks on Russia",
      "Russia's intelligence service said American instructors are training Islamic State fighters at a desert base. "
      "The fighters are being prepared for terrorist attacks on Russian territory and Central Asian allies.")
OFF = ("Castlebridge United reach cup final after late winner",
       "A header in the ninety-third minute sent the home side to the final. The manager praised his young squad.")
OTHER = [("Harbour cranes to be installed by summer", "The port authority said new cranes will arrive in May. Work starts next week."),
         ("Farmers protest emission rules", "Tractors blocked the ring road as farmers protested against new rules on fertiliser."),
         ("Inflation eases in March", "Consumer prices rose less than expected, the statistics office said on Friday.")]


def _vec(embed, title, text):
    p = split_passages(title, text)
    return embed(p), p


def test_real_model_on_topic_beats_off_topic(real_embed):
    prof = W.build_profile(W.WatchedNarrative("n1", *NARR), real_embed)
    on = W.score_article([prof], *_vec(real_embed, *ON))[0]
    off = W.score_article([prof], *_vec(real_embed, *OFF))[0]
    assert on.score > off.score + 0.2
    again = W.score_article([W.build_profile(W.WatchedNarrative("n1", *NARR), real_embed)], *_vec(real_embed, *ON))[0]
    assert again.score == on.score  # deterministic


def test_real_model_examples_help(real_embed):
    name_only = W.build_profile(W.WatchedNarrative("n1", "Foreign trainers"), real_embed)
    with_ex = W.build_profile(W.WatchedNarrative("n1", "Foreign trainers", examples=[
        ("US trains IS fighters at Al-Tanf to strike Russia",
         "Intelligence officials claim American instructors train Islamic State militants for attacks on Russia.")]), real_embed)
    assert with_ex.kinds[-1] == "prototype"
    on = _vec(real_embed, *ON)
    off = _vec(real_embed, *OFF)
    gap = lambda p: W.score_article([p], *on)[0].score - W.score_article([p], *off)[0].score  # noqa: E731
    assert gap(with_ex) > gap(name_only)


def test_real_model_calibrated_default_threshold(real_embed):
    prof = W.build_profile(W.WatchedNarrative("n1", *NARR), real_embed)
    background = [_vec(real_embed, *a)[0] for a in OTHER + [OFF]] * 6  # 24 background articles
    W.calibrate([prof], background)
    assert prof.calibrated
    assert [m.watch_id for m in W.match_article([prof], *_vec(real_embed, *ON))] == ["n1"]
    assert W.match_article([prof], *_vec(real_embed, *OFF)) == []


def test_prototypes_are_claim_passages_and_parts_calibrated():
    ex = ("Jihadist camp found", "Football was played today in the big stadium again. "
          "Arms reach the jihadist camp by truck, says a report. The weather was fine and dry all week long.")
    p = W.build_profile(W.WatchedNarrative("n", "jihadist arms", examples=[ex]), fake_embed, prototype_passages=1)
    assert p.kinds == ["name", "prototype"] and p.has_prototypes
    rng = np.random.default_rng(1)
    background = [W._normalize(rng.normal(size=(4, DIM))) for _ in range(25)]
    W.calibrate([p], background)
    assert p.calibrated and p.part_sigma[1] != 1.0
    scores = np.array([W.score_article([p], v)[0].score for v in background])
    assert abs(scores.mean()) < 1e-6 and abs(scores.std() - 1) < 1e-6  # z units over the background
    back = W.Profile.from_json(p.to_json())
    assert back.part_mu == p.part_mu and back.part_sigma == p.part_sigma


def test_version1_profile_loads_uncalibrated():
    import json as _json
    p = W.build_profile(W.WatchedNarrative("n", "vaccine"), fake_embed)
    d = _json.loads(p.to_json())
    d.update(version=1, mu=0.3, sigma=0.1)
    for k in ("part_mu", "part_sigma"):
        d.pop(k)
    old = W.Profile.from_json(_json.dumps(d))
    assert not old.calibrated and old.part_mu == [0.0] * len(W.PARTS)
