"""The embed stage: articles -> a document vector and passage vectors, per space.

In the shared space (clustering/embedding/spaces.py) every article gets a lead vector and passage
vectors; in the English space, when the database has one, every English article gets its lead and
title vectors (the title stored as passage 0, where the events stage reads a title). An article
whose content hash is already embedded with the model is skipped, so the stage is incremental and
safe to re-run. Articles too short to embed, or in a language the shared model does not cover, are
recorded in `embed_skips` with the reason. Each batch is written in one transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from clustering.embedding.spaces import ENGLISH, spaces_of
from clustering.events import article_texts
from clustering.languages import language_code, reads
from clustering.passages import split_passages
from clustering.vectors import to_blob
from db.migrations import utcnow
from db.settings import ENGLISH_SPACE, get_setting, set_setting

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
    english: int = 0  # articles given English-space vectors (title and lead)
    english_precision: str = ""  # their number format
    english_model_id: str = ""
    english_other_formats: list[str] = field(default_factory=list)

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items())) or "none"
        fmt = f", {self.precision}" if self.precision else ""
        en = f"; {self.english} English titles and leads, {self.english_precision}" if self.english else ""
        return f"embedded {self.embedded} articles ({self.passages} passages{fmt}{en}); skipped: {skipped}"

    def mixing_note(self) -> str | None:
        """One line when this run added vectors beside a model's vectors of another format."""
        mixed = [(m, f, o) for m, f, o, n in ((self.model_id, self.precision, self.other_formats, self.embedded),
                                               (self.english_model_id, self.english_precision,
                                                self.english_other_formats, self.english)) if n and o]
        if not mixed:
            return None
        held = "; ".join(f"{m} now holds {f} vectors beside {' and '.join(o)} ones" for m, f, o in mixed)
        return (f"note: {held}; fp32 and bf16 vectors of one model agree to cosine >= 0.999, so they can be "
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
    """Embed what is queued in every space of `embedder` (an embedder or clustering.embedding.Spaces)."""
    spaces = spaces_of(embedder)
    shared, english = spaces.shared, spaces.english
    model_id = shared.model_id
    precision = getattr(shared, "precision", "unknown")
    if languages == "model":
        languages = model_languages(shared)
    result = EmbedResult(model_id=model_id, precision=precision,
                         other_formats=other_formats(db, model_id, precision),
                         english_precision=english.precision if english is not None else "",
                         english_model_id=english.model_id if english is not None else "",
                         english_other_formats=other_formats(db, english.model_id, english.precision)
                         if english is not None else [])
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
        both = shared.embed([doc_text(r["title"], r["text"]) for r in todo] + flat) if todo else np.zeros((0, 0))
        docs, pvecs = both[:len(todo)], both[len(todo):]
        if english is not None:  # English vectors of the current text are kept (a switch from the English model)
            current = _current(db, english.model_id, rows)
            english_rows = english_vectors(english, [r for r in todo if r["id"] not in current])
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
                {"article_id": r["id"], "model_id": model_id, "content_hash": r["content_hash"], "dim": shared.dim,
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
            if english is not None:
                _store_english(db, english, [i for i in ids if i not in current], english_rows, now)
        result.embedded += len(todo)
        result.passages += len(flat)
        result.english += len(english_rows) if english is not None else 0
        if progress:
            progress(result)
    if english is not None:
        result.english += embed_english(db, english, model_id)
    return result


def _current(db, model_id: str, rows: list[dict]) -> set[int]:
    """Ids of `rows` that already have a vector of `model_id` for their current text."""
    hashes = {r["id"]: r["content_hash"] for r in rows}
    found = db.execute(f"SELECT article_id, content_hash FROM embeddings WHERE model_id = ? AND article_id IN "
                       f"({','.join('?' * len(hashes))})", [model_id, *hashes]).fetchall() if hashes else []
    return {aid for aid, h in found if h == hashes[aid]}


def reads_english(language: str | None) -> bool:
    """Whether the English space reads an article of `language` (unknown languages are tried)."""
    return reads(language, {ENGLISH})


def english_vectors(english, rows: list[dict]) -> list[tuple[dict, np.ndarray, np.ndarray | None]]:
    """(row, lead vector, title vector or None) in the English space for the English ones of `rows`:
    the lead as the shared space reads it, the title as passage 0 would be (the events stage's
    title channel); one embed call for both."""
    mine = [r for r in rows if reads_english(r["language"])]
    if not mine:
        return []
    titles = [(r["title"] or "").strip() for r in mine]
    with_title = [t for t in titles if t]
    vecs = english.embed([doc_text(r["title"], r["text"]) for r in mine] + with_title)
    out, k = [], len(mine)
    for i, (r, t) in enumerate(zip(mine, titles)):
        out.append((r, vecs[i], vecs[k] if t else None))
        k += 1 if t else 0
    return out


def _store_english(db, english, ids: list[int], rows: list[tuple[dict, np.ndarray, np.ndarray | None]], now: str):
    """Replace the English-space vectors of articles `ids` by `rows` (inside the caller's transaction)."""
    model_id, precision = english.model_id, getattr(english, "precision", "unknown")
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    for table in ("embeddings", "passages"):
        db.execute(f"DELETE FROM {table} WHERE model_id = ? AND article_id IN ({marks})", [model_id, *ids])
    db["embeddings"].insert_all(
        {"article_id": r["id"], "model_id": model_id, "content_hash": r["content_hash"], "dim": english.dim,
         "vector": to_blob(lead), "created_at": now, "precision": precision} for r, lead, _ in rows)
    db["passages"].insert_all(
        {"article_id": r["id"], "model_id": model_id, "idx": 0, "text": (r["title"] or "").strip(),
         "vector": to_blob(title), "precision": precision} for r, _, title in rows if title is not None)


def english_space_due(db: sqlite_utils.Database, english_id: str | None) -> bool:
    """Whether articles embedded before the English space `english_id` came may still lack its
    vectors: true until `embed_english` has scanned them once (a database moved to two spaces, or
    one whose scan was interrupted)."""
    return english_id is not None and get_setting(db, ENGLISH_SPACE) != english_id


def embed_english(db: sqlite_utils.Database, english, shared_model_id: str, batch: int = 64) -> int:
    """English articles with a current shared-space vector and no current one in the English
    space: embedded now. Scans once per English model (recorded in `settings`: a database of no
    English article is not scanned again); after that the queue (`embed_articles`) keeps both
    spaces in step. Returns the articles embedded."""
    if not english_space_due(db, english.model_id):
        return 0
    done, last = 0, 0
    while True:
        rows = list(db.query(
            """SELECT a.id, a.title, a.text, a.language, a.content_hash FROM embeddings e JOIN articles a ON a.id = e.article_id
               WHERE e.model_id = :m AND e.content_hash IS a.content_hash AND a.id > :last
                 AND NOT EXISTS (SELECT 1 FROM embeddings x WHERE x.article_id = a.id AND x.model_id = :en
                                 AND x.content_hash IS a.content_hash)
               ORDER BY a.id LIMIT :batch""",
            {"m": shared_model_id, "last": last, "en": english.model_id, "batch": batch}))
        if not rows:
            set_setting(db, ENGLISH_SPACE, english.model_id)
            return done
        last = rows[-1]["id"]
        vecs = english_vectors(english, rows)
        if vecs:
            with db.conn:
                _store_english(db, english, [r["id"] for r, _, _ in vecs], vecs, utcnow())
        done += len(vecs)
