"""Stable narrative ids across runs: new clusters inherit the ids of the old ones they continue.

A new cluster continues an old narrative when it holds at least CONTINUE_SHARE of the old
narrative's articles that still exist. When several new clusters share one old narrative (a
split), the one holding most of it keeps the id and the others get new ids with a 'split'
lineage row. When one new cluster continues several old narratives (a merge), it keeps the id
of the one it shares most articles with and the others are 'merged' into it. Old narratives
that nothing continues are 'retired'. Deterministic: ties go to the lower id.
"""
from __future__ import annotations

from dataclasses import dataclass

CONTINUE_SHARE = 0.5  # of the old narrative's (still present) articles
SPLIT_SHARE = 0.25  # a new cluster holding this much of an old one is recorded as split from it


@dataclass
class Lineage:
    kind: str  # created, continued, merged, split, retired
    from_id: int | None
    to_id: int | None
    overlap: float | None = None


def match_ids(old: dict[int, set[int]], new: list[set[int]], next_id: int) -> tuple[list[int], list[Lineage]]:
    """(ids for each new cluster, lineage rows). `old`: id -> member article ids of the last run."""
    present = set().union(*new) if new else set()
    # share of each old narrative's still-present articles that each new cluster holds
    shares: dict[tuple[int, int], float] = {}
    for oid, members in old.items():
        alive = members & present if present else set()
        if not alive:
            continue
        for j, cluster in enumerate(new):
            inter = len(alive & cluster)
            if inter:
                shares[(oid, j)] = inter / len(alive)
    ids: list[int | None] = [None] * len(new)
    lineage: list[Lineage] = []
    taken: set[int] = set()
    # strongest continuations first; each old id is given to at most one new cluster
    for (oid, j), share in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1])):
        if share < CONTINUE_SHARE or oid in taken or ids[j] is not None:
            continue
        ids[j] = oid
        taken.add(oid)
        lineage.append(Lineage("continued", oid, oid, round(share, 4)))
    for j in range(len(new)):
        if ids[j] is None:
            ids[j] = next_id
            next_id += 1
            parents = sorted((oid for (oid, jj), s in shares.items() if jj == j and s >= SPLIT_SHARE and oid in taken))
            if parents:
                for oid in parents:
                    lineage.append(Lineage("split", oid, ids[j], round(shares[(oid, j)], 4)))
            else:
                lineage.append(Lineage("created", None, ids[j]))
    for oid in sorted(old):
        if oid in taken:
            continue
        # not continued: merged into the cluster holding most of it, or retired
        best = max(((s, -j) for (o, j), s in shares.items() if o == oid), default=None)
        if best and best[0] >= CONTINUE_SHARE:
            lineage.append(Lineage("merged", oid, ids[-best[1]], round(best[0], 4)))
        else:
            lineage.append(Lineage("retired", oid, None, round(best[0], 4) if best else 0.0))
    return [int(i) for i in ids], lineage
