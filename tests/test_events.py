"""Unit tests of clustering.events: determinism, incremental == batch, time decay, persistence.

Synthetic vectors, plus the real embedding model (through the benchmark embedding cache) on a few
texts; the model tests skip when the model package is not installed.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from clustering.events import DEFAULT_PARAMS, EventParams, EventState, article_texts, assign_events, to_timestamp

DIM = 16
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _stream(n=300, topics=12, seed=0):
    """n articles over ~2 years from `topics` directions; each topic comes in bursts."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, 2, DIM))
    items = []
    for i in range(n):
        k = int(rng.integers(topics))
        v = centres[k] + rng.normal(0, 0.35, (2, DIM))
        t = T0 + timedelta(days=float(rng.uniform(0, 730)))
        items.append((f"a{i:04d}", t, v.astype(np.float32)))
    return items


def _run(items, state=None):
    state = state or EventState(DIM)
    return [tuple(a) for a in assign_events(state, items)], state


def test_determinism_same_input_twice():
    items = _stream()
    first, _ = _run(items)
    second, _ = _run(list(reversed(items)))  # input order does not matter: sorted by (time, id)
    assert first == second
    assert len({a[0] for a in first}) == len(items)  # each article exactly once


def test_incremental_equals_batch():
    items = sorted(_stream(), key=lambda x: (x[1], x[0]))
    batch, sb = _run(items)
    state = EventState(DIM)
    inc = [tuple(a) for a in assign_events(state, items[:137])] + [tuple(a) for a in assign_events(state, items[137:])]
    assert [(a[0], a[1], a[3]) for a in inc] == [(a[0], a[1], a[3]) for a in batch]
    np.testing.assert_allclose([a[2] for a in inc], [a[2] for a in batch], rtol=1e-5, atol=1e-6)


def test_persisted_state_resumes_identically():
    items = sorted(_stream(), key=lambda x: (x[1], x[0]))
    batch, _ = _run(items)
    state = EventState(DIM)
    head = assign_events(state, items[:200])
    assert sorted(state.take_dirty()) == sorted({a.event_id for a in head})
    # persist only the events still inside the horizon of the next article, as the caller would
    t_next = to_timestamp(items[200][1])
    rows = [r for r in state.rows() if r.last_ts >= t_next - DEFAULT_PARAMS.horizon_days * 86400]
    resumed = EventState.from_rows(rows, DIM, next_id=state.next_id)
    tail = assign_events(resumed, items[200:])
    assert [(a.article_id, a.event_id, a.new_event) for a in list(head) + tail] == [(a[0], a[1], a[3]) for a in batch]


def test_event_ids_in_order_and_one_event_per_article():
    out, state = _run(_stream())
    new_ids = [a[1] for a in out if a[3]]
    assert new_ids == list(range(1, len(new_ids) + 1))
    assert len(state) == len(new_ids) and sum(r.count for r in state.rows()) == len(out)


def test_time_decay_synthetic():
    v = np.ones((2, DIM), np.float32)
    for gap_days, same in [(0, True), (3, True), (30, True), (2 * 365, False), (5 * 365, False)]:
        out, _ = _run([("a", T0, v), ("b", T0 + timedelta(days=gap_days), v)])
        assert (out[0][1] == out[1][1]) is same, gap_days
    # the decay is soft: monotone, no cliff inside the first months
    d = DEFAULT_PARAMS.decay([0, 1, 7, 30, 90, 180, 365, 730])
    assert np.all(np.diff(d) < 0) and d[0] == 1.0 and d[3] > 0.8


def test_similarity_threshold_synthetic():
    a = np.zeros((2, DIM), np.float32)
    a[:, 0] = 1
    b = np.zeros((2, DIM), np.float32)
    b[:, 1] = 1  # orthogonal: never the same event
    out, _ = _run([("a", T0, a), ("b", T0, b)])
    assert out[0][1] != out[1][1] and out[1][3]


def test_missing_timestamp_uses_fallback():
    v = np.ones((2, DIM), np.float32)
    out = assign_events(EventState(DIM), [("a", None, v, "2024-01-01T00:00:00Z"), ("b", "2024-01-02", v)])
    assert out[0].event_id == out[1].event_id
    with pytest.raises(ValueError):
        assign_events(EventState(DIM), [("c", None, v)])


def test_out_of_order_article_joins_its_event():
    v = np.ones((2, DIM), np.float32)
    state = EventState(DIM)
    first = assign_events(state, [("a", T0, v), ("b", T0 + timedelta(days=400), -v)])
    late = assign_events(state, [("c", T0 + timedelta(days=1), v)])
    assert late[0].event_id == first[0].event_id


def test_horizon_is_exact():
    p = DEFAULT_PARAMS
    h = p.horizon_days
    assert p.decay(h * 0.999) >= p.threshold > p.decay(h * 1.001)
    assert EventParams(threshold=0.5, power=0.0, long_days=0.0).horizon_days == float("inf")


# ---------------------------------------------------------------------------------------- real model
ENGLISH = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def embed():
    pytest.importorskip("sentence_transformers")
    from clustering.errors import ModelNotAvailableError

    from bench.embedding_cache import cached_embed
    try:
        cached_embed(["probe"], model=ENGLISH)
    except ModelNotAvailableError as exc:
        pytest.skip(str(exc))

    def vectors(title, text):  # the English space's title and lead: what English events compare
        t, lead = article_texts(title, text)
        return np.stack([cached_embed([t], model=ENGLISH)[0], cached_embed([lead], model=ENGLISH)[0]])
    return vectors


STORY = ("Earthquake of magnitude 6.8 strikes off the coast of Chile",
         "A strong earthquake struck off the coast of central Chile on Tuesday, the US Geological Survey said. "
         "There were no immediate reports of damage or casualties.")
FOLLOW = ("Chile quake: rescuers search collapsed homes after 6.8 tremor",
          "Rescue teams in central Chile searched damaged houses on Wednesday after a magnitude 6.8 earthquake "
          "struck off the coast, officials said.")
OTHER = ("Central bank raises interest rates to fight inflation",
         "The central bank raised its benchmark rate by half a point on Thursday, citing persistent inflation.")


def test_real_model_identical_texts_years_apart_vs_days_apart(embed):
    v = embed(*STORY)
    days = assign_events(EventState(384), [("a", T0, v), ("b", T0 + timedelta(days=2), v)])
    years = assign_events(EventState(384), [("a", T0, v), ("b", T0 + timedelta(days=3 * 365), v)])
    assert days[0].event_id == days[1].event_id
    assert years[0].event_id != years[1].event_id


def test_real_model_follow_up_joins_other_story_does_not(embed):
    items = [("a", T0, embed(*STORY)), ("b", T0 + timedelta(days=1), embed(*FOLLOW)),
             ("c", T0 + timedelta(days=1, hours=1), embed(*OTHER))]
    out = assign_events(EventState(384), items)
    assert out[0].event_id == out[1].event_id != out[2].event_id
    again = assign_events(EventState(384), items)
    assert [tuple(a) for a in again] == [tuple(a) for a in out]
    state = EventState(384)
    inc = assign_events(state, items[:1]) + assign_events(state, items[1:])
    assert [(a.article_id, a.event_id) for a in inc] == [(a.article_id, a.event_id) for a in out]


def test_centred_event_space_subtracts_the_shipped_centre():
    """A centred model's articles are compared minus the centre of clustering/event_centers/ (re-normalised);
    without a centre the vectors are used as given."""
    import numpy as np
    from dataclasses import replace
    from clustering.events import DEFAULT_PARAMS, event_center, event_vectors

    params = replace(DEFAULT_PARAMS, center="use-multilingual-v3-int8")
    c = event_center(params.center)
    assert c.shape == (2, 512) and np.all(np.linalg.norm(c, axis=1) > 0.1)
    rng = np.random.default_rng(0)
    v = rng.normal(size=(2, 512)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    got = event_vectors(v, params)
    want = (v - c) / np.linalg.norm(v - c, axis=1, keepdims=True)
    assert np.allclose(got, want, atol=1e-6)
    assert event_vectors(v, DEFAULT_PARAMS) is v


def _partial_stream(n=300, seed=1):
    """_stream with three channels, the last one missing (all zeros) in about a third of the
    articles, as a title model that does not read an article's language leaves it."""
    rng = np.random.default_rng(seed)
    items = []
    for aid, t, v in _stream(n, seed=seed):
        third = v[0] * 0.8 + rng.normal(0, 0.2, DIM).astype(np.float32)
        if rng.random() < 0.33:
            third = np.zeros(DIM, np.float32)
        items.append((aid, t, np.vstack([v, third[None]]).astype(np.float32)))
    return items


def test_a_missing_channel_averages_over_the_channels_both_sides_have():
    params = EventParams(threshold=0.9, weights=(0.5, 0.5))
    hour = float(params.decay(1 / 24))  # cosine 1.0, decayed over the hour between the two
    state = EventState(DIM, 2, params)
    a = np.zeros((2, DIM), np.float32)
    a[0, 0], a[1, 1] = 1.0, 1.0
    lacking = a.copy()
    lacking[1] = 0.0  # the same story, without the second channel: similarity 1.0, not 0.5
    first, second = assign_events(state, [("a", T0, a), ("b", T0 + timedelta(hours=1), lacking)])
    assert second.event_id == first.event_id and second.score == pytest.approx(hour, abs=1e-6)
    # an event that lacks a channel is compared on the channels it has
    state = EventState(DIM, 2, params)
    first, second = assign_events(state, [("b", T0, lacking), ("a", T0 + timedelta(hours=1), a)])
    assert second.event_id == first.event_id and second.score == pytest.approx(hour, abs=1e-6)
    # no channel in common: similarity 0, a new event
    only_second = np.zeros((2, DIM), np.float32)
    only_second[1, 1] = 1.0
    state = EventState(DIM, 2, params)
    first, second = assign_events(state, [("b", T0, lacking), ("c", T0 + timedelta(hours=1), only_second)])
    assert second.new_event and second.event_id != first.event_id


def test_missing_channels_block_path_equals_one_at_a_time_and_resumes():
    params = EventParams(threshold=0.5, weights=(0.0, 0.6, 0.4))
    items = sorted(_partial_stream(), key=lambda x: (x[1], x[0]))
    batch = [tuple(a) for a in assign_events(EventState(DIM, 3, params), items)]
    one = EventState(DIM, 3, params)
    single = [tuple(one.assign_one(aid, to_timestamp(t), vec)) for aid, t, vec in items]
    assert [(a[0], a[1]) for a in single] == [(a[0], a[1]) for a in batch]
    np.testing.assert_allclose([a[2] for a in single], [a[2] for a in batch], rtol=1e-5, atol=1e-6)
    assert len({a[1] for a in batch}) < len(items) / 2  # the third channel's gaps do not split the topics
    state = EventState(DIM, 3, params)
    head = assign_events(state, items[:150])
    resumed = EventState.from_rows(state.rows(), DIM, 3, params, next_id=state.next_id)
    tail = assign_events(resumed, items[150:])
    assert [(a.article_id, a.event_id) for a in list(head) + tail] == [(a[0], a[1]) for a in batch]


def test_lexical_channel_keeps_names_and_numbers_weighted_by_the_shipped_idf():
    from clustering.lexical import DIM, idf_table, lexical_vector

    idf, unseen = idf_table("fnc1-lexical-idf")
    assert len(idf) > 10_000 and unseen > max(idf.values()) - 1e-6  # unseen words weigh most
    a = lexical_vector("Floods in Valencia: 214 dead, says Spain's government.", "fnc1-lexical-idf")
    same_story = lexical_vector("Spain: Valencia flood toll rises to 214", "fnc1-lexical-idf")
    other = lexical_vector("Brazil's central bank raises rates to 11.25 percent", "fnc1-lexical-idf")
    assert a.shape == (DIM,) and abs(float(np.linalg.norm(a)) - 1) < 1e-5
    assert float(a @ same_story) > 0.4 > float(abs(a @ other))
    # lower-case words, stop words and single digits carry nothing
    assert not lexical_vector("the floods were bad and 3 people were hurt", "fnc1-lexical-idf").any()
