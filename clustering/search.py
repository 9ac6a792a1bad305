"""Semantic search over articles and narratives (brute-force cosine over stored vectors)."""
from __future__ import annotations

import numpy as np
import sqlite_utils

from clustering.vectors import from_blob, stack


def load_doc_vectors(db: sqlite_utils.Database, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    rows = db.execute("SELECT article_id, vector FROM embeddings WHERE model_id = ? ORDER BY article_id",
                      [model_id]).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    dim = len(rows[0][1]) // 4
    return np.array([r[0] for r in rows], dtype=np.int64), stack((r[1] for r in rows), dim)


def search(db: sqlite_utils.Database, embedder, query: str, *, limit: int = 10) -> dict:
    """{'articles': [...], 'narratives': [...]} most similar to the free-text query."""
    q = embedder.embed([query])[0]
    ids, matrix = load_doc_vectors(db, embedder.model_id)
    articles = []
    if len(ids):
        scores = matrix @ q
        top = np.argsort(-scores, kind="stable")[:limit]
        by_id = {r["id"]: r for r in db.query(
            f"SELECT id, outlet, published_at, title, url FROM articles WHERE id IN ({','.join('?' * len(top))})",
            [int(ids[i]) for i in top])}
        articles = [dict(by_id[int(ids[i])], score=round(float(scores[i]), 4)) for i in top]
    narratives = []
    rows = list(db.query("SELECT id, label, keywords, article_count, centroid FROM narratives "
                         "WHERE status = 'active' AND model_id = ? AND centroid IS NOT NULL", [embedder.model_id]))
    if rows:
        scores = np.array([float(from_blob(r["centroid"]) @ q) for r in rows])
        for i in np.argsort(-scores, kind="stable")[:limit]:
            r = rows[int(i)]
            narratives.append({"id": r["id"], "label": r["label"], "articles": r["article_count"],
                               "score": round(float(scores[i]), 4)})
    return {"articles": articles, "narratives": narratives}
