"""Narrative discovery (clustering/narratives.py, clustering/labels.py) on the demo web's ground
truth with the real embedding model (vectors from the benchmark's disk cache)."""
import json
from pathlib import Path

import numpy as np
import pytest

from clustering.labels import keywords, representative_headline
from clustering.narratives import DocInfo, assign_to_narratives, discover_narratives

GATES = json.loads((Path(__file__).resolve().parent.parent / "bench" / "quality_gates.json").read_text())


@pytest.fixture(scope="module")
def demo(fp32_reference):
    pytest.importorskip("sentence_transformers")
    from bench.eval_narratives import demo_docs, embed_passages
    from clustering.errors import ModelNotAvailableError

    docs, gold, gt = demo_docs(True)
    try:
        vecs, index, _ = embed_passages(docs)
    except ModelNotAvailableError as exc:
        pytest.skip(f"embedding model not available: {exc}")
    return docs, gold, gt, vecs, index


@pytest.fixture(scope="module")
def carrier(demo):
    from bench.eval_narratives import shipped_carrier

    docs, _, _, vecs, index = demo
    return shipped_carrier(vecs, index, len(docs), [d.language for d in docs])


@pytest.fixture(scope="module")
def clusters(demo, carrier):
    docs, _, _, vecs, index = demo
    return discover_narratives(docs, vecs, index, carrier=carrier)


def _best_f1(clusters, members):
    best = 0.0
    for c in clusters:
        tp = len(set(c.members) & members)
        if tp:
            best = max(best, 2 * tp / (len(c.members) + len(members)))
    return best


def test_deterministic(demo, clusters, carrier):
    docs, _, _, vecs, index = demo
    again = discover_narratives(docs, vecs.copy(), index.copy(), carrier=carrier.copy())
    assert [c.members for c in again] == [c.members for c in clusters]
    assert [c.keywords for c in again] == [c.keywords for c in clusters]
    assert [c.headline for c in again] == [c.headline for c in clusters]


def test_demo_gate_recorded(demo, clusters):
    _, gold, _, _, _ = demo
    worst = min(_best_f1(clusters, m) for m in gold.values())
    assert worst >= GATES["demo_narrative_min_f1"] - 0.005


def test_demo_every_narrative_f1_08(demo, clusters):
    _, gold, _, _, _ = demo
    assert all(_best_f1(clusters, m) >= 0.8 for m in gold.values())


def test_members_do_not_depend_on_when_an_article_arrived(demo, clusters, carrier):
    """Every article the incremental rule would put in a narrative (as if it arrived after
    discovery) is a member of it; without that step some are not (the step is not idle)."""
    from dataclasses import replace

    from clustering.narratives import DEFAULT_PARAMS

    docs, _, _, vecs, index = demo
    rcs = np.stack([c.residual_centroid for c in clusters])
    later = assign_to_narratives(rcs, clusters[0].context, vecs, index, len(docs), carrier=carrier)
    for d, scores in enumerate(later):
        for k in scores:
            assert docs[d].article_id in clusters[k].members
    assert all(c.assigned <= set(c.members) for c in clusters)
    plain = discover_narratives(docs, vecs, index, replace(DEFAULT_PARAMS, complete_membership=False), carrier=carrier)
    assert sum(len(c.members) for c in plain) < sum(len(c.members) for c in clusters)
    assert {frozenset(set(c.members) - c.assigned) for c in clusters} == {frozenset(c.members) for c in plain}


@pytest.mark.xfail(reason="neutral/debunk coverage of E01-E03 is not yet separated from N1 carriers", strict=True)
def test_neutral_distractors_excluded_for_n1(demo, clusters):
    _, gold, gt, _, _ = demo
    n1 = gold["N1"]
    best = max(clusters, key=lambda c: len(set(c.members) & n1))
    distractors = {a["id"] for a in gt["articles"] if a["is_distractor"] and a["event"] in ("E01", "E02", "E03")}
    assert len(set(best.members) & distractors) <= 1


def test_labels_sane(clusters):
    assert clusters
    for c in clusters:
        assert c.keywords and len(c.keywords) <= 8
        assert all(k == k.lower() and not k.isdigit() for k in c.keywords)
        assert c.headline
        assert all(0.0 <= s <= 1.0 for s in c.members.values())
        assert abs(float(np.linalg.norm(c.centroid)) - 1.0) < 1e-3


def test_vaccine_narrative_labelled(demo, clusters):
    _, gold, _, _, _ = demo
    best = max(clusters, key=lambda c: len(set(c.members) & gold["N2"]))
    assert {"vaccine", "malaria", "fertility", "depopulation"} & set(best.keywords)


def test_keywords_ctfidf():
    texts = ["Vaccines cause depopulation in Africa, a vaccine plot", "The vaccine plot to depopulate Africa",
             "Football final won by the home side", "Gas prices rise in Europe as storage falls"]
    kw = keywords(texts[:2], texts, k=3)
    assert kw and "the" not in kw and all(("vaccine" in k or "africa" in k or "plot" in k) for k in kw)
    assert keywords([], texts) == []


def test_russian_function_words_are_not_keywords():
    """Rare in an English-heavy collection, they would top a Russian cluster's c-TF-IDF (the
    demo's moskovsky-telegraf narrative was once labelled "иг / не / где / под")."""
    ru = ["СВР заявила, что инструкторы не скрывают, где под видом учений готовят боевиков ИГ",
          "По словам СВР, инструкторы готовят боевиков ИГ там, где нет контроля, и это не секрет"]
    en = ["The EU adopted new sanctions on Russian gas", "Farmers protest climate rules in Brussels"] * 4
    words = set(" ".join(keywords(ru, ru + en, k=4)).split())  # bigrams included
    assert {"свр", "инструкторы", "боевиков"} <= words
    assert not words & {"не", "где", "под", "что", "это", "по", "словам"}


def test_representative_headline():
    v = np.eye(3, dtype=np.float32)
    assert representative_headline(["a", "b", "c"], v, np.array([0, 1, 0], dtype=np.float32)) == "b"
    assert representative_headline(["x", "y", "y"]) == "y"


def test_assign_to_narratives(demo, clusters):
    docs, _, _, vecs, index = demo
    rc = np.stack([c.residual_centroid for c in clusters])
    out = assign_to_narratives(rc, clusters[0].context, vecs, index, len(docs))
    assert len(out) == len(docs)
    k0 = set(clusters[0].members)
    hits = sum(1 for d, a in zip(docs, out) if d.article_id in k0 and 0 in a)
    assert hits >= 0.7 * len(k0)


def test_empty_and_tiny_inputs():
    assert discover_narratives([], np.zeros((0, 4), np.float32), np.zeros(0, np.int64)) == []
    docs = [DocInfo("a", "t", "x"), DocInfo("b", "u", "y")]
    v = np.eye(4, dtype=np.float32)[:2]
    assert discover_narratives(docs, v, np.array([0, 1])) == []


def test_no_carrier_no_narrative():
    # every doc below the carrier gate (neutral coverage): nothing to discover, and no error
    docs = [DocInfo(str(i), f"title {i}", "text", outlet=f"o{i}") for i in range(2)]
    vecs = np.eye(2, 8, dtype=np.float32)
    assert discover_narratives(docs, vecs, [0, 1], carrier=np.array([-50.0, -50.0])) == []


def test_headlines_come_from_articles_that_carry_the_narrative(demo, clusters):
    """The representative headline is chosen among the likelier carriers: on the demo web every
    planted narrative's headline is the title of one of its planted articles, not of a neutral
    report or a fact check of its events."""
    docs, gold, _, _, _ = demo
    title_of = {}
    for d in docs:
        title_of.setdefault(d.title, set()).add(d.article_id)
    for nid, members in gold.items():
        best = max(clusters, key=lambda c: len(set(c.members) & members))
        assert title_of[best.headline] & members, (nid, best.headline)


def test_claim_recurring_inside_a_chained_event_is_still_a_narrative(demo, carrier):
    """Event clustering can chain the recurring coverage of one topic into one event (the live demo
    merges E10-E12, March to May). The claim told around each of them recurs in time: split into
    episodes at publication gaps, N4 is still found; counted as one group, it would not be."""
    from dataclasses import replace

    from clustering.narratives import NarrativeParams

    docs, gold, _, vecs, index = demo
    chained = [replace(d, event_id="E10") if d.event_id in ("E10", "E11", "E12") else d for d in docs]
    with_episodes = discover_narratives(chained, vecs, index, carrier=carrier)
    one_group = discover_narratives(chained, vecs, index, carrier=carrier,
                                    params=NarrativeParams(episode_gap_days=None))
    assert _best_f1(with_episodes, gold["N4"]) >= 0.8
    assert _best_f1(one_group, gold["N4"]) < 0.5


def test_episodes_split_at_long_gaps_whatever_the_date_format():
    from clustering.narratives import _episodes

    stamps = ["2026-03-01T10:00:00Z", "2026-03-02", "2026-03-20T08:00:00+02:00", "2026-03-21T09:00:00",
              "not a date", None]
    docs = [DocInfo(str(i), "t", "x", event_id="E", published_at=s) for i, s in enumerate(stamps)]
    groups = _episodes(docs, ["e:E"] * len(docs), 7.0)
    assert groups[0] == groups[1] == "e:E"
    assert groups[2] == groups[3] == "e:E#1"
    assert groups[5] == "e:E"  # no date: stays in the event's group


def test_keyword_analysis_is_scikit_learns():
    """The pipeline counts terms without importing scikit-learn; the terms must stay those of the
    CountVectorizer analysis the keyword defaults were chosen with, stop list included."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    from clustering import labels
    from clustering.stopwords import ENGLISH

    assert ENGLISH == ENGLISH_STOP_WORDS
    vec = CountVectorizer(lowercase=True, token_pattern=labels.TOKEN_PATTERN, ngram_range=(1, 2),
                          stop_words=sorted(ENGLISH_STOP_WORDS | labels.EXTRA_STOP | labels.RUSSIAN_STOP))
    reference = vec.build_analyzer()
    texts = ["The EU's 21st sanctions package targets the shadow fleet -- and banks, said Mr. Borrell on Monday.",
             "U.S.-trained fighters at Al-Tanf: СВР заявила, что инструкторы не скрывают, где готовят боевиков",
             "Vaccines cause depopulation in Africa, a vaccine plot (2024)!", "", "a an the 42 x"]
    for text in texts:
        assert labels.analyze(text) == reference(text)
