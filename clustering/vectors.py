"""Vectors in SQLite: float32 BLOBs, L2-normalised, so a dot product is the cosine."""
from __future__ import annotations

import numpy as np


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def stack(blobs, dim: int) -> np.ndarray:
    """One (n, dim) float32 matrix from n BLOBs, without a Python-level loop per element."""
    blobs = list(blobs)
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)


def stored_passages(db, model_id: str, article_ids: list[int]) -> dict[int, tuple[list[str], np.ndarray]]:
    """article id -> (passage texts, their (n, dim) vectors) stored in `model_id`'s space, in order."""
    out: dict[int, tuple[list[str], list[bytes]]] = {}
    for i in range(0, len(article_ids), 500):
        chunk = article_ids[i:i + 500]
        for aid, text, blob in db.execute(
                f"SELECT article_id, text, vector FROM passages WHERE model_id = ? AND article_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY article_id, idx", [model_id, *chunk]):
            texts, blobs = out.setdefault(aid, ([], []))
            texts.append(text)
            blobs.append(blob)
    return {aid: (texts, stack(blobs, len(blobs[0]) // 4)) for aid, (texts, blobs) in out.items()}


def normalize(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)
