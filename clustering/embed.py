"""The embed stage: articles -> a document vector and passage vectors, per model.

An article whose content hash is already embedded with the model is skipped, so the stage is
incremental and safe to re-run. Articles too short to embed, or in a language the model does
not cover, are recorded in `embed_skips` with the reason. Each batch is written in one
transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from clustering.events import article_texts
from clustering.languages import language_code, reads
from clustering.passages import split_passages
from clustering.vectors import to_blob
from db.migrations import utcnow

logger = logging.getLogger(__name__)

MIN_WORDS = 20  # shorter texts (cookie walls, captions) carry no event or claim
# The packaged default model is English-only; a backend may declare its own (`languages`, e.g.
# USE multilingual's 16); other models cover what their users say.
MODEL_LANGUAGES = {"sentence-transformers/all-MiniLM-L6-v2": {"en"}}


def model_languages(embedder) -> set[str] | None:
    """The languages an embedder reads (None: not known, every article is embedded)."""
    return getattr(embedder, "languages", None) or MODEL_LANGUAGES.get(embedder.model_id)


def doc_text(title: str | None, text: str | None) -> str:
    """What represents a whole article: title and lead, within the model's window (the events
    stage's lead channel; its title channel is passage 0, the title)."""
    return article_texts(title, text)[1]


@dataclass
class EmbedResult:
    embedded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    passages: int = 0
    model_id: str = ""
    precision: str = ""
    other_formats: list[str] = field(default_factory=list)  # the model's existing vectors in another format

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items())) or "none"
        fmt = f", {self.precision}" if self.precision else ""
        return f"embedded {self.embedded} articles ({self.passages} passages{fmt}); skipped: {skipped}"

    def mixing_note(self) -> str | None:
        """One line when this run added vectors beside the model's vectors of another format."""
        if not (self.embedded and self.other_formats):
            return None
        return (f"note: {self.model_id} now holds {self.precision} vectors beside {' and '.join(self.other_formats)} "
                f"ones; fp32 and bf16 vectors of one model agree to cosine >= 0.999, so they can be "
                f"compared (docs/processing.md: Embedding precision); set NARRATIVES_EMBED_PRECISION to keep one format")


def other_formats(db: sqlite_utils.Database, model_id: str, precision: str) -> list[str]:
    """Formats other than `precision` among the model's stored vectors (index seeks, no scan)."""
    candidates = [f for f in ("fp32", "bf16", "unknown") if f != precision]
    return [f for f in candidates if db.execute(
        "SELECT EXISTS (SELECT 1 FROM embeddings WHERE model_id = ? AND precision = ?)", [model_id, f]).fetchone()[0]]


def skip_reason(row: dict, languages: set[str] | None, min_words: int = MIN_WORDS) -> str | None:
    if len((row["text"] or "").split()) < min_words:
        return f"too short (< {min_words} words)"
    if not reads(row["language"], languages):
        return f"language '{language_code(row['language'])}' not covered by the model"
    return None


def pending_articles(db: sqlite_utils.Database, model_id: str, limit: int) -> list[dict]:
    """Articles without a current vector or skip record for this model (content hash changed counts).

    New and changed articles come from the `pending` queue (no full scan); a model never used on
    this database yet scans every article once."""
    if db.execute("SELECT 1 FROM embeddings WHERE model_id = ? LIMIT 1", [model_id]).fetchone():
        return list(db.query(
            """SELECT a.id, a.title, a.text, a.language, a.content_hash FROM pending p JOIN articles a ON a.id = p.article_id
               WHERE p.stage = 'embed' ORDER BY a.id LIMIT ?""", [limit]))
    return list(db.query(
        """
        SELECT a.id, a.title, a.text, a.language, a.content_hash FROM articles a
        WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = a.id AND e.model_id = :m
                          AND e.content_hash IS a.content_hash)
          AND NOT EXISTS (SELECT 1 FROM embed_skips s WHERE s.article_id = a.id AND s.model_id = :m
                          AND s.content_hash IS a.content_hash)
        ORDER BY a.id LIMIT :limit
        """,
        {"m": model_id, "limit": limit},
    ))


def _forward_already_embedded(db: sqlite_utils.Database, model_id: str) -> None:
    """Queued articles whose current text already has a vector (stored with their vectors, or
    re-queued without a change) skip embedding and go straight to the next stages."""
    done = """SELECT p.article_id FROM pending p JOIN articles a ON a.id = p.article_id
              JOIN embeddings e ON e.article_id = a.id AND e.model_id = ? AND e.content_hash IS a.content_hash
              WHERE p.stage = 'embed'"""
    with db.conn:
        for stage in ("events", "narratives", "watch"):
            db.execute(f"INSERT OR IGNORE INTO pending (stage, article_id) SELECT '{stage}', article_id FROM ({done})",
                       [model_id])
        db.execute(f"DELETE FROM pending WHERE stage = 'embed' AND article_id IN ({done})", [model_id])


def embed_articles(
    db: sqlite_utils.Database, embedder, *, batch: int = 64, languages: set[str] | None | str = "model",
    min_words: int = MIN_WORDS, progress: Callable[[EmbedResult], None] | None = None,
) -> EmbedResult:
    model_id = embedder.model_id
    precision = getattr(embedder, "precision", "unknown")
    if languages == "model":
        languages = model_languages(embedder)
    result = EmbedResult(model_id=model_id, precision=precision,
                         other_formats=other_formats(db, model_id, precision))
    _forward_already_embedded(db, model_id)
    while True:
        rows = pending_articles(db, model_id, batch)
        if not rows:
            break
        now = utcnow()
        todo, skips = [], []
        for row in rows:
            reason = skip_reason(row, languages, min_words)
            if reason:
                skips.append({"article_id": row["id"], "model_id": model_id, "content_hash": row["content_hash"],
                              "reason": reason, "created_at": now})
                result.skipped[reason.split(" (")[0]] = result.skipped.get(reason.split(" (")[0], 0) + 1
            else:
                todo.append(row)
        passage_lists = [split_passages(r["title"], r["text"]) for r in todo]
        flat = [p for ps in passage_lists for p in ps]
        # one call for leads and passages: the embedder's workers get all of the batch's texts
        # (sentence-transformers batches them by length, so long leads and short passages do not mix)
        both = embedder.embed([doc_text(r["title"], r["text"]) for r in todo] + flat) if todo else np.zeros((0, 0))
        docs, pvecs = both[:len(todo)], both[len(todo):]
        with db.conn:
            ids = [r["id"] for r in rows]
            marks = ",".join("?" * len(ids))
            db.execute(f"DELETE FROM pending WHERE stage = 'embed' AND article_id IN ({marks})", ids)
            db.execute("INSERT OR IGNORE INTO pending (stage, article_id) VALUES " + ", ".join(
                f"('{stage}', {int(r['id'])})" for r in todo for stage in ("events", "narratives", "watch")) if todo
                else "SELECT 1")
            for table in ("embeddings", "passages", "embed_skips"):
                db.execute(f"DELETE FROM {table} WHERE model_id = ? AND article_id IN ({marks})", [model_id, *ids])
            db["embed_skips"].insert_all(skips)
            db["embeddings"].insert_all(
                {"article_id": r["id"], "model_id": model_id, "content_hash": r["content_hash"], "dim": embedder.dim,
                 "vector": to_blob(v), "created_at": now, "precision": precision}
                for r, v in zip(todo, docs)
            )
            k = 0
            prow = []
            for r, ps in zip(todo, passage_lists):
                for i, text in enumerate(ps):
                    prow.append({"article_id": r["id"], "model_id": model_id, "idx": i, "text": text,
                                 "vector": to_blob(pvecs[k]), "precision": precision})
                    k += 1
            db["passages"].insert_all(prow)
        result.embedded += len(todo)
        result.passages += len(flat)
        if progress:
            progress(result)
    return result
