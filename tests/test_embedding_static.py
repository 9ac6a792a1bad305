"""The static first pass (clustering/embedding/static_use.py): the shipped table, distilled from USE;
cross-lingual vectors at a fraction of USE's cost; the pipeline embeds Russian with it."""
import json
import sqlite3

import numpy as np
import pytest

from clustering.embedding import load_embedder
from clustering.embedding.static_use import DIR_ENV, MODEL_DIR, MODEL_ID, StaticUseEmbedder, model_dir
from clustering.errors import ModelNotAvailableError
from tests.test_embedding_use import EN, RU, embed_three_languages


@pytest.fixture(scope="module")
def static():
    return load_embedder("use-static")


def test_the_shipped_table_records_its_teacher_license_and_fit():
    meta = json.loads((model_dir() / "meta.json").read_text())
    assert meta["model_id"] == MODEL_ID and meta["teacher"] == "use-multilingual-v3-int8"
    assert "Apache-2.0" in meta["license"]
    # the fit moved the sum of a held-out passage's pieces toward USE's vector of the passage
    fit = meta["held_out_cosine_to_teacher"]
    assert fit["after_fit"] >= 0.8 > fit["before_fit"]
    size = sum(p.stat().st_size for p in model_dir().iterdir())
    assert size <= 30e6, size  # the cap on weights in the repository


def test_vectors_are_normalised_and_a_function_of_the_text_alone(static):
    assert isinstance(static, StaticUseEmbedder) and static.model_id == MODEL_ID and static.precision == "fp32"
    v = static.embed(EN + [""])
    assert v.shape == (4, static.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5) and not v[3].any()
    assert np.array_equal(static.embed([EN[2], EN[0]])[1], v[0])
    assert static.count_tokens(EN[0]) >= len(EN[0].split())


def test_a_translation_is_nearer_than_any_other_text(static):
    en, ru = static.embed(EN), static.embed(RU)
    sims = ru @ en.T
    for i in range(len(RU)):
        assert sims[i].argmax() == i, sims
        assert sims[i, i] - np.delete(sims[i], i).max() > 0.2, sims


def test_it_points_where_use_points(static):
    # the distillation's aim, checked on texts it was not fitted on: per text, the static
    # model's similarities to the others order them as USE's do
    use = load_embedder("use-multilingual-v3")
    texts = EN + RU
    s, u = static.embed(texts), use.embed(texts)
    s_sims, u_sims = s @ s.T, u @ u.T
    for i in range(len(texts)):
        others = [j for j in range(len(texts)) if j != i]
        assert s_sims[i, others].argmax() == u_sims[i, others].argmax(), (i, s_sims, u_sims)


def test_a_missing_or_broken_table_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    with pytest.raises(ModelNotAvailableError, match="bench.train_static"):
        StaticUseEmbedder()
    (tmp_path / "meta.json").write_text("{}")
    (tmp_path / "tokenizer.model").write_bytes((MODEL_DIR / "tokenizer.model").read_bytes())
    np.savez(tmp_path / "table.npz", q=np.zeros((10, 4), np.int8), scale=np.ones(10, np.float32))
    with pytest.raises(ModelNotAvailableError, match="disagree"):
        StaticUseEmbedder()


def test_embed_covers_russian_and_records_the_model(tmp_path):
    r, db = embed_three_languages(tmp_path, "use-static")
    assert "embedded 2 articles" in r.stdout, r.stdout
    conn = sqlite3.connect(db)
    assert {m for (m,) in conn.execute("SELECT DISTINCT model_id FROM embeddings")} == {MODEL_ID}
    assert dict(conn.execute("SELECT article_id, reason FROM embed_skips WHERE model_id = ?", [MODEL_ID])
                .fetchall()) == {3: "language 'bg' not covered by the model"}
