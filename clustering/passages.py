"""Passages: the short spans of an article that carry a claim.

Narratives are carried by a few sentences, not whole articles, so watched-narrative matching and
narrative discovery compare passages. A passage is one or two consecutive sentences (up to
MAX_WORDS words); the title is passage 0. At most MAX_PASSAGES per article keep embedding cost
bounded.
"""
from __future__ import annotations

import re

MAX_PASSAGES = 24
MAX_WORDS = 60
MIN_WORDS = 5

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)]*\s+(?=[\"'“‘«„(—]?\s?[A-ZÀ-ÖØ-ÞА-ЯЁ0-9])")


def sentences(text: str) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n|\n", text or ""):
        para = para.strip()
        if para:
            out.extend(s.strip() for s in _SENTENCE_END.split(para) if s.strip())
    return out


def split_passages(title: str | None, text: str | None, *, max_passages: int = MAX_PASSAGES) -> list[str]:
    """[title, passage, ...]: sentences joined in pairs while under MAX_WORDS words."""
    passages = [title.strip()] if title and title.strip() else []
    buf: list[str] = []
    words = 0
    for sent in sentences(text or ""):
        n = len(sent.split())
        if buf and (words + n > MAX_WORDS or len(buf) >= 2):
            passages.append(" ".join(buf))
            buf, words = [], 0
        buf.append(sent)
        words += n
    if buf:
        passages.append(" ".join(buf))
    passages = [p for i, p in enumerate(passages) if i == 0 or len(p.split()) >= MIN_WORDS]
    return passages[:max_passages]


def embed_grouped(embed, groups: list[list[str]]) -> list:
    """Each group's vectors (an article's passages), from one call of `embed` over all their texts."""
    flat = [t for g in groups for t in g]
    vecs = embed(flat) if flat else []
    out, i = [], 0
    for g in groups:
        out.append(vecs[i:i + len(g)])
        i += len(g)
    return out
