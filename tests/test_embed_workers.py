"""Embedding on several cores (clustering/embedding/pool.py) with the real packaged model: the
vectors are bitwise those one single-threaded process computes; small calls stay in-process."""
import numpy as np
import pytest

from clustering.embedding import pool as embed_workers


@pytest.fixture(scope="module")
def embedders():
    pytest.importorskip("sentence_transformers")
    from clustering.embedding.sentence_transformers import SentenceTransformerEmbedder
    from clustering.errors import ModelNotAvailableError

    try:
        single = SentenceTransformerEmbedder(threads=1)
    except ModelNotAvailableError as exc:
        pytest.skip(f"embedding model not available: {exc}")
    pooled = embed_workers.PooledEmbedder(SentenceTransformerEmbedder(threads=1), workers=2, start_after_texts=0)
    yield single, pooled
    pooled.close()


def _texts(n):
    # varied lengths, so that the length order and the batches matter; repeats, as syndication makes
    words = "sanctions farmers vaccine militants storage emissions training camp winter gas".split()
    out = [" ".join(words[(i * 7 + j) % len(words)] for j in range(3 + (i * 13) % 40)) + f" {i}." for i in range(n)]
    return out + out[:25]


def test_pooled_vectors_are_bitwise_the_single_process_ones(embedders):
    single, pooled = embedders
    texts = _texts(300)
    a = single.embed(texts)
    b = pooled.embed(texts)
    assert b.shape == (len(texts), single.dim)
    assert np.array_equal(a, b)
    assert pooled.worker_cpu_s > 0  # the workers did the work
    assert pooled._pool is not None


def test_batches_cover_every_text_once(embedders):
    single, _ = embedders
    texts = list(dict.fromkeys(_texts(100)))
    batches = single.batches(texts)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(texts)))
    assert all(len(b) <= single.batch_size for b in batches)


def test_small_calls_and_short_runs_stay_in_process(embedders):
    single, _ = embedders
    pooled = embed_workers.PooledEmbedder(single, workers=2, start_after_texts=0)
    v = pooled.embed(_texts(20))  # fewer than MIN_POOLED_BATCHES batches
    assert pooled._pool is None and pooled.worker_cpu_s == 0
    assert np.array_equal(v, single.embed(_texts(20)))
    assert pooled.embed([]).shape[0] == 0
    short = embed_workers.PooledEmbedder(single, workers=2, start_after_texts=500)
    short.embed(_texts(300))  # a short run: starting workers would cost more than it saves
    assert short._pool is None and short._in_process == 300
    try:
        short.embed(_texts(250))  # 300 + 250 distinct texts reach 500: this call goes to the workers
        assert short._pool is not None and short.worker_cpu_s > 0
        short.restart()  # as a new process: the next short run stays in-process again
        short.embed(_texts(300))
        assert short._pool is None and short._in_process == 300
    finally:
        short.close()


def test_workers_setting(monkeypatch):
    monkeypatch.setenv("NARRATIVES_EMBED_WORKERS", "3")
    assert embed_workers.configured_workers() == 3
    monkeypatch.setenv("NARRATIVES_EMBED_WORKERS", "auto")
    assert 1 <= embed_workers.configured_workers() <= embed_workers.MAX_AUTO_WORKERS
    monkeypatch.setenv("NARRATIVES_EMBED_WORKERS", "many")
    with pytest.raises(ValueError, match="NARRATIVES_EMBED_WORKERS"):
        embed_workers.configured_workers()


def test_multilingual_model_pooled_vectors_are_bitwise_the_single_process_ones():
    from clustering.embedding.use_onnx import UseOnnxEmbedder, onnx_path

    if not onnx_path().is_file():
        pytest.skip("USE multilingual model not installed: run `make install`")
    single = UseOnnxEmbedder(threads=1)
    pooled = embed_workers.PooledEmbedder(UseOnnxEmbedder(threads=1), workers=2, start_after_texts=0)
    try:
        texts = _texts(300) + ["Служба внешней разведки заявила во вторник о подготовке боевиков."]
        a = single.embed(texts)
        b = pooled.embed(texts)
        assert np.array_equal(a, b)
        assert pooled.worker_cpu_s > 0 and pooled._pool is not None
    finally:
        pooled.close()
