"""A disk cache of embeddings for benchmarks, so re-running an evaluation does not re-embed.

Keyed by model id and the SHA-1 of the text; stored in one SQLite file under the temp dir.
"""
from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from pathlib import Path

import numpy as np

from clustering.embedding import load_embedder

CACHE = Path(tempfile.gettempdir()) / "narratives-embedding-cache.sqlite"


def configured_languages() -> set[str] | None:
    """The languages the configured embedding model reads (None: every language): the demo
    articles a benchmark of that model scores (the others it would not embed)."""
    from clustering.embed import model_languages

    return model_languages(load_embedder())


def _key(model_id: str, text: str) -> str:
    return hashlib.sha1(f"{model_id}\x00{text}".encode("utf-8")).hexdigest()


def cached_embed(texts: list[str], model: str | None = None, precision: str | None = None) -> np.ndarray:
    embedder = load_embedder(model, precision)
    conn = sqlite3.connect(CACHE, timeout=60)
    conn.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")
    keys = [_key(f"{embedder.model_id}/{embedder.precision}", t) for t in texts]
    found: dict[str, bytes] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        found.update(conn.execute(f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(chunk))})", chunk))
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        vecs = embedder.embed([texts[i] for i in missing])
        with conn:
            conn.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)",
                             [(keys[i], v.astype(np.float32).tobytes()) for i, v in zip(missing, vecs)])
        for i, v in zip(missing, vecs):
            found[keys[i]] = v.astype(np.float32).tobytes()
    conn.close()
    return np.frombuffer(b"".join(found[k] for k in keys), dtype=np.float32).reshape(len(texts), embedder.dim).copy()
