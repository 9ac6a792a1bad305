"""Text reuse between articles: who copied whose words (the dedup stage).

Articles are shingled into 5-word sequences; a MinHash signature (64 permutations) is banded
for locality-sensitive hashing (16 bands of 4 rows) into `reuse_buckets`, so each new article
is compared only with the earlier articles that share a bucket. For those candidates the exact
containment |S_new ∩ S_old| / |S_new| is computed from the texts. A pair at or above
MIN_CONTAINMENT is stored in `text_reuse` with the earlier article as the source; at or above
VERBATIM the reuse is called verbatim (copied text), below it partial (shared passages). A
paraphrase shares facts but few 5-word sequences, so it stays below MIN_CONTAINMENT.
"""
from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass

import numpy as np
import sqlite_utils

logger = logging.getLogger(__name__)

SHINGLE = 5
PERMUTATIONS = 64
BANDS, ROWS = 16, 4
MIN_CONTAINMENT = 0.2
VERBATIM = 0.6
# A story syndicated to hundreds of outlets puts hundreds of articles in one bucket; comparing
# with the most recent MAX_CANDIDATES keeps the cost per article bounded (the copy chain is still
# found: each copy links to a recent copy of the same text).
MAX_CANDIDATES = 64
# An article keeps its MAX_SOURCES best sources (highest containment): the work per article, and
# the copy edges it adds to the spread stage, stay bounded however much a text was syndicated.
MAX_SOURCES = 8
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20260301)  # fixed: signatures must be comparable across runs
_A = _rng.integers(1, _PRIME, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, PERMUTATIONS, dtype=np.uint64)
_WORD = re.compile(r"\w+")


@dataclass
class ReuseResult:
    articles: int = 0
    pairs: int = 0


def shingles(text: str | None) -> np.ndarray:
    """The text's 5-word shingle hashes: sorted, unique uint32 (the form stored in `article_shingles`)."""
    words = _WORD.findall((text or "").lower())
    n = max(0, len(words) - SHINGLE + 1)
    return np.unique(np.fromiter((zlib.crc32(" ".join(words[i:i + SHINGLE]).encode()) for i in range(n)),
                                 dtype=np.uint32, count=n))


def signature(sh: np.ndarray) -> np.ndarray:
    if len(sh) == 0:
        return np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    x = sh.astype(np.uint64)
    # (a*x + b) mod p with 32-bit x keeps the product inside uint64 for a < 2^32 after masking
    hashed = ((_A[:, None] & 0xFFFFFFFF) * x[None, :] + _B[:, None]) % np.uint64(_PRIME)
    return hashed.min(axis=1)


def band_keys(sig: np.ndarray) -> list[int]:
    return [zlib.crc32(sig[b * ROWS:(b + 1) * ROWS].tobytes()) for b in range(BANDS)]


def overlap(a: np.ndarray, b: np.ndarray) -> int:
    """Shingles two articles share (both sorted and unique, as `shingles` returns them)."""
    return int(np.intersect1d(a, b, assume_unique=True).size)


def containment(new: np.ndarray, old: np.ndarray) -> float:
    """Share of `new`'s shingles that stand in `old`."""
    return overlap(new, old) / len(new) if len(new) else 0.0


# the MAX_CANDIDATES most recent articles of each of the article's BANDS buckets, and of their union
_BUCKET = ("SELECT article_id FROM (SELECT article_id FROM reuse_buckets WHERE band = ? AND key = ? "
           "ORDER BY article_id DESC LIMIT ?)")
_CANDIDATES = f"SELECT article_id FROM ({' UNION '.join([_BUCKET] * BANDS)}) ORDER BY article_id DESC LIMIT ?"
# articles whose outlet, time and shingles a run keeps at hand: a syndicated text's recent copies are
# candidates of many new articles
CACHE_SIZE = 50_000


class _Articles:
    """Outlet, time and shingles of candidate articles, read once per run."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.meta: dict[int, tuple] = {}  # article id -> (outlet, time)
        self.shingles: dict[int, np.ndarray] = {}

    def load(self, ids: list[int]) -> None:
        ids = [i for i in ids if i not in self.meta]
        if not ids:
            return
        if len(self.meta) + len(ids) > CACHE_SIZE:
            self.meta.clear()
            self.shingles.clear()
        for aid, outlet, time, blob in self.db.execute(
                f"SELECT article_id, outlet, time, shingles FROM article_shingles WHERE article_id IN "
                f"({','.join('?' * len(ids))}) AND outlet IS NOT NULL", ids):
            self.meta[aid] = (outlet, time)
            self.shingles[aid] = np.frombuffer(blob, dtype=np.uint32)
        missing = [i for i in ids if i not in self.meta]
        if missing:  # no stored shingles (older databases): from the article
            for aid, outlet, time, text in self.db.execute(
                    f"SELECT id, outlet, coalesce(published_at, fetched_at), text FROM articles "
                    f"WHERE id IN ({','.join('?' * len(missing))})", missing):
                self.meta[aid] = (outlet, time)
                self.shingles[aid] = shingles(text)


def _overlaps(mine: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """|mine ∩ other| for each of `others` (all sorted and unique): one pass over them all."""
    if not others:
        return np.zeros(0, np.int64)
    allc = np.concatenate(others)
    ends = np.cumsum([len(o) for o in others])
    if len(mine) == 0 or len(allc) == 0:
        return np.zeros(len(others), np.int64)
    pos = np.minimum(np.searchsorted(mine, allc), len(mine) - 1)
    hits = np.concatenate(([0], np.cumsum(mine[pos] == allc)))
    return hits[ends] - hits[np.concatenate(([0], ends[:-1]))]


def find_reuse(db: sqlite_utils.Database, *, batch: int = 500) -> ReuseResult:
    """Compare articles not yet checked with earlier ones; store reuse pairs and their buckets."""
    result = ReuseResult()
    known = _Articles(db)
    while True:
        rows = list(db.query(
            """SELECT a.id, a.outlet, a.text, coalesce(a.published_at, a.fetched_at) AS time
               FROM pending p JOIN articles a ON a.id = p.article_id WHERE p.stage = 'reuse'
               ORDER BY coalesce(a.published_at, a.fetched_at), a.id LIMIT ?""", [batch]))
        if not rows:
            return result
        pairs, buckets, stored = [], [], {}
        in_batch: dict[tuple[int, int], list[int]] = {}  # buckets written earlier in this batch (not in the table yet)
        for r in rows:
            mine = stored[r["id"]] = shingles(r["text"])
            known.meta[r["id"]] = (r["outlet"], r["time"])
            keys = band_keys(signature(mine))
            cands = {x[0] for x in db.execute(
                _CANDIDATES, [v for band, key in enumerate(keys) for v in (band, key, MAX_CANDIDATES)] + [MAX_CANDIDATES])}
            for band, key in enumerate(keys):
                cands.update(in_batch.get((band, key), ()))
            cands.discard(r["id"])
            chosen = sorted(cands, reverse=True)[:MAX_CANDIDATES]
            # an article of this batch is compared with its new text, the others with their stored shingles
            known.load(chosen)
            others_ids = [c for c in sorted(chosen) if c in known.meta and known.meta[c][0] != r["outlet"]]
            others = [stored[c] if c in stored else known.shingles[c] for c in others_ids]
            found = []
            if len(mine):
                for cand, other, inter in zip(others_ids, others, _overlaps(mine, others).tolist()):
                    if inter < MIN_CONTAINMENT * len(mine):
                        continue
                    c = known.meta[cand]
                    # the earlier article is the source; containment is of the copy in the source
                    new_id, src_id = ((r["id"], cand) if (c[1] or "", cand) <= (r["time"] or "", r["id"])
                                      else (cand, r["id"]))
                    copy_size = len(mine) if new_id == r["id"] else len(other)
                    share = inter / copy_size if copy_size else 0.0
                    found.append((-round(share, 4), src_id, new_id, share, inter, len(other)))
            # the MAX_SOURCES best: highest containment, then the earliest source
            found.sort()
            for neg_share, src_id, new_id, share, inter, n_other in found[:MAX_SOURCES]:
                pairs.append((new_id, src_id, -neg_share, round(inter / max(1, len(mine) + n_other - inter), 4),
                              "verbatim" if share >= VERBATIM else "partial"))
            buckets.extend((band, key, r["id"]) for band, key in enumerate(keys))
            for band, key in enumerate(keys):
                in_batch.setdefault((band, key), []).append(r["id"])
        with db.conn:
            marks = ",".join("?" * len(rows))
            ids = [r["id"] for r in rows]
            # a re-extracted article is compared again: drop what its old text produced
            db.execute(f"DELETE FROM reuse_buckets WHERE article_id IN ({marks})", ids)
            db.execute(f"DELETE FROM text_reuse WHERE article_id IN ({marks})", ids)
            db.conn.executemany("INSERT OR REPLACE INTO text_reuse (article_id, source_article_id, containment, jaccard, "
                                "kind) VALUES (?, ?, ?, ?, ?)", pairs)
            db.conn.executemany("INSERT INTO reuse_buckets (band, key, article_id) VALUES (?, ?, ?)", buckets)
            db.conn.executemany("INSERT OR REPLACE INTO article_shingles (article_id, shingles, outlet, time) "
                                "VALUES (?, ?, ?, ?)", [(r["id"], stored[r["id"]].tobytes(), r["outlet"], r["time"])
                                                        for r in rows])
            db.execute(f"DELETE FROM pending WHERE stage = 'reuse' AND article_id IN ({marks})", ids)
        known.shingles.update(stored)
        result.articles += len(rows)
        result.pairs += len(pairs)
