"""A disk cache of stance verdicts for benchmarks, so re-running an evaluation does not re-judge.

Keyed by the judge's model id and the SHA-1 of (claim, title, text); one SQLite file under the
temp dir, beside the embedding cache.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from pathlib import Path

from clustering.stance import Judgement

CACHE = Path(tempfile.gettempdir()) / "narratives-stance-cache.sqlite"


def _key(model_id: str, claim: str, text: str, title: str | None) -> str:
    return hashlib.sha1(json.dumps([model_id, claim, title or "", text]).encode("utf-8")).hexdigest()


def cached_judge(judge, items: list[tuple[str, str, str | None]]) -> list[Judgement]:
    conn = sqlite3.connect(CACHE, timeout=60)
    conn.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT)")
    keys = [_key(judge.model_id, *it) for it in items]
    found: dict[str, str] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        found.update(conn.execute(f"SELECT key, verdict FROM verdicts WHERE key IN ({','.join('?' * len(chunk))})", chunk))
    missing = sorted({k: i for i, k in enumerate(keys) if k not in found}.values())
    if missing:
        verdicts = judge.judge_batch([items[i] for i in missing])
        rows = [(keys[i], json.dumps(v.to_dict())) for i, v in zip(missing, verdicts)]
        with conn:
            conn.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?)", rows)
        found.update(rows)
    conn.close()
    out = []
    for k in keys:
        d = json.loads(found[k])
        out.append(Judgement(d["stance"], d["scores"], d["evidence"]))
    return out
