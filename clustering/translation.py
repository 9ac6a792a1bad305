"""Translated relays: an article whose passages closely match an earlier article's passages in
another language. Shingle-based text reuse (reuse.py) cannot see these.

For each article a multilingual embedder embedded and that is not yet checked:
1. candidates: articles in another language within WINDOW_DAYS, document cosine >= DOC_MIN;
2. alignment: body passages paired one to one, best cosine first; >= PASSAGE_MIN: translated;
3. a translation when >= MIN_MATCHED passages of the shorter article, and >= MIN_SHARE of them,
   are translated (a partial relay translates half an article and adds its own);
4. where passages fall short but one pair reaches SENTENCE_GATE, the same test on sentences
   (SENTENCE_MIN, MIN_SENTENCES): a relay that regroups what it translates does not line up
   passage by passage.
The earlier article is the source. Each pair goes to `translations` with its evidence and
coverage; spread makes it a `translation` edge, and the stance stage reads an article no judge
reads through a pair covering most of both (`stance_partners`). Thresholds:
bench/eval_translation.py; BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import json
import logging
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from clustering.languages import language_code
from clustering.passages import sentences
from clustering.vectors import stack
from db.migrations import utcnow

logger = logging.getLogger(__name__)

WINDOW_DAYS = 14.0
DOC_MIN = 0.5
PASSAGE_MIN = 0.65
MIN_SHARE = 0.3
MIN_MATCHED = 2
SENTENCE_GATE = 0.6
SENTENCE_MIN = 0.65
MIN_SENTENCES = 3
MIN_SENTENCE_WORDS = 4
MAX_EVIDENCE = 3
COMMIT_EVERY = 200  # articles checked per transaction
# a verdict passes along a pair only when its aligned sentences are most of both articles: a partial
# relay adds paragraphs of its own, which may frame the claim otherwise (set a priori, not tuned)
STANCE_COVERAGE = 0.7


@dataclass
class TranslationResult:
    checked: int = 0
    pairs: int = 0


@dataclass
class Alignment:
    matched: int
    share: float  # of the shorter article's units
    cosine: float  # mean cosine of the matched passages
    pairs: list  # [(passage idx here, passage idx there, cosine)], best first
    coverage: float = 0.0  # of the longer article's units


def is_multilingual(embedder) -> bool:
    return len(getattr(embedder, "languages", None) or ()) > 1


def align(mine: np.ndarray, theirs: np.ndarray, *, passage_min: float = PASSAGE_MIN) -> Alignment:
    """Body passages (rows; the title row already dropped) of two articles, aligned one to one,
    greedily by cosine (a translation renders each passage once; two passages on one topic both
    resemble a third, which a one-to-one alignment does not count twice). The share is over the
    shorter article (a relay that adds its own paragraphs is still a translation)."""
    if not len(mine) or not len(theirs):
        return Alignment(0, 0.0, 0.0, [])
    sims = mine @ theirs.T
    order = np.argsort(-sims, axis=None, kind="stable")
    used_i, used_j, hit = set(), set(), []
    for flat in order:
        i, j = divmod(int(flat), sims.shape[1])
        c = float(sims[i, j])
        if c < passage_min:
            break
        if i in used_i or j in used_j:
            continue
        used_i.add(i)
        used_j.add(j)
        hit.append((i, j, c))
    n = min(len(mine), len(theirs))
    return Alignment(len(hit), len(hit) / n, float(np.mean([p[2] for p in hit])) if hit else 0.0, hit,
                     len(hit) / max(len(mine), len(theirs)))


def is_translation(a: Alignment, *, min_share: float = MIN_SHARE, min_matched: int = MIN_MATCHED) -> bool:
    return a.matched >= min_matched and a.share >= min_share


def sentence_coverage(mine: np.ndarray, theirs: np.ndarray) -> float:
    """How much of both articles a pair's translation is: sentences aligned one to one at
    SENTENCE_MIN over the longer article's sentences. Passages are too coarse for this: a full
    translation that groups its sentences otherwise aligns few passages, but most sentences."""
    return align(mine, theirs, passage_min=SENTENCE_MIN).coverage


def article_sentences(text: str | None) -> list[str]:
    return [s for s in sentences(text or "") if len(s.split()) >= MIN_SENTENCE_WORDS]


def translation_between(mine: np.ndarray, theirs: np.ndarray, sentence_vectors) -> tuple[Alignment | None, str]:
    """(the alignment that makes two articles a translation, its unit: "passage" or "sentence"), or
    (None, ""). `mine`/`theirs`: body passage vectors; `sentence_vectors()` -> ((vectors, texts)
    of mine, (vectors, texts) of theirs), called only when the passages fall short but come close."""
    a = align(mine, theirs)
    if is_translation(a):
        return a, "passage"
    if not align(mine, theirs, passage_min=SENTENCE_GATE).matched:
        return None, ""
    (sm, _), (st, _) = sentence_vectors()
    s = align(sm, st, passage_min=SENTENCE_MIN)
    return (s, "sentence") if is_translation(s, min_matched=MIN_SENTENCES) else (None, "")


def _passages(db, model_id: str, article_id: int, dim: int) -> tuple[np.ndarray, list[str]]:
    rows = db.execute("SELECT idx, text, vector FROM passages WHERE article_id = ? AND model_id = ? AND idx > 0 "
                      "ORDER BY idx", [article_id, model_id]).fetchall()
    return stack([r[2] for r in rows], dim), [r[1] for r in rows]


class _TimeIndex:
    """Every article embedded with the model that has a language and a time, sorted by time: the
    articles in another language within WINDOW_DAYS of one are a bisection away (a query per
    article scanned the whole table, a cost that grew with the database)."""

    def __init__(self, db: sqlite_utils.Database, model_id: str):
        self.model_id = model_id
        rows = sorted(db.execute(
            """SELECT julianday(coalesce(a.published_at, a.fetched_at)) AS t, e.article_id,
                      substr(lower(a.language), 1, 2)
               FROM embeddings e JOIN articles a ON a.id = e.article_id
               WHERE e.model_id = ? AND a.language IS NOT NULL AND a.language != '' AND t IS NOT NULL""",
            [model_id]).fetchall())
        self.times = [r[0] for r in rows]
        self.rows = rows

    def others(self, db: sqlite_utils.Database, article_id: int, lang: str, t: float | None) -> list[tuple]:
        """(article id, document vector, time) of the articles in another language near `t`."""
        if t is None:
            return []
        lo, hi = bisect_left(self.times, t - WINDOW_DAYS), bisect_right(self.times, t + WINDOW_DAYS)
        near = {a: ta for ta, a, la in self.rows[lo:hi] if la != lang and a != article_id}
        if not near:
            return []
        ids = sorted(near)
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += db.execute(f"SELECT article_id, vector FROM embeddings WHERE model_id = ? AND article_id IN "
                              f"({','.join('?' * len(chunk))}) ORDER BY article_id", [self.model_id, *chunk]).fetchall()
        return [(a, v, near[a]) for a, v in out]


def _store(db: sqlite_utils.Database, pairs: list[dict], checks: list[dict]) -> None:
    """Pairs found and articles checked, in one transaction; the lists are emptied."""
    with db.conn:
        if pairs:
            db["translations"].insert_all(pairs, replace=True)
        if checks:
            db["translation_checks"].insert_all(checks, pk=("article_id", "model_id"), replace=True)
    pairs.clear()
    checks.clear()


def find_translations(db: sqlite_utils.Database, embedder, run_id: int | None = None) -> TranslationResult:
    """Check every article embedded with `embedder` and not yet checked (incremental, idempotent)."""
    model_id = embedder.model_id
    result = TranslationResult()
    sentence_cache: dict[int, tuple[np.ndarray, list[str]]] = {}

    def sentence_vectors(article_id: int):
        if article_id not in sentence_cache:
            row = db.execute("SELECT text FROM articles WHERE id = ?", [article_id]).fetchone()
            texts = article_sentences(row[0] if row else "")
            sentence_cache[article_id] = (embedder.embed(texts) if texts else np.zeros((0, embedder.dim), np.float32),
                                          texts)
        return sentence_cache[article_id]

    todo = db.execute(
        """SELECT e.article_id, e.dim, e.vector, a.language, julianday(coalesce(a.published_at, a.fetched_at)) AS t,
                  e.content_hash
           FROM embeddings e JOIN articles a ON a.id = e.article_id
           WHERE e.model_id = ? AND a.language IS NOT NULL AND a.language != ''
             AND NOT EXISTS (SELECT 1 FROM translation_checks c WHERE c.article_id = e.article_id
                             AND c.model_id = e.model_id AND c.content_hash IS e.content_hash)
           ORDER BY t, e.article_id""", [model_id]).fetchall()
    now = utcnow()
    if todo:
        # the pairs of every article checked now are found again (a changed text may have lost them)
        with db.conn:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS translation_todo (id INTEGER PRIMARY KEY)")
            db.execute("DELETE FROM translation_todo")
            db.conn.executemany("INSERT INTO translation_todo VALUES (?)", [(r[0],) for r in todo])
            db.execute("""DELETE FROM translations WHERE model_id = ? AND (article_id IN (SELECT id FROM translation_todo)
                          OR source_article_id IN (SELECT id FROM translation_todo))""", [model_id])
    checked_now: set[int] = set()  # their pairs with every later article of this run are already decided
    window = _TimeIndex(db, model_id) if todo else None
    checks: list[dict] = []
    pairs: list[dict] = []
    for article_id, dim, blob, lang, t, content_hash in todo:
        lang = language_code(lang)
        others = window.others(db, article_id, lang, t)
        found = []
        if others:
            doc = stack([blob], dim)[0]
            sims = stack([o[1] for o in others], dim) @ doc
            mine = None
            for k in np.nonzero(sims >= DOC_MIN)[0]:
                other_id, _, other_t = others[int(k)]
                if other_id in checked_now:
                    continue
                if mine is None:
                    mine, my_texts = _passages(db, model_id, article_id, dim)
                theirs, their_texts = _passages(db, model_id, other_id, dim)
                a, unit = translation_between(mine, theirs, lambda o=other_id: (sentence_vectors(article_id),
                                                                                sentence_vectors(o)))
                if a is None:
                    continue
                mt, tt = ((sentence_vectors(article_id)[1], sentence_vectors(other_id)[1]) if unit == "sentence"
                          else (my_texts, their_texts))
                later_is_me = (t, article_id) > (other_t, other_id)
                src, dst = (other_id, article_id) if later_is_me else (article_id, other_id)
                ev = [{"passage": mt[i][:200] if later_is_me else tt[j][:200],
                       "source_passage": tt[j][:200] if later_is_me else mt[i][:200],
                       "cosine": round(c, 3), "unit": unit} for i, j, c in a.pairs[:MAX_EVIDENCE]]
                found.append({"article_id": dst, "source_article_id": src, "model_id": model_id,
                              "matched": a.matched, "share": round(a.share, 3),
                              "coverage": round(sentence_coverage(sentence_vectors(article_id)[0],
                                                                  sentence_vectors(other_id)[0]), 3),
                              "cosine": round(a.cosine, 3),
                              "evidence": json.dumps(ev, ensure_ascii=False), "run_id": run_id, "found_at": now})
        pairs += found
        checks.append({"article_id": article_id, "model_id": model_id, "content_hash": content_hash,
                       "checked_at": now})
        if len(checks) >= COMMIT_EVERY:
            _store(db, pairs, checks)
        checked_now.add(article_id)
        result.checked += 1
        result.pairs += len(found)
    _store(db, pairs, checks)
    if todo:
        logger.info("translations: %d articles checked, %d pairs found", result.checked, result.pairs)
    return result


def stance_partners(db: sqlite_utils.Database, article_ids, languages: set[str]) -> dict[int, int]:
    """article id -> the article in one of `languages` that it translates or that translates it,
    where the pair covers at least STANCE_COVERAGE of both (the best-covering one): the article a
    stance judge of those languages reads in its place."""
    ids = sorted({int(a) for a in article_ids})
    best: dict[int, tuple[float, int]] = {}
    if not ids or "translations" not in db.table_names():
        return {}
    for i in range(0, len(ids), 400):
        chunk = ids[i:i + 400]
        mine = set(chunk)
        marks = ",".join("?" * len(chunk))
        for a, b, coverage, lang_a, lang_b in db.execute(
                f"""SELECT t.article_id, t.source_article_id, t.coverage, x.language, y.language
                    FROM translations t JOIN articles x ON x.id = t.article_id JOIN articles y ON y.id = t.source_article_id
                    WHERE t.coverage >= ? AND (t.article_id IN ({marks}) OR t.source_article_id IN ({marks}))""",
                [STANCE_COVERAGE, *chunk, *chunk]):
            for me, other, lang in ((a, b, lang_b), (b, a, lang_a)):
                if me in mine and language_code(lang) in languages and (coverage, -other) > best.get(me, (0, 0)):
                    best[me] = (coverage, -other)
    return {a: -o for a, (_, o) in best.items()}
