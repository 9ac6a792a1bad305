"""The multilingual first-pass backend (clustering/embedding/use_onnx.py): the real int8 ONNX model
that `make` installs, pinned by hash; cross-lingual vectors; Russian articles embedded."""
import json
import sqlite3

import numpy as np
import pytest

from clustering.embedding import load_embedder
from clustering.embedding.use_onnx import ONNX_ENV, UseOnnxEmbedder, onnx_path
from clustering.errors import ModelNotAvailableError
from tests.conftest import run_cli

if not onnx_path().is_file():
    pytest.skip(f"USE multilingual model not installed at {onnx_path()}: run `make install`", allow_module_level=True)

# written for this test: three English sentences, the first two also in Russian
EN = ["Intelligence officials say foreign instructors are training militants at a desert base.",
      "Farmers drove hundreds of tractors into the capital to protest against new emission rules.",
      "The home side won the cup final with a late goal in extra time."]
RU = ["Представители разведки заявляют, что иностранные инструкторы обучают боевиков на базе в пустыне.",
      "Фермеры пригнали сотни тракторов в столицу в знак протеста против новых правил о выбросах."]


def three_language_jsonl(tmp_path):
    """An import file of three articles: English, Russian, and Bulgarian (outside USE's languages)."""
    src = tmp_path / "in.jsonl"
    rows = [
        {"url": "https://a.example/1", "outlet": "a", "title": "Desert base", "text": " ".join(EN[:2] * 4), "language": "en"},
        {"url": "https://b.example/1", "outlet": "b", "title": "База в пустыне", "text": " ".join(RU * 4), "language": "ru"},
        {"url": "https://c.example/1", "outlet": "c", "title": "Бюджет", "text": "Съветът прие бюджета след дълъг дебат. " * 8,
         "language": "bg"},
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    return src


def embed_three_languages(tmp_path, model: str):
    """Those three articles imported into a new database and embedded with `model` through the
    CLI: (the embed command's result, the database path)."""
    db = tmp_path / "three.db"
    assert run_cli("import", db, three_language_jsonl(tmp_path)).returncode == 0
    r = run_cli("embed", db, "--model", model)
    assert r.returncode == 0, r.stderr
    return r, db


@pytest.fixture(scope="module")
def use():
    return load_embedder("use-multilingual-v3")


def test_vectors_are_normalised_and_a_function_of_the_text_alone(use):
    # with NARRATIVES_EMBED_WORKERS >= 2 the backend comes inside the worker pool (same vectors)
    assert isinstance(getattr(use, "inner", use), UseOnnxEmbedder) and use.dim == 512 and use.precision == "int8"
    v = use.embed(EN)
    assert v.shape == (3, 512) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # a text's vector does not move with what else is in the call (the graph does not mask padding)
    alone = use.embed([EN[0]])[0]
    assert np.array_equal(alone, v[0])
    assert np.array_equal(use.embed([EN[2], EN[0]])[1], alone)


def test_a_translation_is_nearer_than_any_other_text(use):
    en, ru = use.embed(EN), use.embed(RU)
    sims = ru @ en.T
    for i in range(len(RU)):
        assert sims[i].argmax() == i, sims
        assert sims[i, i] > 0.6 and sims[i, i] - np.delete(sims[i], i).max() > 0.3, sims


def test_a_file_other_than_the_pinned_model_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    monkeypatch.setenv(ONNX_ENV, str(fake))
    with pytest.raises(ModelNotAvailableError, match="not the pinned"):
        UseOnnxEmbedder()
    monkeypatch.setenv(ONNX_ENV, str(tmp_path / "absent.onnx"))
    with pytest.raises(ModelNotAvailableError, match="make install"):
        UseOnnxEmbedder()


def test_embed_covers_russian_with_use_and_skips_it_with_the_english_model(tmp_path):
    r, db = embed_three_languages(tmp_path, "use-multilingual-v3")
    assert "embedded 2 articles" in r.stdout and "int8" in r.stdout, r.stdout
    conn = sqlite3.connect(db)
    assert dict(conn.execute("SELECT article_id, reason FROM embed_skips WHERE model_id = 'use-multilingual-v3-int8'")
                .fetchall()) == {3: "language 'bg' not covered by the model"}
    # the database now uses USE: the English model is refused on it, and on its own database skips Russian
    r = run_cli("embed", db, "--model", "all-MiniLM-L6-v2")
    assert r.returncode == 2 and "switch-model" in r.stderr, r.stderr
    db2 = tmp_path / "en.db"
    assert run_cli("import", db2, three_language_jsonl(tmp_path)).returncode == 0
    r = run_cli("embed", db2, "--model", "all-MiniLM-L6-v2")
    assert r.returncode == 0, r.stderr
    assert "embedded 1 articles" in r.stdout, r.stdout
    # the default reads both in its shared space, and the English one in its English space too
    db3 = tmp_path / "default.db"
    assert run_cli("import", db3, three_language_jsonl(tmp_path)).returncode == 0
    r = run_cli("embed", db3)
    assert r.returncode == 0, r.stderr
    assert "embedded 2 articles" in r.stdout and "1 English titles and leads" in r.stdout, r.stdout
    conn = sqlite3.connect(db3)
    assert dict(conn.execute("SELECT model_id, count(*) FROM embeddings GROUP BY 1").fetchall()) == {
        "use-multilingual-v3-int8": 2, "sentence-transformers/all-MiniLM-L6-v2": 1}
