"""Quality gate: event clustering on giveme5w1h-newscluster must not regress.

All 383 articles streamed in date_publish order with the shipped defaults
(clustering.events.DEFAULT_PARAMS). Fails when BCubed F1 falls more than TOLERANCE below
bench/quality_gates.json "events_bcubed_f1", or below the issue's floor 0.94. Skips when the
shared data folder or the embedding model is absent. Embeddings come from the benchmark disk
cache (bench.embedding_cache), so a re-run takes seconds.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

TOLERANCE = 0.005
FLOOR = 0.94
GATES = json.loads((Path(__file__).resolve().parent.parent / "bench" / "quality_gates.json").read_text())

pytestmark = pytest.mark.slow


def test_events_bcubed_f1_gate():
    from bench.eval_events import embed_articles, load_giveme, score_params
    from clustering.events import DEFAULT_PARAMS

    articles = load_giveme()
    if articles is None:
        pytest.skip("../shared/data/giveme5w1h-newscluster absent (set NARRATIVES_SHARED_DATA to run the gate)")
    pytest.importorskip("sentence_transformers")
    from clustering.errors import ModelNotAvailableError
    try:
        vecs = embed_articles(articles)
    except ModelNotAvailableError as exc:
        pytest.skip(str(exc))
    assert len(articles) == 383
    s = score_params(articles, vecs, DEFAULT_PARAMS)
    recorded = GATES["events_bcubed_f1"]
    assert s["bcubed_f1"] >= recorded - TOLERANCE, f"BCubed F1 {s['bcubed_f1']:.4f} fell below recorded {recorded:.4f} ({s})"
    assert s["bcubed_f1"] >= FLOOR, f"BCubed F1 {s['bcubed_f1']:.4f} below the floor {FLOOR} ({s})"
