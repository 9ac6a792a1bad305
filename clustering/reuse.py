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
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20260301)  # fixed: signatures must be comparable across runs
_A = _rng.integers(1, _PRIME, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, PERMUTATIONS, dtype=np.uint64)
_WORD = re.compile(r"\w+")


@dataclass
class ReuseResult:
    articles: int = 0
    pairs: int = 0


def shingles(text: str | None) -> set[int]:
    words = _WORD.findall((text or "").lower())
    return {zlib.crc32(" ".join(words[i:i + SHINGLE]).encode()) for i in range(max(0, len(words) - SHINGLE + 1))}


def signature(sh: set[int]) -> np.ndarray:
    if not sh:
        return np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    x = np.fromiter(sh, dtype=np.uint64, count=len(sh))
    # (a*x + b) mod p with 32-bit x keeps the product inside uint64 for a < 2^32 after masking
    hashed = ((_A[:, None] & 0xFFFFFFFF) * x[None, :] + _B[:, None]) % np.uint64(_PRIME)
    return hashed.min(axis=1)


def band_keys(sig: np.ndarray) -> list[int]:
    return [zlib.crc32(sig[b * ROWS:(b + 1) * ROWS].tobytes()) for b in range(BANDS)]


def containment(new: set[int], old: set[int]) -> float:
    return len(new & old) / len(new) if new else 0.0


def find_reuse(db: sqlite_utils.Database, *, batch: int = 500) -> ReuseResult:
    """Compare articles not yet checked with earlier ones; store reuse pairs and their buckets."""
    result = ReuseResult()
    while True:
        rows = list(db.query(
            """SELECT a.id, a.outlet, a.text, coalesce(a.published_at, a.fetched_at) AS time
               FROM pending p JOIN articles a ON a.id = p.article_id WHERE p.stage = 'reuse'
               ORDER BY coalesce(a.published_at, a.fetched_at), a.id LIMIT ?""", [batch]))
        if not rows:
            return result
        pairs, buckets = [], []
        for r in rows:
            sh = shingles(r["text"])
            keys = band_keys(signature(sh))
            cands = set()
            for band, key in enumerate(keys):
                cands.update(x[0] for x in db.execute(
                    "SELECT article_id FROM reuse_buckets WHERE band = ? AND key = ?", [band, key]))
            # buckets written earlier in this batch are not in the table yet
            cands.update(b["article_id"] for b in buckets if b["key"] == keys[b["band"]])
            cands.discard(r["id"])
            chosen = sorted(cands, reverse=True)[:MAX_CANDIDATES]
            texts = {row[0]: row[1:] for row in db.execute(
                f"SELECT id, outlet, text, coalesce(published_at, fetched_at) FROM articles "
                f"WHERE id IN ({','.join('?' * len(chosen))})", chosen)} if chosen else {}
            for cand in sorted(chosen):
                c = texts.get(cand)
                if c is None or c[0] == r["outlet"]:
                    continue
                other = shingles(c[1])
                share = containment(sh, other)
                if share < MIN_CONTAINMENT:
                    continue
                # the earlier article is the source
                new_id, src_id = (r["id"], cand) if (c[2] or "", cand) <= (r["time"] or "", r["id"]) else (cand, r["id"])
                new_sh, src_sh = (sh, other) if new_id == r["id"] else (other, sh)
                share = containment(new_sh, src_sh)
                pairs.append({"article_id": new_id, "source_article_id": src_id, "containment": round(share, 4),
                              "jaccard": round(len(new_sh & src_sh) / max(1, len(new_sh | src_sh)), 4),
                              "kind": "verbatim" if share >= VERBATIM else "partial"})
            buckets.extend({"band": band, "key": key, "article_id": r["id"]} for band, key in enumerate(keys))
        with db.conn:
            marks = ",".join("?" * len(rows))
            ids = [r["id"] for r in rows]
            # a re-extracted article is compared again: drop what its old text produced
            db.execute(f"DELETE FROM reuse_buckets WHERE article_id IN ({marks})", ids)
            db.execute(f"DELETE FROM text_reuse WHERE article_id IN ({marks})", ids)
            db["text_reuse"].insert_all(pairs, replace=True)
            db["reuse_buckets"].insert_all(buckets)
            db.execute(f"DELETE FROM pending WHERE stage = 'reuse' AND article_id IN ({marks})", ids)
        result.articles += len(rows)
        result.pairs += len(pairs)
