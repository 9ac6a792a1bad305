"""Clustering scores against gold labels: BCubed precision/recall/F1 and pairwise F1.

BCubed (Bagga & Baldwin 1998; Amigó et al. 2009): for each item, precision is the share of its
predicted cluster that shares its gold label, recall the share of its gold cluster that is in its
predicted cluster; both averaged over items, F1 their harmonic mean. Pairwise: precision/recall
over the set of unordered item pairs placed together. Items are given as two parallel sequences of
labels (any hashable); a gold label of None must be made unique by the caller (a singleton).
"""
from __future__ import annotations

from collections import Counter
from typing import Hashable, Sequence


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def bcubed(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    """(precision, recall, F1) over items; pred[i] and gold[i] label item i."""
    if len(pred) != len(gold):
        raise ValueError("pred and gold differ in length")
    n = len(pred)
    if n == 0:
        return 1.0, 1.0, 1.0
    joint = Counter(zip(pred, gold))
    psize, gsize = Counter(pred), Counter(gold)
    p = sum(c * c / psize[pl] for (pl, _), c in joint.items()) / n
    r = sum(c * c / gsize[gl] for (_, gl), c in joint.items()) / n
    return p, r, _f1(p, r)


def pairwise(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    """(precision, recall, F1) over unordered pairs of items clustered together."""
    def pairs(counter):
        return sum(c * (c - 1) // 2 for c in counter.values())

    both = pairs(Counter(zip(pred, gold)))
    pp, gp = pairs(Counter(pred)), pairs(Counter(gold))
    p = both / pp if pp else 1.0
    r = both / gp if gp else 1.0
    return p, r, _f1(p, r)


def singleton_none(gold: Sequence[Hashable | None]) -> list[Hashable]:
    """Gold labels with each None replaced by a unique singleton label."""
    return [("__singleton__", i) if g is None else g for i, g in enumerate(gold)]


def bcubed_items(pred: Sequence[Hashable], gold: Sequence[Hashable], items: Sequence[int]) -> tuple[float, float, float]:
    """BCubed averaged over a subset of items, each item's precision and recall computed with the
    full clusters (a merge with an item outside the subset still costs precision). Averaging over
    all items gives `bcubed`."""
    joint = Counter(zip(pred, gold))
    psize, gsize = Counter(pred), Counter(gold)
    if not items:
        return 1.0, 1.0, 1.0
    p = sum(joint[(pred[i], gold[i])] / psize[pred[i]] for i in items) / len(items)
    r = sum(joint[(pred[i], gold[i])] / gsize[gold[i]] for i in items) / len(items)
    return p, r, _f1(p, r)
