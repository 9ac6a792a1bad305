"""Events: online, time-aware clustering of articles into news events.

An event is one happening and its coverage, over days or weeks. Articles are assigned in time
order; each joins the event with the highest time-discounted similarity if it reaches
`threshold`, else starts one. Nothing assigned is revisited, so a stream assigned in batches gives
the events of assigning it at once.

    cos(a, e)  = sum_k w_k <a_k, unit(centroid_k(e))> / sum_k w_k    (k: channels both sides have)
    decay(gap) = (1 + gap / tau) ** -power * exp(-(gap / long_days) ** 2)   (gap in days)
    score      = cos(a, e) * decay(gap)

`gap` runs from the article's time to the event's [first, last] interval (0 inside it): coverage
keeps an event open, a topic back after a long silence starts a new one; long_days is imposed
(identical texts two years apart must not merge). Channels (`article_texts`): title and
lead, plus, for a cascade (MODEL_PARAMS), a title model's vector and a lexical vector. Only events
within `horizon_days` can win, so only they are scored, in blocks, by one matrix product: the
cost per article is flat in the number of stored events.
Defaults: BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

from clustering.languages import reads

DAY = 86400.0
TITLE, LEAD = 0, 1  # channel indexes; a title_model's channel, when there is one, is 2
CENTERS_DIR = Path(__file__).resolve().parent / "event_centers"
LEAD_CHARS = 2000  # the model cuts at 256 tokens anyway; this only bounds tokenizer work


@dataclass(frozen=True)
class EventParams:
    threshold: float = 0.45
    tau_days: float = 30.0
    power: float = 0.2
    long_days: float = 730.0  # Gaussian cut-off of the decay (0 or inf: none); see the module docstring
    weights: tuple[float, ...] = (0.5, 0.5)  # per channel: (title, lead[, title by title_model])
    # "": vectors as embedded; else the name of a centre in clustering/event_centers/ (bench.event_center),
    # subtracted from the title and lead vectors (then re-normalised) before they are compared or summed
    center: str = ""
    # "": two channels from the embedding model; else a second model (a load_embedder name) that
    # embeds each title once more, a third channel: the cascade's heavier tier, read only for titles
    # (short), and missing (left out of the cosine) for languages or titles it does not read
    title_model: str = ""
    # "": no lexical channel; else the IDF table (clustering/lexical.py) of a last channel: the names
    # and numbers of the lead, for the articles in the title model's languages (missing elsewhere)
    lexical: str = ""
    # a second tier (two vector spaces): per-channel weights of the channels compared only when an
    # article and an event share no channel of `weights` (e.g. a Russian article and an English
    # event meet in the shared space alone); () = none. Their weighted cosine is multiplied by
    # `fallback_gain`, which puts it on the scale of the first tier's threshold.
    fallback: tuple[float, ...] = ()
    fallback_gain: float = 1.0
    # the centre (clustering/event_centers/) subtracted from the second tier's channels (its lead row)
    fallback_center: str = ""

    @property
    def space(self) -> dict:
        """What the stored event sums depend on: events built in another space are rebuilt."""
        space = {"channels": len(self.weights), "center": self.center, "title_model": self.title_model,
                 "lexical": self.lexical}
        if self.fallback:
            space.update(fallback=list(self.fallback), fallback_center=self.fallback_center)
        return space

    def decay(self, gap_days):
        g = np.asarray(gap_days, dtype=np.float64)
        d = (1.0 + g / self.tau_days) ** (-self.power)
        if self.long_days and math.isfinite(self.long_days):
            d = d * np.exp(-(g / self.long_days) ** 2)
        return d

    @property
    def horizon_days(self) -> float:
        """Gap beyond which decay < threshold, i.e. an event can no longer be joined."""
        if self.threshold <= 0:
            return math.inf
        if self.threshold >= 1:
            return 0.0
        lo, hi = 0.0, 1.0
        while float(self.decay(hi)) >= self.threshold:
            hi *= 2
            if hi > 1e7:
                return math.inf  # no decay to speak of
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if float(self.decay(mid)) >= self.threshold else (lo, mid)
        return hi


DEFAULT_PARAMS = EventParams()

# Per embedding model (model_id), where its cosines differ from the default model's: the parameters
# the folds of `NARRATIVES_EMBED_MODEL=<model> python -m bench.eval_events` agree on (5 folds by
# gold event, each picking on the other four), never a choice on the whole scored set.
# use-multilingual-v3-int8, a cascade (2026-12-03): its lead vector centred on FNC-1 news
# (bench.event_center), the title read again by all-MiniLM-L6-v2, and the lexical channel (names and
# numbers of the lead, IDF from FNC-1 bodies: clustering/lexical.py); the last two for English
# articles only (elsewhere the lead alone). Weights (0, 0.4, 0.3, 0.3), threshold 0.35, tau 10,
# power 0.1, long_days 365: the pick of four folds of five (the fifth: lead 0.6 + title 0.4, no
# lexical channel). Held-out BCubed F1 0.940 (each fold's own pick; 0.944 within this mix; the
# default model 0.936; USE alone as embedded 0.890, centred 0.921, with the title model 0.935);
# in-sample 0.942 (gated); demo web 0.840 (the sibling events E09-E12, which share their names,
# merge; 0.926 without the lexical channel). Earlier (2026-12-02, two USE channels as embedded):
# threshold 0.50, tau 3, power 0.1, held-out 0.890, in-sample 0.913.
# use-multilingual-v3-static (2026-12-03): title + lead as embedded, threshold 0.60, tau 30, power
# 0.1, long_days 730, the pick of three folds of five (the others: 0.50 / 10 / 0.1 / 365 and
# 0.45 / 1 / 0.1 / 730). Held-out BCubed F1 0.853 (each fold's own pick; the default parameters
# scored per fold 0.836): a static model is not an event model (BENCHMARKS.md, "A static first pass").
MODEL_PARAMS: dict[str, EventParams] = {
    "use-multilingual-v3-static": EventParams(threshold=0.60, tau_days=30.0, power=0.1, long_days=730.0),
    "use-multilingual-v3-int8": EventParams(threshold=0.35, tau_days=10.0, power=0.1, long_days=365.0,
                                            weights=(0.0, 0.4, 0.3, 0.3), center="use-multilingual-v3-int8",
                                            title_model="all-MiniLM-L6-v2", lexical="fnc1-lexical-idf"),
}


# Two spaces (clustering/embedding/spaces.py: the default, use-multilingual-v3 + all-MiniLM-L6-v2):
# English articles compare on the English model's title and lead exactly as the one-space default
# does (DEFAULT_PARAMS: same channels, weights, threshold and decay); an article and an event that
# share no English channel (a Russian article, a Russian-only event) compare on the shared model's
# lead, centred on FNC-1 news, at gain 1.0: within the folds' picks of `python -m bench.eval_events`
# (its "second tier's gain": giveme5w1h with a share of its articles read as foreign; the notebook).
TIERED_PARAMS = EventParams(weights=(0.5, 0.5, 0.0), fallback=(0.0, 0.0, 1.0), fallback_gain=1.0,
                            fallback_center="use-multilingual-v3-int8")
MODEL_PARAMS["use-multilingual-v3-int8+sentence-transformers/all-MiniLM-L6-v2"] = TIERED_PARAMS


def params_for(model_id: str) -> EventParams:
    """The event parameters chosen for this embedding model (DEFAULT_PARAMS for the default model)."""
    return MODEL_PARAMS.get(model_id, DEFAULT_PARAMS)


class Assignment(NamedTuple):
    article_id: Any
    event_id: int
    score: float  # decayed similarity to the event joined; new event: best decayed score below threshold among
    # events whose undecayed similarity reached the threshold, else 0.0
    new_event: bool


class EventRow(NamedTuple):
    event_id: int
    count: int
    first_ts: float  # unix seconds
    last_ts: float
    centroid_sum: np.ndarray  # float32 (channels, dim): sum of member vectors


@functools.lru_cache(maxsize=None)
def event_center(name: str) -> np.ndarray:
    """(channels, dim) float32: the centre `name` (clustering/event_centers/<name>.json)."""
    data = json.loads((CENTERS_DIR / f"{name}.json").read_text("utf-8"))
    return np.asarray(data["vectors"], dtype=np.float32)


def event_vectors(vectors: np.ndarray, params: EventParams) -> np.ndarray:
    """An article's (channels, dim) vectors in the event space of `params`: as embedded, or its
    title and lead minus the centre and re-normalised. Centring removes what every news text
    shares, so the cosine of two articles says more about their story (USE: held-out BCubed 0.890
    -> 0.921). A title_model channel is left as embedded."""
    if params.fallback_center:
        return _center_fallback(vectors, params)
    if not params.center:
        return vectors
    v = np.asarray(vectors, dtype=np.float32)
    c = event_center(params.center)
    if v.ndim == 1:
        return _unit(v - c[LEAD])
    out = v.copy()
    k = min(len(c), len(v))
    out[:k] = _unit(v[:k] - _pad(c[:k], v.shape[1]))  # v is padded when a title_model is wider
    return out


def _center_fallback(vectors: np.ndarray, params: EventParams) -> np.ndarray:
    """The second tier's channels minus the lead row of `params.fallback_center`, re-normalised
    (channels an article lacks stay zero); the first tier's as embedded."""
    out = np.array(vectors, dtype=np.float32)
    c = event_center(params.fallback_center)[LEAD]
    for k, w in enumerate(params.fallback):
        if w > 0 and np.abs(out[k]).max() > 0:
            out[k] = _unit(out[k] - _pad(c[None, :], out.shape[1])[0])
    return out


def tiered_channels(en_title: np.ndarray | None, en_lead: np.ndarray | None, shared_lead: np.ndarray,
                    dim: int) -> np.ndarray:
    """One article's (3, dim) vectors for two spaces (TIERED_PARAMS): the English space's title and
    lead (zeros where it does not read the article), then the shared space's lead; narrower
    vectors zero-padded, which leaves every cosine unchanged."""
    def row(v):
        return np.zeros(dim, np.float32) if v is None else _pad(np.asarray(v, np.float32), dim)
    if en_lead is not None and en_title is None:
        en_title = en_lead  # an article without a title: its lead stands in, as in one space
    return np.stack([row(en_title), row(en_lead), row(shared_lead)])


def _pad(x: np.ndarray, dim: int) -> np.ndarray:
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, dim - x.shape[-1])]) if x.shape[-1] < dim else x


def event_channels(title: np.ndarray, lead: np.ndarray, extra: Sequence[np.ndarray | None] = (),
                   extra_dims: Sequence[int] = ()) -> np.ndarray:
    """One article's (channels, dim) vectors: title and lead of the embedding model, then the
    channels the params add (the title_model's title, the lexical vector), each of width
    `extra_dims[i]`; None: missing for this article (zeros). Channels narrower than the widest are
    zero-padded, which leaves every cosine unchanged."""
    if not extra_dims:
        return np.stack([title, lead])
    dim = max(len(lead), *extra_dims)
    rows = [_pad(np.asarray(title, np.float32), dim), _pad(np.asarray(lead, np.float32), dim)]
    rows += [np.zeros(dim, np.float32) if v is None else _pad(np.asarray(v, np.float32), dim) for v in extra]
    return np.stack(rows)


def extra_channels(articles: Sequence[dict], params: EventParams, embed_titles=None, languages=None,
                   title_dim: int = 0) -> tuple[list[list[np.ndarray | None]], list[int]]:
    """The channels `params` add beyond title and lead, per article (dicts with title, text and
    optionally language), and their widths: the title model's title (`embed_titles(texts)`, a
    model of `languages` and width `title_dim`) for articles with a title in its languages, then
    the lexical vector for articles in those languages. None where an article has no such channel."""
    cols: list[list] = []
    dims: list[int] = []
    if params.title_model:
        todo = [i for i, a in enumerate(articles) if (a["title"] or "").strip() and reads(a.get("language"), languages)]
        vecs = embed_titles([article_texts(articles[i]["title"], articles[i]["text"])[0] for i in todo]) if todo else []
        got = {i: np.asarray(v, np.float32) for i, v in zip(todo, vecs)}
        cols.append([got.get(i) for i in range(len(articles))])
        dims.append(title_dim)
    if params.lexical:
        from clustering.lexical import DIM, lexical_vector

        cols.append([lexical_vector(article_texts(a["title"], a["text"])[1], params.lexical)
                     if reads(a.get("language"), languages) else None for a in articles])
        dims.append(DIM)
    return [list(x) for x in zip(*cols)] if cols else [[] for _ in articles], dims


def article_texts(title: str | None, text: str | None) -> tuple[str, str]:
    """(title text, lead text) to embed for the two channels."""
    title = (title or "").strip()
    body = " ".join((text or "").split())[:LEAD_CHARS]
    lead = f"{title}. {body}" if title and body else (title or body)
    return title or lead, lead or title


def to_timestamp(value) -> float:
    """Unix seconds from a datetime (naive = UTC), an ISO 8601 string, or a number."""
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value)
    if isinstance(value, str):
        s = value.strip()
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        value = datetime.fromisoformat(s)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    raise TypeError(f"cannot read a timestamp from {value!r}")


def _dot(mat: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Rows of `mat` against a query (n,), or against each tier's query (tiers, n)."""
    return mat @ q if q.ndim == 1 else q @ mat.T


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(n > 0, n, 1.0)).astype(np.float32)


class EventState:
    """All events known to the clusterer, plus a cache of the ones still joinable."""

    def __init__(self, dim: int, channels: int = 2, params: EventParams = DEFAULT_PARAMS, next_id: int = 1):
        if len(params.weights) != channels:
            raise ValueError(f"params have {len(params.weights)} channel weights, state has {channels} channels")
        self.dim, self.channels, self.params = int(dim), int(channels), params
        self.next_id = int(next_id)
        self._n = 0
        cap = 64
        self._ids = np.zeros(cap, np.int64)
        self._counts = np.zeros(cap, np.int64)
        self._first = np.zeros(cap, np.float64)
        self._last = np.zeros(cap, np.float64)
        self._sums = np.zeros((cap, channels, dim), np.float32)
        self._row_of: dict[int, int] = {}
        w = np.asarray(params.weights, np.float64)
        self._w = (w / w.sum()).astype(np.float32)
        # the second tier's weights (None: one tier)
        fw = np.asarray(params.fallback, np.float64) if params.fallback else None
        if fw is not None and len(fw) != channels:
            raise ValueError(f"params have {len(fw)} fallback weights, state has {channels} channels")
        self._fw = (fw / fw.sum()).astype(np.float32) if fw is not None and fw.sum() > 0 else None
        self._gain = np.float32(params.fallback_gain)
        self._horizon = params.horizon_days * DAY
        # active cache: rows of events that may still be joined, and their unit centroids
        self._act_rows = np.zeros(0, np.int64)
        self._act_mat = np.zeros((0, channels * dim), np.float32)
        self._act_has = np.zeros((0, channels), np.float32)  # 1 where the event has that channel
        self._act_len = 0
        self._act_pos: dict[int, int] = {}  # state row -> position in the active cache
        self._floor = -math.inf  # events with last < floor are not in the cache
        self._act_ready = False
        self._clock = -math.inf  # latest article time seen
        self.dirty: set[int] = set()  # event ids created or changed since the last take_dirty()
        # set once an article or event lacks a channel (an all-zero vector, e.g. a title model that
        # does not read the article's language): from then on similarities are averaged over the
        # channels both sides have. Until then the plain weighted sum, bit for bit. Two tiers
        # compare on what both sides have from the start.
        self._partial = self._fw is not None

    # ------------------------------------------------------------------ persistence
    def __len__(self) -> int:
        return self._n

    def rows(self, event_ids: Iterable[int] | None = None) -> list[EventRow]:
        """Events to persist (all, or the given ids): see the module docstring."""
        rows = range(self._n) if event_ids is None else (self._row_of[int(e)] for e in event_ids)
        return [EventRow(int(self._ids[r]), int(self._counts[r]), float(self._first[r]), float(self._last[r]),
                         self._sums[r].copy()) for r in rows]

    def take_dirty(self) -> list[int]:
        """Ids of events created or changed since the last call (to upsert), sorted."""
        out, self.dirty = sorted(self.dirty), set()
        return out

    @classmethod
    def from_rows(cls, rows: Iterable[EventRow | Sequence], dim: int, channels: int = 2,
                  params: EventParams = DEFAULT_PARAMS, next_id: int | None = None) -> "EventState":
        """Rebuild a state from stored rows. Loading only events with last_ts >= now - horizon
        (`params.horizon_days`) gives the same assignments for articles newer than `now`."""
        state = cls(dim, channels, params, 1)
        top = 0
        for row in rows:
            eid, count, first, last, csum = row
            csum = np.asarray(csum, np.float32)
            if csum.ndim == 1 and csum.size == channels * dim:
                csum = csum.reshape(channels, dim)
            state._append(int(eid), int(count), float(first), float(last), csum)
            top = max(top, int(eid))
        state.next_id = max(top + 1, int(next_id or 1))
        state.dirty.clear()
        return state

    # ------------------------------------------------------------------ internals
    def _grow(self):
        cap = len(self._ids) * 2
        for name in ("_ids", "_counts", "_first", "_last", "_sums"):
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    def _append(self, eid: int, count: int, first: float, last: float, csum: np.ndarray) -> int:
        if self._n == len(self._ids):
            self._grow()
        r = self._n
        self._ids[r], self._counts[r], self._first[r], self._last[r] = eid, count, first, last
        self._sums[r] = csum
        if not self._partial and (self._has(self._sums[r]) * self._w != self._w).any():
            self._partial = True
        self._row_of[eid] = r
        self._n += 1
        self.dirty.add(eid)
        if self._act_ready and last >= self._floor:
            self._act_add(r)
        return r

    def _unit_flat(self, r: int) -> np.ndarray:
        return _unit(self._sums[r]).reshape(-1)

    def _has(self, sums: np.ndarray) -> np.ndarray:
        """(..., channels) 1.0 where a channel sum is non-zero."""
        return (np.abs(sums).max(axis=-1) > 0).astype(np.float32)

    def _renorm(self, cos: np.ndarray, has: np.ndarray, aw: np.ndarray) -> np.ndarray:
        """Weighted cosines over the channels both the article (weights `aw`, 0 where it lacks
        one) and each event (`has`) have; 0 where they share none. With a second tier, `cos` is
        (raw first-tier sums, raw second-tier sums) and `aw` the article's presence per channel
        for each tier: where the first tier shares no channel, the second tier's cosine times
        its gain."""
        if self._fw is None:
            return self._renorm_tier(cos, has, aw, self._w)
        first = self._renorm_tier(cos[0], has, aw[0], self._w)
        den = (has * aw[0]).sum(-1) if has.ndim > 1 else (has * aw[0]).sum()
        second = self._renorm_tier(cos[1], has, aw[1], self._fw) * self._gain
        return np.where(den > 1e-6, first, second).astype(np.float32)

    def _renorm_tier(self, cos: np.ndarray, has: np.ndarray, aw: np.ndarray, w: np.ndarray) -> np.ndarray:
        if not self._partial:
            return cos
        deficit = (1.0 - has) @ aw + (w - aw).sum()
        if not deficit.any():
            return cos
        den = w.sum() - deficit
        return np.where(den > 1e-6, cos * (w.sum() / np.maximum(den, 1e-6)), 0.0).astype(np.float32)

    def _act_add(self, r: int):
        if self._act_len == len(self._act_rows):
            cap = max(64, 2 * self._act_len)
            rows = np.zeros(cap, np.int64)
            mat = np.zeros((cap, self.channels * self.dim), np.float32)
            has = np.zeros((cap, self.channels), np.float32)
            rows[: self._act_len] = self._act_rows[: self._act_len]
            mat[: self._act_len] = self._act_mat[: self._act_len]
            has[: self._act_len] = self._act_has[: self._act_len]
            self._act_rows, self._act_mat, self._act_has = rows, mat, has
        self._act_rows[self._act_len] = r
        self._act_mat[self._act_len] = self._unit_flat(r)
        self._act_has[self._act_len] = self._has(self._sums[r])
        self._act_pos[r] = self._act_len
        self._act_len += 1

    def _rebuild_active(self, floor: float):
        """Keep in the cache exactly the events with last >= floor (in state-row order)."""
        rows = np.nonzero(self._last[: self._n] >= floor)[0]
        self._act_len = 0
        self._act_pos = {}
        self._act_rows = np.zeros(max(64, 2 * len(rows)), np.int64)
        self._act_mat = np.zeros((len(self._act_rows), self.channels * self.dim), np.float32)
        self._act_has = np.zeros((len(self._act_rows), self.channels), np.float32)
        for r in rows:
            self._act_add(int(r))
        self._floor = floor
        self._act_ready = True

    def _trim_active(self, floor: float):
        rows = self._act_rows[: self._act_len]
        keep = self._last[rows] >= floor
        n = int(keep.sum())
        self._act_rows[:n] = rows[keep]
        self._act_mat[:n] = self._act_mat[: self._act_len][keep]
        self._act_has[:n] = self._act_has[: self._act_len][keep]
        self._act_len = n
        self._act_pos = {int(r): i for i, r in enumerate(self._act_rows[:n])}
        self._floor = floor

    def _candidates(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(state rows, unit-centroid matrix, channel presence) of every event that could be
        joined at time t."""
        floor = t - self._horizon
        if t < self._clock:
            # an article older than one already assigned: scan all events once (rare path)
            rows = np.nonzero((self._last[: self._n] >= floor) & (self._first[: self._n] <= t + self._horizon))[0]
            mat = _unit(self._sums[rows]).reshape(len(rows), -1)
            return rows, mat, self._has(self._sums[rows])
        self._clock = t
        if not self._act_ready or floor < self._floor:
            self._rebuild_active(floor)
        elif floor - self._floor > 0.25 * self._horizon or floor - self._floor > 30 * DAY:
            self._trim_active(floor)
        return self._act_rows[: self._act_len], self._act_mat[: self._act_len], self._act_has[: self._act_len]

    def _score(self, t: float, v: np.ndarray, aw: np.ndarray) -> tuple[int, float]:
        """(state row of the best event or -1, its score)."""
        rows, mat, has = self._candidates(t)
        if len(rows) == 0:
            return -1, 0.0
        cos = self._renorm(_dot(mat, v), has, aw)
        cand = np.nonzero(cos >= self.params.threshold)[0]  # decay <= 1: no other event can win
        if len(cand) == 0:
            return -1, 0.0
        rows = rows[cand]
        gap = np.maximum(0.0, np.maximum(self._first[rows] - t, t - self._last[rows])) / DAY
        score = cos[cand].astype(np.float64) * self.params.decay(gap)
        i = int(np.argmax(score))  # first maximum = oldest event on exact ties
        return int(rows[i]), float(score[i])

    def _query(self, vec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(unit vectors (channels, dim), weighted flat query, channel weights: 0 where the
        article lacks the channel) for one article."""
        v = np.asarray(vec, np.float32)
        if v.ndim == 1:
            v = v.reshape(1, -1)
        if v.shape != (self.channels, self.dim):
            raise ValueError(f"article vectors have shape {v.shape}, expected ({self.channels}, {self.dim})")
        v = _unit(v)
        present = self._has(v)
        aw = self._w * present
        if not self._partial and (aw != self._w).any():
            self._partial = True
        if self._fw is None:
            return v, (v * self._w[:, None]).reshape(-1), aw
        # both tiers: (2, channels x dim) queries, (2, channels) weights
        return (v, np.stack([(v * self._w[:, None]).reshape(-1), (v * self._fw[:, None]).reshape(-1)]),
                np.stack([aw, self._fw * present]))

    def _join(self, r: int, t: float, v: np.ndarray) -> int:
        self._sums[r] += v
        self._counts[r] += 1
        self._first[r] = min(self._first[r], t)
        self._last[r] = max(self._last[r], t)
        pos = self._act_pos.get(r)
        if pos is not None:
            self._act_mat[pos] = self._unit_flat(r)
            self._act_has[pos] = self._has(self._sums[r])
        elif self._act_ready and self._last[r] >= self._floor:  # joined through the out-of-order path
            self._act_add(r)
        eid = int(self._ids[r])
        self.dirty.add(eid)
        return eid

    def _decide(self, article_id, t: float, v: np.ndarray, r: int, score: float) -> Assignment:
        if r >= 0 and score >= self.params.threshold:
            return Assignment(article_id, self._join(r, t, v), score, False)
        eid = self.next_id
        self.next_id += 1
        self._append(eid, 1, t, t, v)
        return Assignment(article_id, eid, max(score, 0.0) if r >= 0 else 0.0, True)

    def assign_one(self, article_id, t: float, vec) -> Assignment:
        """Assign one article (any time order; assign_sorted is the fast path for batches)."""
        v, q, aw = self._query(vec)
        r, score = self._score(t, q, aw)
        return self._decide(article_id, t, v, r, score)

    def assign_sorted(self, items: Sequence[tuple[float, Any, Any]], block: int = 256) -> list[Assignment]:
        """Assign (time, article_id, vectors) items already sorted by (time, id).

        Vectorised per block of articles: one matrix product of the block's queries against the
        active centroids taken at the block's start; centroids that change inside the block (and
        events created in it) are re-scored per article, so the result is the same as assigning
        one article at a time."""
        out: list[Assignment] = []
        i = 0
        while i < len(items) and items[i][0] < self._clock:  # older than what is already assigned
            t, aid, vec = items[i]
            out.append(self.assign_one(aid, t, vec))
            i += 1
        while i < len(items):
            chunk = items[i:i + block]
            i += len(chunk)
            prep = [self._query(vec) for _, _, vec in chunk]
            rows0, mat0, _ = self._candidates(chunk[0][0])
            m0 = len(rows0)
            tiers = prep[0][1].shape[:-1]  # () or (2,): one cosine per tier
            base = (np.asarray(np.stack([q for _, q, _ in prep]) @ mat0.T) if m0
                    else np.zeros((len(chunk), *tiers, 0), np.float32))
            touched: set[int] = set()  # active positions < m0 changed inside this block
            for j, (t, aid, _) in enumerate(chunk):
                self._clock = t
                v, q, aw = prep[j]
                n = self._act_len
                if n == 0:
                    out.append(self._decide(aid, t, v, -1, 0.0))
                    continue
                cos = np.empty((*tiers, n), np.float32)
                cos[..., :m0] = base[j]
                if touched:
                    pos = np.fromiter(touched, np.int64)
                    cos[..., pos] = _dot(self._act_mat[pos], q)
                if n > m0:
                    cos[..., m0:n] = _dot(self._act_mat[m0:n], q)
                cos = self._renorm(cos, self._act_has[:n], aw)
                # decay <= 1, so only events with cos >= threshold can win: decay those alone
                cand = np.nonzero(cos >= self.params.threshold)[0]
                if len(cand) == 0:
                    out.append(self._decide(aid, t, v, -1, 0.0))
                    continue
                rows = self._act_rows[cand]
                gap = np.maximum(0.0, np.maximum(self._first[rows] - t, t - self._last[rows])) / DAY
                score = cos[cand].astype(np.float64) * self.params.decay(gap)
                best = int(np.argmax(score))
                k = int(cand[best])
                res = self._decide(aid, t, v, int(rows[best]), float(score[best]))
                if not res.new_event and k < m0:
                    touched.add(k)
                out.append(res)
        return out


def assign_events(state: EventState, items: Iterable[Sequence], *, default_time=None) -> list[Assignment]:
    """Assign articles to events, updating `state`; returns one Assignment per article.

    items: (article_id, timestamp, vectors[, fallback_time]) with timestamp a datetime (naive =
    UTC), ISO string or unix seconds, or None -> fallback_time (e.g. the fetch time), else
    `default_time`. vectors: (channels, dim) array (or (dim,) for one channel), e.g. the
    embeddings of `article_texts(title, text)`. Items are processed sorted by (time, article_id);
    the result is in that order.
    """
    prepared = []
    for item in items:
        aid, ts, vec = item[0], item[1], item[2]
        if ts is None:
            ts = item[3] if len(item) > 3 and item[3] is not None else default_time
            if ts is None:
                raise ValueError(f"article {aid!r} has no timestamp and no fallback time")
        prepared.append((to_timestamp(ts), aid, event_vectors(vec, state.params)))
    prepared.sort(key=lambda x: (x[0], x[1]))
    return state.assign_sorted(prepared)


def cluster(items: Iterable[Sequence], dim: int, channels: int = 2, params: EventParams = DEFAULT_PARAMS,
            **kw) -> dict:
    """Convenience for benches and tests: {article_id: event_id} for a fresh state."""
    state = EventState(dim, channels, params)
    return {a.article_id: a.event_id for a in assign_events(state, items, **kw)}
