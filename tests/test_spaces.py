"""Two vector spaces (clustering/embedding/spaces.py, issue #29): the events' second tier, the
watches' per-language standardisation and lead parts, labels in one language: the mechanisms, on
small hand-made vectors (the real models' figures are gated in test_events_gate.py,
test_watch_gate.py and test_watch_languages.py)."""
from __future__ import annotations

import numpy as np

from clustering import watch as W
from clustering.embedding.spaces import Spaces, spaces_of, split_name
from clustering.events import DAY, EventParams, EventState, tiered_channels
from clustering.narratives import DocInfo, in_language, label_language

TIERS = EventParams(weights=(0.5, 0.5, 0.0), fallback=(0.0, 0.0, 1.0), fallback_gain=1.0)


def unit(*xs):
    v = np.zeros(8, np.float32)
    for i, x in enumerate(xs):
        v[i] = x
    return v / np.linalg.norm(v)


def test_split_name_and_spaces_stand_in_for_the_shared_embedder():
    assert split_name("use-multilingual-v3+all-MiniLM-L6-v2") == ("use-multilingual-v3", "all-MiniLM-L6-v2")
    assert split_name("all-MiniLM-L6-v2") == ("all-MiniLM-L6-v2", None)

    class Fake:
        def __init__(self, mid, dim):
            self.model_id, self.dim, self.precision, self.max_tokens, self.languages = mid, dim, "fp32", 128, {"en", "ru"}

        def embed(self, texts):
            return np.ones((len(texts), self.dim), np.float32)

    s = Spaces("a+b", Fake("shared", 4), Fake("english", 3))
    assert s.model_id == "shared" and s.embed(["x"]).shape == (1, 4) and s.languages == {"en", "ru"}
    assert s.space_id == "shared+english" and s.model_ids == ["shared", "english"]
    one = spaces_of(Fake("only", 2))
    assert one.english is None and one.space_id == "only"


def test_english_pairs_compare_in_the_first_tier_exactly_as_one_space():
    """Articles every space reads score on the English channels alone: the shared lead does not move them."""
    one = EventState(8, 2, EventParams())
    two = EventState(8, 3, TIERS)
    a = (unit(1, 0.2), unit(1, 0.1), unit(0, 0, 1))
    b = (unit(1, 0.3), unit(0.9, 0.2), unit(0, 0, 0, 1))  # shared leads orthogonal: tier 2 would refuse
    for state, vecs in ((one, [np.stack(a[:2]), np.stack(b[:2])]), (two, [np.stack(a), np.stack(b)])):
        first = state.assign_one("a", 0.0, vecs[0])
        second = state.assign_one("b", DAY, vecs[1])
        assert not second.new_event and second.event_id == first.event_id
    assert two.rows()[0].count == one.rows()[0].count == 2


def test_a_foreign_article_meets_an_english_event_in_the_shared_tier():
    state = EventState(8, 3, TIERS)
    en = tiered_channels(unit(1, 0.2), unit(1, 0.1), unit(0, 0, 1, 0.1), 8)
    ru_close = tiered_channels(None, None, unit(0, 0, 1, 0.2), 8)
    ru_far = tiered_channels(None, None, unit(0, 0, 0, 0, 1), 8)
    e = state.assign_one("en", 0.0, en)
    assert state.assign_one("ru1", DAY, ru_close).event_id == e.event_id  # only the shared lead in common
    assert state.assign_one("ru2", DAY, ru_far).new_event
    # the gain scales the second tier: too small a gain and the same article starts its own event
    low = EventState(8, 3, EventParams(weights=(0.5, 0.5, 0.0), fallback=(0.0, 0.0, 1.0), fallback_gain=0.3))
    low.assign_one("en", 0.0, en)
    assert low.assign_one("ru1", DAY, ru_close).new_event


def test_label_language_is_the_members_most_common_english_on_ties():
    docs = [DocInfo(str(i), "t", "x", language=lang) for i, lang in enumerate(["ru", "ru", "en", "en-GB", "pt"])]
    assert label_language(docs, [0, 1, 2, 3]) == "en"  # a tie goes to English
    assert label_language(docs, [0, 1, 4]) == "ru"
    assert in_language(docs, [0, 1, 2, 4], "ru") == [0, 1]
    assert in_language(docs, [4], "ru") == [4]  # none in that language: all


def _profile():
    return W.build_profile(W.WatchedNarrative("w", "claim"), lambda texts: np.stack([unit(1)] * len(texts)))


def test_language_calibration_stands_alone_or_on_the_stream():
    rng = np.random.default_rng(0)

    def articles(n, bias):
        return [rng.normal(size=(4, 8)).astype(np.float32) * 0.1 + unit(bias) for _ in range(n)]

    en, ru_few = articles(60, 1.0), articles(5, 0.3)
    p = _profile()
    W.calibrate([p], en + ru_few)
    table = W.language_calibration([p], {"en": en, "ru": ru_few})
    assert table["en"]["status"] == "own" and table["en"]["articles"] == 60
    assert table["ru"]["status"] == "stream" and table["ru"]["shift"] == table[""]["shift"]
    ru = articles(40, 0.3)
    table = W.language_calibration([p], {"en": en, "ru": ru})
    assert table["ru"]["status"] == "own"
    # standardised per language, each language's scores sit around 0 with deviation 1
    z = np.array([W.score_article([p], a, language=(table["ru"]["shift"], table["ru"]["scale"]))[0].score for a in ru])
    assert abs(z.mean()) < 1e-6 and abs(z.std() - 1) < 1e-6


def test_the_english_lead_part_and_the_sum_without_it():
    rng = np.random.default_rng(1)
    en_q = unit(0, 1)
    p = W.build_profile(W.WatchedNarrative("w", "claim"), lambda t: np.stack([unit(1)] * len(t)), leads=True,
                        en_embed=lambda t: np.stack([en_q] * len(t)), en_model_id="english")
    assert p.lead_weight == W.LEAD_WEIGHT and p.en_lead_weight == W.EN_LEAD_WEIGHT

    def art(english: bool):
        pv = rng.normal(size=(3, 8)).astype(np.float32)
        lead = rng.normal(size=8).astype(np.float32)
        return W.ArticleVectors(pv / np.linalg.norm(pv, axis=1, keepdims=True), lead / np.linalg.norm(lead),
                                (en_q + rng.normal(size=8) * 0.5).astype(np.float32) if english else None)

    bg = [art(True) for _ in range(50)] + [art(False) for _ in range(50)]
    W.calibrate([p], bg)
    assert p.sigma_shared != 1.0 and p.sigma != p.sigma_shared
    # each kind of article is standardised on the sum of the parts it has: English articles on the
    # whole sum over English articles, the others on the sum without the English part over all
    z = np.array([W.score_article([p], a)[0].z for a in bg if a.en_lead is not None])
    assert abs(z.mean()) < 1e-6 and abs(z.std() - 1) < 1e-6
    shared = W.ArticleVectors
    z_all = np.array([W.score_article([p], shared(a.passages, a.lead, None))[0].z for a in bg])
    assert abs(z_all.mean()) < 1e-6 and abs(z_all.std() - 1) < 1e-6
    back = W.Profile.from_json(p.to_json())
    a = art(True)
    assert W.score_article([back], a)[0].score == W.score_article([p], a)[0].score
    assert back.en_model_id == "english" and back.en_vectors.shape == (1, 8)


def test_too_few_english_articles_leave_the_english_part_out():
    p = W.build_profile(W.WatchedNarrative("w", "claim"), lambda t: np.stack([unit(1)] * len(t)), leads=True,
                        en_embed=lambda t: np.stack([unit(0, 1)] * len(t)))
    bg = [W.ArticleVectors(np.stack([unit(1, i / 50)]), unit(1), None) for i in range(30)]
    W.calibrate([p], bg)
    assert p.en_lead_weight == 0.0 and p.calibrated and np.isfinite(p.mu)


def test_article_vectors_accepts_a_bare_array():
    v = np.stack([unit(1), unit(0, 1)])
    a = W.article_vectors(v)
    assert a.passages.shape == (2, 8) and a.lead is None and a.en_lead is None
