"""Switching a database to another embedding model (`narratives switch-model`).

Vectors of two models cannot be compared, so every stage built on them is rebuilt with the new
model: every article is embedded again; events are rebuilt with the new model's event
parameters (clustering.events.params_for); narratives are discovered again and continue the old
model's narratives through lineage (an old narrative whose articles mostly land in one new
narrative keeps its id; the others are merged or retired); watched narratives are calibrated
again for the new model (a custom threshold, on the old model's scale, is cleared) and every
article re-scored; spread is recounted. The old model's vectors are deleted last.

Every step is idempotent: a switch that was interrupted is finished by running it again (or by
`narratives process`, which uses the model the database was switched to).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlite_utils

from clustering.embed import MIN_WORDS, EmbedResult, embed_articles
from clustering.embedding.spaces import spaces_of
from clustering.event_stage import drop_events
from clustering.pipeline import ProcessResult, process
from db.settings import EMBED_MODEL, get_setting, set_setting

logger = logging.getLogger(__name__)


@dataclass
class SwitchResult:
    model_id: str
    previous: list[str] = field(default_factory=list)  # the model ids replaced
    embed: EmbedResult = field(default_factory=EmbedResult)
    events_dropped: int = 0
    watches: list[dict] = field(default_factory=list)  # {"name", "cleared_threshold"} per watched narrative moved
    vectors_dropped: int = 0
    process: ProcessResult | None = None

    def summary(self) -> str:
        if not self.previous and self.process is None:
            return f"the database already uses {self.model_id}: nothing to switch"
        p = self.process
        lineage = p.narratives.lineage if p else {}
        kept = lineage.get("continued", 0)
        return (f"switched to {self.model_id} (from {', '.join(self.previous) or 'an interrupted switch'}): "
                f"{self.embed.summary()}; {p.events.assigned if p else 0} articles into "
                f"{p.events.new_events if p else 0} events; {p.narratives.active if p else 0} narratives "
                f"({kept} kept their ids, {lineage.get('merged', 0)} merged, {lineage.get('retired', 0)} retired, "
                f"{(p.narratives.active if p else 0) - kept} new); {len(self.watches)} watched narratives "
                f"re-calibrated; {self.vectors_dropped} old vectors deleted")


def other_models(db: sqlite_utils.Database, model_id: str, space_id: str | None = None,
                 keep: tuple[str, ...] = ()) -> list[str]:
    """Models other than `model_id` (events: `space_id`) that vectors (other than `keep`'s), events,
    narratives or watched narratives come from."""
    keep = tuple(keep) or (model_id,)
    marks = ",".join("?" * len(keep))
    return [r[0] for r in db.execute(
        f"""SELECT model_id FROM embeddings WHERE model_id NOT IN ({marks})
            UNION SELECT model_id FROM events WHERE model_id != ?
            UNION SELECT model_id FROM narratives WHERE status = 'active' AND model_id != ?
            UNION SELECT model_id FROM watched_narratives WHERE model_id != ? ORDER BY 1""",
        [*keep, space_id or model_id, model_id, model_id])]


def _queue_unembedded(db, model_id: str) -> None:
    """Every article without a current vector or skip record of the model is queued for embedding,
    so a switch interrupted halfway embeds the rest (the queue, not a full scan, drives `embed`)."""
    with db.conn:
        db.execute("""INSERT OR IGNORE INTO pending (stage, article_id)
            SELECT 'embed', a.id FROM articles a
            WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = a.id AND e.model_id = :m
                              AND e.content_hash IS a.content_hash)
              AND NOT EXISTS (SELECT 1 FROM embed_skips s WHERE s.article_id = a.id AND s.model_id = :m
                              AND s.content_hash IS a.content_hash)""", {"m": model_id})


def _drop_events(db, old: list[str], model_id: str) -> int:
    """The old models' events go (with their spread), and the translations they found; the new
    model's vectors queue for events."""
    dropped = drop_events(db, old, model_id)
    marks = ",".join("?" * len(old))
    with db.conn:
        db.execute(f"DELETE FROM translations WHERE model_id IN ({marks})", old)
        db.execute(f"DELETE FROM translation_checks WHERE model_id IN ({marks})", old)
    return dropped


def _move_watches(db, old: list[str], model_id: str) -> list[dict]:
    """Watched narratives of the old models move to the new one, to be calibrated and scored again."""
    marks = ",".join("?" * len(old))
    moved = []
    with db.conn:
        for row in db.query(f"SELECT id, name, threshold FROM watched_narratives WHERE model_id IN ({marks})", old):
            moved.append({"name": row["name"], "cleared_threshold": row["threshold"]})
            db.execute("DELETE FROM watch_matches WHERE watch_id = ?", [row["id"]])
            db.execute("""UPDATE watched_narratives SET model_id = ?, profile = NULL, threshold = NULL,
                          effective_threshold = NULL, rescore = 1 WHERE id = ?""", [model_id, row["id"]])
            db.execute("INSERT OR IGNORE INTO spread_stale (kind, subject_id) VALUES ('watch', ?)", [row["id"]])
    return moved


def _drop_vectors(db, old: list[str], english: str | None = None) -> int:
    """The old models' vectors go; an English space whose model was the old model keeps its
    leads and titles, and drops the rest (other passages, skip records)."""
    old = [m for m in old if m != english]
    marks = ",".join("?" * len(old))
    n = db.execute(f"SELECT count(*) FROM embeddings WHERE model_id IN ({marks})", old).fetchone()[0] if old else 0
    with db.conn:
        for table in ("passages", "embeddings", "embed_skips"):
            if old:
                db.execute(f"DELETE FROM {table} WHERE model_id IN ({marks})", old)
        if english:
            db.execute("DELETE FROM passages WHERE model_id = ? AND idx > 0", [english])
            db.execute("DELETE FROM embed_skips WHERE model_id = ?", [english])
    return n


def switch_model(db: sqlite_utils.Database, embedder, name: str, *, progress=None, judge=None, judge_progress=None,
                 min_words: int = MIN_WORDS) -> SwitchResult:
    """Make `embedder` (loaded from `name`; clustering.embedding.Spaces for two spaces) the
    database's model and rebuild everything on it. An English space whose model the database used
    alone before (all-MiniLM-L6-v2, the old default) keeps that model's leads and titles."""
    spaces = spaces_of(embedder)
    model_id = spaces.model_id
    english = spaces.english.model_id if spaces.english is not None else None
    result = SwitchResult(model_id=spaces.space_id,
                          previous=other_models(db, model_id, spaces.space_id, tuple(spaces.model_ids)))
    setting = get_setting(db, EMBED_MODEL)
    if (not result.previous and setting and (setting.get("space_id") or setting.get("model_id")) == spaces.space_id
            and not setting.get("switching")):
        return result
    # recorded first: an interrupted switch is finished by the next `process`, which uses this model
    set_setting(db, EMBED_MODEL, {"name": name, "model_id": model_id, "space_id": spaces.space_id, "switching": True,
                                  "previous": sorted(set(result.previous) | set((setting or {}).get("previous", [])))})
    _queue_unembedded(db, model_id)
    result.embed = embed_articles(db, spaces, progress=progress, min_words=min_words)
    if result.previous:
        result.events_dropped = _drop_events(db, result.previous, model_id)
        result.watches = _move_watches(db, result.previous, model_id)
    result.process = process(db, spaces, rediscover=True, min_words=min_words, judge=judge,
                             judge_progress=judge_progress, lineage_from=tuple(result.previous))
    if result.previous:
        result.vectors_dropped = _drop_vectors(db, result.previous, english)
    set_setting(db, EMBED_MODEL, {"name": name, "model_id": model_id, "space_id": spaces.space_id})
    logger.info("switched to %s", spaces.space_id)
    return result
