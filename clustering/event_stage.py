"""The events stage in the database: new embedded articles -> events, without revisiting history.

Only events still joinable (last article within the decay horizon of the oldest pending article)
are loaded, so the cost per new article stays flat as the database grows. Event state (per
channel sums of member vectors) is stored in `events.state`, so a later run continues exactly
where this one stopped.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import sqlite_utils

from clustering.embed import model_languages
from clustering.embedding.spaces import spaces_of
from clustering.errors import EmbeddingSettingError
from clustering.events import (DEFAULT_PARAMS, LEAD, EventParams, EventState, assign_events, event_channels,
                               extra_channels, tiered_channels, to_timestamp)
from clustering.spread_stage import clear_subject
from clustering.vectors import from_blob, normalize, to_blob
from db.settings import get_setting, set_setting

logger = logging.getLogger(__name__)

METHOD = "online-time-decay"
EVENT_SPACE = "event_space"  # setting: {"model_id", **EventParams.space} the stored events were built in
LEGACY_SPACE = {"channels": 2, "center": "", "title_model": "", "lexical": ""}  # events stored before the setting existed


@dataclass
class EventStageResult:
    assigned: int = 0
    new_events: int = 0
    touched: set[int] = field(default_factory=set)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pending(db: sqlite_utils.Database, model_id: str, limit: int, english_id: str | None = None) -> list[dict]:
    """Queued articles with their shared-space lead and title vectors, and (`english_id`) their
    English-space lead and title vectors where they have them."""
    english = """, (SELECT x.vector FROM embeddings x WHERE x.article_id = a.id AND x.model_id = :en) AS en_lead,
                  (SELECT p.vector FROM passages p WHERE p.article_id = a.id AND p.model_id = :en AND p.idx = 0)
                    AS en_title""" if english_id else ""
    return list(db.query(
        f"""
        SELECT a.id, a.title, a.text, a.language, coalesce(a.published_at, a.fetched_at) AS time, e.vector AS lead,
               (SELECT p.vector FROM passages p WHERE p.article_id = a.id AND p.model_id = e.model_id AND p.idx = 0)
                 AS title_vector {english}
        FROM pending q JOIN embeddings e ON e.article_id = q.article_id JOIN articles a ON a.id = e.article_id
        WHERE q.stage = 'events' AND e.model_id = :m
          AND NOT EXISTS (SELECT 1 FROM event_memberships m WHERE m.article_id = a.id)
        ORDER BY coalesce(a.published_at, a.fetched_at), a.id LIMIT :limit
        """, {"m": model_id, "limit": limit, "en": english_id}))


def _load_state(db, model_id: str, since_ts: float, dim: int, params: EventParams) -> EventState:
    horizon = params.horizon_days * 86400.0
    floor = iso(since_ts - horizon) if np.isfinite(horizon) else "0000"
    rows = []
    for r in db.query("SELECT id, article_count, first_at, last_at, state FROM events "
                      "WHERE model_id = ? AND last_at >= ? ORDER BY id", [model_id, floor]):
        rows.append((r["id"], r["article_count"], to_timestamp(r["first_at"]), to_timestamp(r["last_at"]),
                     from_blob(r["state"]).reshape(len(params.weights), dim)))
    next_id = (db.execute("SELECT max(id) FROM events").fetchone()[0] or 0) + 1
    return EventState.from_rows(rows, dim, len(params.weights), params, next_id=next_id)


def _count_outlets(db, uncounted: list[int], articles: list[int], events: list[int]) -> None:
    """outlet_count of `events`: their distinct outlets (event_outlets) gain the outlets of the new
    member `articles`; the `uncounted` ones are counted from all their members."""
    for i in range(0, len(uncounted), 500):
        chunk = uncounted[i:i + 500]
        db.execute(f"""INSERT OR IGNORE INTO event_outlets SELECT m.event_id, a.outlet FROM event_memberships m
                       JOIN articles a ON a.id = m.article_id WHERE m.event_id IN ({','.join('?' * len(chunk))})""",
                   chunk)
    for i in range(0, len(articles), 500):
        chunk = articles[i:i + 500]
        db.execute(f"""INSERT OR IGNORE INTO event_outlets SELECT m.event_id, a.outlet FROM event_memberships m
                       JOIN articles a ON a.id = m.article_id WHERE m.article_id IN ({','.join('?' * len(chunk))})""",
                   chunk)
    for i in range(0, len(events), 500):
        chunk = events[i:i + 500]
        db.execute(f"""UPDATE events SET outlet_count = (SELECT count(*) FROM event_outlets o WHERE o.event_id = events.id)
                       WHERE id IN ({','.join('?' * len(chunk))})""", chunk)


def drop_events(db: sqlite_utils.Database, models: list[str], requeue_model: str) -> int:
    """The events of `models` go (with their spread); every article with a vector of
    `requeue_model` is queued for events again. Returns the number of events dropped."""
    marks = ",".join("?" * len(models))
    ids = [r[0] for r in db.execute(f"SELECT id FROM events WHERE model_id IN ({marks})", models)]
    with db.conn:
        for eid in ids:
            clear_subject(db, "event", eid)
        for table in ("event_memberships", "event_outlets"):
            db.execute(f"DELETE FROM {table} WHERE event_id IN (SELECT id FROM events WHERE model_id IN ({marks}))",
                       models)
        db.execute(f"DELETE FROM spread_stale WHERE kind = 'event' AND subject_id IN "
                   f"(SELECT id FROM events WHERE model_id IN ({marks}))", models)
        db.execute(f"DELETE FROM events WHERE model_id IN ({marks})", models)
        db.execute("""INSERT OR IGNORE INTO pending (stage, article_id) SELECT 'events', e.article_id FROM embeddings e
                      WHERE e.model_id = ? AND NOT EXISTS (SELECT 1 FROM event_memberships m
                                                           WHERE m.article_id = e.article_id)""", [requeue_model])
    return len(ids)


def event_space_changed(db: sqlite_utils.Database, model_id: str, params: EventParams) -> bool:
    """Whether the model's stored events were built in another event space than `params` gives
    (another centre, title model or channel count): their sums cannot take new articles."""
    stored = get_setting(db, EVENT_SPACE)
    if stored is None or stored.get("model_id") != model_id:
        if not db.execute("SELECT EXISTS (SELECT 1 FROM events WHERE model_id = ?)", [model_id]).fetchone()[0]:
            return False
        stored = {"model_id": model_id, **LEGACY_SPACE}
    return {k: stored.get(k, LEGACY_SPACE.get(k)) for k in params.space} != params.space


def rebuild_if_space_changed(db: sqlite_utils.Database, model_id: str, params: EventParams,
                             requeue_model: str | None = None) -> int:
    """Drop the events of `model_id` (a space id) when they were built in another event space
    (every article with a vector of `requeue_model`, default `model_id`, is then queued for events
    again), and record the current space. Returns the events dropped."""
    dropped = 0
    if event_space_changed(db, model_id, params):
        dropped = drop_events(db, [model_id], requeue_model or model_id)
        logger.warning("the event space of %s changed to %s: %d events dropped, every article is assigned again",
                       model_id, params.space, dropped)
    if get_setting(db, EVENT_SPACE) != {"model_id": model_id, **params.space}:
        set_setting(db, EVENT_SPACE, {"model_id": model_id, **params.space})
    return dropped


def assign_new_events(db: sqlite_utils.Database, spaces, run_id: int, *, params: EventParams = DEFAULT_PARAMS,
                      title_embedder=None, batch: int = 5000) -> EventStageResult:
    """Queued articles into events. `spaces` (clustering.embedding.Spaces, or one embedder): the
    shared space's vectors, and with two spaces (params with a fallback tier) the English space's
    where an article has them. `title_embedder`: the embedder of `params.title_model` (the
    cascade's title channel), required when the params name one and articles are queued.
    Events record the spaces' `space_id`."""
    spaces = spaces_of(spaces)
    model_id, space_id = spaces.model_id, spaces.space_id
    english_id = spaces.english.model_id if spaces.english is not None and params.fallback else None
    result = EventStageResult()
    with db.conn:  # queued articles already in an event (re-embedded after a change) keep it
        db.execute("""DELETE FROM pending WHERE stage = 'events' AND EXISTS
                      (SELECT 1 FROM event_memberships m WHERE m.article_id = pending.article_id)""")
    while True:
        rows = _pending(db, model_id, batch, english_id)
        if not rows:
            return result
        if params.title_model and title_embedder is None:
            raise EmbeddingSettingError(f"the event parameters of {model_id} need the title model {params.title_model}")
        first_dim = len(rows[0]["lead"]) // 4
        if english_id:
            dim = max(first_dim, spaces.english.dim)  # the same width in every batch: the stored sums' shape
            items = [(r["id"], r["time"], tiered_channels(
                from_blob(r["en_title"]) if r["en_title"] and (r["title"] or "").strip() else None,
                from_blob(r["en_lead"]) if r["en_lead"] else None, from_blob(r["lead"]), dim)) for r in rows]
            centroid_channel = len(params.weights) - 1  # the shared lead: every event has it
        else:
            extra, dims = extra_channels(rows, params, title_embedder.embed if title_embedder else None,
                                         model_languages(title_embedder) if title_embedder else None,
                                         title_embedder.dim if title_embedder else 0)
            dim = max([first_dim, *dims])
            items = []
            for r, more in zip(rows, extra):
                lead = from_blob(r["lead"])
                title = from_blob(r["title_vector"]) if (r["title"] or "").strip() and r["title_vector"] else lead
                items.append((r["id"], r["time"], event_channels(title, lead, more, dims)))
            centroid_channel = LEAD
        state = _load_state(db, space_id, to_timestamp(rows[0]["time"]), dim, params)
        assignments = assign_events(state, items)
        titles = {r["id"]: r["title"] for r in rows}
        with db.conn:
            new_ids = {a.event_id: a.article_id for a in assignments if a.new_event}
            dirty = state.take_dirty()
            # events whose distinct outlets are not counted yet (new ones, older databases): from all members
            uncounted = [e for e in dirty if e in new_ids or not db.execute(
                "SELECT EXISTS (SELECT 1 FROM event_outlets WHERE event_id = ?)", [e]).fetchone()[0]]
            for ev in state.rows(dirty):
                row = {"id": ev.event_id, "model_id": space_id, "article_count": ev.count, "first_at": iso(ev.first_ts),
                       "last_at": iso(ev.last_ts), "state": to_blob(ev.centroid_sum.reshape(-1)),
                       "centroid": to_blob(normalize(ev.centroid_sum[centroid_channel][:first_dim])),
                       "updated_run": run_id}
                if ev.event_id in new_ids:
                    row.update(title=titles.get(new_ids[ev.event_id]), created_run=run_id)
                db["events"].upsert(row, pk="id")
            db["event_memberships"].insert_all(
                ({"article_id": a.article_id, "event_id": a.event_id, "run_id": run_id, "score": round(a.score, 5),
                  "method": METHOD, "model_id": space_id} for a in assignments), replace=True)
            db.execute(f"DELETE FROM pending WHERE stage = 'events' AND article_id IN ({','.join('?' * len(rows))})",
                       [r["id"] for r in rows])
            _count_outlets(db, uncounted, [a.article_id for a in assignments], dirty)
        result.assigned += len(assignments)
        result.touched.update(a.event_id for a in assignments)
        result.new_events += len(new_ids)
