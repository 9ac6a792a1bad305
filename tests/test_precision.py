"""Embedding precision (issue #14): the setting, the CPU-flag choice, the format recorded per vector,
the migration of existing vectors and the one-line note when a model's vectors mix formats."""
from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import run_cli

pytest.importorskip("sentence_transformers")

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
WORDS = ("Officials said on Tuesday that the new harbour cranes would be installed before the summer "
         "season, after a long dispute over the contract with the port authority and two unions. ")


def test_setting_is_checked(monkeypatch):
    from clustering.embedding.base import configured_precision
    from clustering.errors import EmbeddingSettingError

    monkeypatch.delenv("NARRATIVES_EMBED_PRECISION", raising=False)
    assert configured_precision() == "auto"
    for value in ("fp32", "BF16", " auto "):
        monkeypatch.setenv("NARRATIVES_EMBED_PRECISION", value)
        assert configured_precision() == value.strip().lower()
    monkeypatch.setenv("NARRATIVES_EMBED_PRECISION", "fp16")
    with pytest.raises(EmbeddingSettingError, match="fp16"):
        configured_precision()


def test_bad_setting_is_a_usage_error(tmp_path):
    db = tmp_path / "x.db"
    assert run_cli("import", db, _jsonl(tmp_path / "a.jsonl", 1)).returncode == 0
    r = run_cli("embed", db, env={"NARRATIVES_EMBED_PRECISION": "int8"})
    assert r.returncode == 2
    assert "NARRATIVES_EMBED_PRECISION='int8'" in r.stderr and "auto, fp32, bf16" in r.stderr


def test_native_bf16_reads_the_cpu_flags(monkeypatch, tmp_path):
    import builtins

    from clustering.embedding import sentence_transformers as embedders

    real_open = builtins.open

    def fake_cpuinfo(flags):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 avx2 {flags}\n")
        return lambda f, *a, **k: real_open(path, *a, **k) if f == "/proc/cpuinfo" else real_open(f, *a, **k)

    for flags, expected in (("avx512f", None), ("avx512f avx512_bf16", "avx512_bf16"),
                            ("amx_tile amx_bf16 avx512_bf16", "amx_bf16")):
        monkeypatch.setattr(builtins, "open", fake_cpuinfo(flags))
        assert embedders.native_bf16() == expected


@pytest.fixture(scope="module")
def embedder():
    from clustering.embedding.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(precision="fp32")


def test_auto_takes_bf16_only_on_native_bf16_that_agrees(embedder, monkeypatch):
    from clustering.embedding import sentence_transformers as embedders

    monkeypatch.setattr(embedders, "native_bf16", lambda: None)
    monkeypatch.setattr(type(embedder), "agreement", lambda self: pytest.fail("no check without native bf16"))
    assert embedder._choose_precision("auto") == "fp32"
    assert embedder._choose_precision("bf16") == "bf16"  # forced: even where it is emulated
    monkeypatch.setattr(embedders, "native_bf16", lambda: "avx512_bf16")
    monkeypatch.setattr(type(embedder), "agreement", lambda self: 0.9999)
    assert embedder._choose_precision("auto") == "bf16"
    assert embedder._choose_precision("fp32") == "fp32"
    monkeypatch.setattr(type(embedder), "agreement", lambda self: 0.95)
    assert embedder._choose_precision("auto") == "fp32"


def test_agreement_check_on_the_real_model(embedder):
    """bf16 and fp32 vectors of the check set agree (this is what makes mixing them harmless)."""
    from clustering.embedding.sentence_transformers import BF16_MIN_COSINE

    assert embedder.agreement() >= BF16_MIN_COSINE
    assert embedder.bf16_agreement == embedder.agreement()


def _jsonl(path, n, start=0):
    rows = [{"url": f"http://127.0.0.1/a/{i}", "outlet": "harbour-news", "title": f"Harbour cranes, part {i}",
             "text": WORDS * 3 + f"Story number {i}.", "published_at": f"2026-01-{i + 1:02d}T08:00:00Z",
             "language": "en"} for i in range(start, start + n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _formats(db, table):
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute(f"SELECT precision, count(*) FROM {table} GROUP BY precision").fetchall())
    finally:
        conn.close()


def test_process_records_and_names_the_format_and_notes_a_mix(tmp_path):
    """The English space's model computes in the format asked (the shared USE model in int8 whatever
    is asked): each vector records its format, the summary names both, a mix is noted once."""
    db = tmp_path / "p.db"
    english = "sentence-transformers/all-MiniLM-L6-v2"
    assert run_cli("import", db, _jsonl(tmp_path / "a.jsonl", 3)).returncode == 0
    r = run_cli("process", db, env={"NARRATIVES_EMBED_PRECISION": "fp32"})
    assert r.returncode == 0, r.stderr
    assert "embedded 3 articles" in r.stdout and "int8; 3 English titles and leads, fp32" in r.stdout, r.stdout
    assert "note:" not in r.stderr
    assert _formats(db, "embeddings") == {"fp32": 3, "int8": 3}
    assert set(_formats(db, "passages")) == {"fp32", "int8"}

    assert run_cli("import", db, _jsonl(tmp_path / "b.jsonl", 2, start=3)).returncode == 0
    r = run_cli("process", db, env={"NARRATIVES_EMBED_PRECISION": "bf16"})
    assert r.returncode == 0, r.stderr
    assert "embedded 2 articles" in r.stdout and "2 English titles and leads, bf16" in r.stdout, r.stdout
    notes = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and f"{english} now holds bf16 vectors beside fp32" in notes[0], r.stderr
    assert _formats(db, "embeddings") == {"fp32": 3, "bf16": 2, "int8": 5}
    conn = sqlite3.connect(db)
    params = [json.loads(p) for (p,) in conn.execute("SELECT params FROM runs WHERE stage = 'process' ORDER BY id")]
    conn.close()
    assert [(p["precision"], p["english_precision"]) for p in params] == [("int8", "fp32"), ("int8", "bf16")]


def test_migration_fills_the_format_the_runs_logged(tmp_path):
    """A database from before m022: vectors made inside a logged `process` run take its format,
    the others (e.g. `narratives embed`, which logs no run) 'unknown'."""
    import sqlite_utils

    from db import migrations

    db = sqlite_utils.Database(tmp_path / "old.db")
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    upto = [fn for fn in migrations.MIGRATIONS if fn.__name__ < "m022"]
    for fn in upto:
        fn(db)
        db["_migrations"].insert({"name": fn.__name__, "applied_at": "2026-01-01T00:00:00Z"})
    db["outlets"].insert({"name": "o", "home": "http://127.0.0.1/"})
    for i in (1, 2, 3):
        db.execute("INSERT INTO articles (id, url, outlet, text) VALUES (?, ?, 'o', 'x')", [i, f"http://127.0.0.1/{i}"])
    db["runs"].insert({"id": 1, "stage": "process", "started_at": "2026-05-01T10:00:00Z",
                       "finished_at": "2026-05-01T10:05:00Z", "params": json.dumps({"model_id": MODEL, "precision": "bf16"})})
    for aid, created in ((1, "2026-05-01T10:02:00Z"), (2, "2026-05-02T00:00:00Z")):
        db["embeddings"].insert({"article_id": aid, "model_id": MODEL, "content_hash": "h", "dim": 2, "vector": b"",
                                 "created_at": created})
        db["passages"].insert({"article_id": aid, "model_id": MODEL, "idx": 0, "text": "t", "vector": b""})
    db.conn.commit()
    assert "m022_vector_precision" in migrations.migrate(db)
    assert dict(db.execute("SELECT article_id, precision FROM embeddings").fetchall()) == {1: "bf16", 2: "unknown"}
    assert dict(db.execute("SELECT article_id, precision FROM passages").fetchall()) == {1: "bf16", 2: "unknown"}
