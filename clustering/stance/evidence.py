"""The passages a stance judge reads: an article's sentences, ranked against the claim.

The article is cut into sentences (very short ones merged, long ones cut), ranked by BM25 of the
claim's terms over the article's own sentences (no corpus statistics needed), with a bonus for
the lede and for sentences carrying a refuting or hedging cue word (where distance is usually
written), and taken best first until the judge's token window is full. A few cheap lexical
features of the whole article (claim coverage, cue-word rates) travel with them, since the
window cannot hold the whole article. Costs ~2 CPU-ms per (claim, article).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from clustering.stopwords import ENGLISH

_SENT_RE = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def split_passages(text: str, min_words: int = 5, max_words: int = 60) -> list[str]:
    """Sentences of an article; very short ones are merged into the next, long ones cut."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\n", text or ""):
        para = " ".join(para.split())
        if not para:
            continue
        carry = ""
        for s in _SENT_RE.split(para):
            s = (carry + " " + s).strip() if carry else s.strip()
            carry = ""
            if not s:
                continue
            w = s.split()
            if len(w) < min_words:
                carry = s
                continue
            while len(w) > max_words:
                out.append(" ".join(w[:max_words // 2 + 10]))
                w = w[max_words // 2 + 10:]
            out.append(" ".join(w))
        if carry:
            if out and len(carry.split()) < min_words and len(out[-1].split()) < max_words:
                out[-1] = out[-1] + " " + carry
            else:
                out.append(carry)
    return out


_STOP = ENGLISH | {"said", "says", "say", "s", "t", "new", "just", "like"}


def _stem(w: str) -> str:
    if w.endswith("'s"):
        w = w[:-2]
    for suf in ("ingly", "ings", "ing", "edly", "ed", "ies", "es", "s", "ly"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def terms(text: str) -> list[str]:
    return [_stem(w) for w in _WORD_RE.findall(text.lower()) if w not in _STOP]


# cue words of refutation / distance (stemmed like terms()); a sentence with one gets a bonus
CUE_WORDS = {_stem(w) for w in (
    "hoax hoaxes fake fakes false falsely untrue debunk debunked debunks deny denied denies denial "
    "refute refuted rumor rumour rumors rumours unconfirmed unverified allegedly alleged reportedly "
    "claim claims claimed satire satirical fabricated misleading myth doubt doubts skeptical "
    "sceptical evidence confirm confirmed unclear not no never nothing neither nor").split()}
# note: "not", "no", "never", "nothing", "neither", "nor" are stopwords for the BM25 part only


@dataclass
class EvidenceParams:
    max_len: int = 128          # total tokens incl. [CLS]/[SEP]
    max_claim_tokens: int = 40
    max_passages: int = 8
    min_tail_tokens: int = 12   # a last passage is cut to fit only if this many tokens remain
    k1: float = 1.2
    b: float = 0.75
    lede_bonus: float = 0.25    # x the best BM25 score in the article
    cue_bonus: float = 0.25     # x the best BM25 score in the article

    def to_dict(self):
        return dict(self.__dict__)


def rank_passages(claim: str, passages: list[str], p: EvidenceParams, return_info: bool = False):
    """Passage indices, best first (BM25 of claim terms over the article's own sentences)."""
    if not passages:
        return ([], None) if return_info else []
    docs = [terms(s) for s in passages]
    n = len(docs)
    df: dict[str, int] = {}
    for d in docs:
        for w in set(d):
            df[w] = df.get(w, 0) + 1
    avg = max(1.0, sum(len(d) for d in docs) / n)
    q = set(terms(claim))
    scores = np.zeros(n)
    for i, d in enumerate(docs):
        if not d:
            continue
        tf: dict[str, int] = {}
        for w in d:
            tf[w] = tf.get(w, 0) + 1
        s = 0.0
        for w in q:
            f = tf.get(w)
            if f:
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                s += idf * f * (p.k1 + 1) / (f + p.k1 * (1 - p.b + p.b * len(d) / avg))
        scores[i] = s
    bm25_max = float(scores.max()) if n else 0.0
    top = bm25_max if bm25_max > 0 else 1.0
    scores[0] += p.lede_bonus * top
    raws = [{_stem(w) for w in _WORD_RE.findall(s.lower())} for s in passages]
    for i, raw in enumerate(raws):
        if raw & CUE_WORDS:
            scores[i] += p.cue_bonus * top
    # stable: ties keep article order
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    if not return_info:
        return order
    return order, {"docs": docs, "raws": raws, "q": q, "bm25_max": bm25_max}


REFUTE_WORDS = {_stem(w) for w in (
    "fake fakes fraud hoax hoaxes false falsely untrue deny denied denies denial refute refuted "
    "refutes debunk debunked bogus retract retracted retraction prank pranks nope myth fabricated "
    "satire satirical misleading incorrect wrong lie lies").split()}
HEDGE_WORDS = {_stem(w) for w in (
    "allegedly alleged reportedly claim claims claimed rumor rumors rumour rumours unconfirmed "
    "unverified purportedly apparently supposedly possibly may might could suggest suggests "
    "according sources speculation speculate").split()}
NEG_WORDS = {_stem(w) for w in ("not no never nothing neither nor none didn't doesn't isn't wasn't "
                                 "won't aren't can't don't").split()}
N_FEATS = 13


def pair_features(claim_terms: set, passages_terms: list[list[str]], raws: list[set], bm25_max: float,
                  used_idx: list[int]) -> list[float]:
    """Cheap lexical features of the whole article (cover what the evidence window misses)."""
    n = max(1, len(passages_terms))
    q = claim_terms
    nq = max(1, len(q))
    body = set().union(*passages_terms) if passages_terms else set()
    lede = set().union(*passages_terms[:2]) if passages_terms else set()
    best = max((len(q & set(d)) for d in passages_terms), default=0)
    rate = lambda S: sum(1 for r in raws if r & S) / n
    ev = [raws[i] for i in used_idx if i < len(raws)]
    inev = lambda S: float(any(r & S for r in ev))
    return [math.log1p(len(q)) / 3, len(q & body) / nq, len(q & lede) / nq, best / nq,
            bm25_max / (1 + len(q)), math.log1p(len(passages_terms)) / 4,
            rate(REFUTE_WORDS), rate(HEDGE_WORDS), rate(NEG_WORDS),
            inev(REFUTE_WORDS), inev(HEDGE_WORDS), inev(NEG_WORDS), float(bm25_max == 0)]


@dataclass
class Encoded:
    input_ids: list[int]
    token_type_ids: list[int]
    seg: list[int]              # 0: [CLS]+claim, j>=1: passage j (1-based, best first), -1: pad
    passages: list[str] = field(default_factory=list)   # the passages used, in seg order
    feats: list[float] = field(default_factory=list)


def encode_pair(tokenizer, claim: str, text: str, p: EvidenceParams, title: str | None = None,
                passages: list[str] | None = None) -> Encoded:
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    c = tokenizer(claim, add_special_tokens=False)["input_ids"][: p.max_claim_tokens]
    ids = [cls_id] + c + [sep_id]
    seg = [0] * len(ids)
    tt = [0] * len(ids)
    if passages is None:
        passages = split_passages(text)
    order, info = rank_passages(claim, passages, p, return_info=True)
    cand = ([(-1, title)] if title else []) + [(i, passages[i]) for i in order]
    used: list[str] = []
    used_idx: list[int] = []
    room = p.max_len - len(ids)
    for pi, s in cand:
        if len(used) >= p.max_passages or room < p.min_tail_tokens:
            break
        t = tokenizer(s, add_special_tokens=False)["input_ids"]
        if not t:
            continue
        if len(t) + 1 > room:
            t = t[: room - 1]
        used.append(s)
        used_idx.append(pi)
        j = len(used)
        ids += t + [sep_id]
        seg += [j] * (len(t) + 1)
        tt += [1] * (len(t) + 1)
        room = p.max_len - len(ids)
    if info is None:
        feats = [0.0] * N_FEATS
    else:
        feats = pair_features(info["q"], info["docs"], info["raws"], info["bm25_max"], used_idx)
    return Encoded(ids, tt, seg, used, feats)
