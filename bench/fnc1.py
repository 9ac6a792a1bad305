"""FNC-1 (Fake News Challenge stage 1) training data and the fixed split the stance judge is scored on.

`../shared/data/fnc1-stance-train` holds the (headline, body, stance) training pairs; the
competition test split is not there. Labels map agree -> carries, discuss -> reports, disagree ->
debunks, unrelated -> unrelated.

A split by Body ID alone leaks: FNC-1 pairs every headline with its story's bodies and with many
random ones, so nearly every headline meets a validation body. The split is by story instead,
keeping validation chosen by Body ID mod 5 and no headline or body of a validation pair seen in
training:

  story = a connected component of headlines and bodies linked by related pairs;
  key   = min(Body ID of the story's bodies) mod 5;
  VAL   = pairs whose headline's and body's stories both have key 0;
  TRAIN = pairs whose stories both have key != 0 (pairs mixing the two are in neither);
          tuning inside TRAIN only: DEV = both keys 1, INNER = keys {2, 3, 4}.

The counts, and why the split first asked for could not be used:
BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path

from bench.shared_data import shared_data_dir

LABEL_MAP = {"agree": "carries", "discuss": "reports", "disagree": "debunks", "unrelated": "unrelated"}


def fnc1_dir() -> Path | None:
    root = shared_data_dir()
    path = root / "fnc1-stance-train" if root else None
    return path if path and (path / "train_stances.csv.gz").is_file() else None


def load(data_dir: Path) -> tuple[dict[int, str], list[tuple[str, int, str]]]:
    """(body id -> text, [(headline, body id, FNC-1 stance)])."""
    with gzip.open(data_dir / "train_bodies.csv.gz", "rt", encoding="utf-8") as f:
        bodies = {int(r["Body ID"]): r["articleBody"] for r in csv.DictReader(f)}
    with gzip.open(data_dir / "train_stances.csv.gz", "rt", encoding="utf-8") as f:
        pairs = [(r["Headline"], int(r["Body ID"]), r["Stance"]) for r in csv.DictReader(f)]
    return bodies, pairs


def story_keys(pairs) -> tuple[dict, dict]:
    """(headline -> key, body id -> key), key = min Body ID of the story mod 5."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for h, b, s in pairs:
        find(("h", h)), find(("b", b))
        if s != "unrelated":
            ra, rb = find(("h", h)), find(("b", b))
            if ra != rb:
                parent[ra] = rb
    mins: dict = defaultdict(lambda: 10 ** 9)
    for _, b, _ in pairs:
        r = find(("b", b))
        mins[r] = min(mins[r], b)
    hk = {h: (mins[find(("h", h))] % 5 if find(("h", h)) in mins else None) for h, _, _ in pairs}
    bk = {b: mins[find(("b", b))] % 5 for _, b, _ in pairs}
    return hk, bk


def split(pairs) -> dict[str, list]:
    """name -> pairs: val, train, dev, inner (see the module docstring)."""
    hk, bk = story_keys(pairs)
    out: dict[str, list] = {"val": [], "train": [], "dev": [], "inner": []}
    for p in pairs:
        a, b = hk[p[0]], bk[p[1]]
        if a == 0 and b == 0:
            out["val"].append(p)
        elif a not in (0, None) and b != 0:
            out["train"].append(p)
            if a == 1 and b == 1:
                out["dev"].append(p)
            elif a != 1 and b != 1:
                out["inner"].append(p)
    return out


def stance_jsonl_rows(bodies: dict[int, str], pairs) -> list[dict]:
    """Pairs as `narratives stance` input lines (with the gold stance, which the command ignores)."""
    return [{"id": f"{i}:{b}", "claim": h, "text": bodies[b], "gold": LABEL_MAP[s]} for i, (h, b, s) in enumerate(pairs)]
