"""Scores shared by the benchmarks and the quality-gate tests.

`token_f1` follows scrapinghub/article-extraction-benchmark's evaluate.py in spirit: F1 of the
multisets of lower-cased `\\w+` tokens of the extracted text against the gold articleBody.
`same_day` compares the first 10 characters of two ISO dates, as trafilatura's own evaluation
does (malformed gold dates simply never match).
"""
from __future__ import annotations

import re
from collections import Counter

_TOKEN = re.compile(r"\w+")


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall((text or "").lower())


def token_prf(extracted: str | None, gold: str | None) -> tuple[float, float, float]:
    """Precision, recall and F1 of the token multisets. Both empty counts as a perfect match."""
    pred, true = Counter(tokens(extracted)), Counter(tokens(gold))
    if not pred and not true:
        return 1.0, 1.0, 1.0
    if not pred or not true:
        return 0.0, 0.0, 0.0
    common = sum((pred & true).values())
    if common == 0:
        return 0.0, 0.0, 0.0
    p = common / sum(pred.values())
    r = common / sum(true.values())
    return p, r, 2 * p * r / (p + r)


def token_f1(extracted: str | None, gold: str | None) -> float:
    return token_prf(extracted, gold)[2]


def same_day(predicted: str | None, gold: str | None) -> bool:
    """True when both dates agree on their first 10 characters (YYYY-MM-DD)."""
    if not predicted or not gold:
        return False
    return predicted[:10] == gold[:10]


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
