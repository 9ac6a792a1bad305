"""Stance in the database: judge candidate members against their subject's claim, keep the verdicts.

The narrative and watch stages find *candidates* by similarity, which sees the topic and not the
stance. Each candidate is judged here (clustering.stance) against its subject's claim: a
discovered narrative's claim passages (`narratives.claims`), or a watched narrative's description
(or name) and the passage of each example closest to it. An article is judged against each claim
(at most MAX_CLAIMS) and keeps the verdict of the claim it addresses most (highest
1 - p(unrelated)).

Every verdict goes to `stances` with its four probabilities, the passages that decided, the
claim's hash, the article's content hash, the model id and the run; it is reused while all three
are unchanged. An article in a language the judge does not read is judged through its full
translation where one was found (`via_article_id`), else it is "stance not judged". A narrative's
members are its carriers (and the candidates not judged); reports and debunks stay in `stances`;
unrelated candidates are dropped. A watched narrative matches carriers.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlite_utils

from clustering.languages import readable_claims, reads
from clustering.stance.base import STANCES, Judgement
from clustering.translation import STANCE_COVERAGE, stance_partners
from clustering.vectors import stored_passages
from db.migrations import utcnow

logger = logging.getLogger(__name__)

MAX_CLAIMS = 2
MEMBER_STANCES = ("carries",)  # with None: not judged (no judge for the article's language)


def claim_hash(claims: list[str]) -> str:
    return hashlib.sha1(json.dumps([c.strip() for c in claims], ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


@dataclass
class StanceResult:
    judged: int = 0  # (article, subject) pairs judged by the model in this run
    calls: int = 0  # model calls (an article is judged against each of its subject's claims)
    reused: int = 0  # verdicts still current, not judged again
    not_judged: int = 0  # articles in a language the judge does not cover, with no full translation
    via_translation: int = 0  # articles judged through their full translation (counted in `judged` too)
    cpu_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # stance -> pairs judged in this run

    def add(self, other: "StanceResult") -> None:
        self.judged += other.judged
        self.calls += other.calls
        self.reused += other.reused
        self.not_judged += other.not_judged
        self.via_translation += other.via_translation
        self.cpu_s += other.cpu_s
        for k, n in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + n

    def summary(self) -> str:
        if not (self.judged or self.reused or self.not_judged):
            return "none to judge"
        by = ", ".join(f"{self.counts.get(s, 0)} {s}" for s in STANCES if self.counts.get(s))
        extra = f" ({self.via_translation} through a translation)" if self.via_translation else ""
        extra += f"; {self.not_judged} not judged (language)" if self.not_judged else ""
        return f"{self.judged} judged ({by or 'none'}), {self.reused} unchanged{extra}"


def pick(judgements: list[Judgement]) -> Judgement:
    """The verdict toward the claim the article addresses most."""
    return max(judgements, key=lambda j: (1.0 - j.scores.get("unrelated", 0.0)))


def judge_candidates(db: sqlite_utils.Database, judge, kind: str, subject_id: int, claims: list[str],
                     article_ids, run_id: int | None, result: StanceResult | None = None,
                     progress: Callable[[StanceResult], None] | None = None) -> dict[int, str | None]:
    """article id -> stance ("carries" | "reports" | "debunks" | "unrelated", or None where the
    judge does not cover the article's language) toward the subject's claims; verdicts current
    for (claim, content, model) are reused, the others judged and stored."""
    result = result if result is not None else StanceResult()
    ids = sorted({int(a) for a in article_ids})
    # never a verdict on a claim the judge cannot read: its claims in a language it reads
    claims = readable_claims(claims, getattr(judge, "languages", None))[:MAX_CLAIMS]
    if not ids or not claims or judge is None:
        if ids and judge is not None:  # no claim it reads: no verdict of an earlier judge stands either
            _forget(db, kind, subject_id, ids)
        return {a: None for a in ids}
    h = claim_hash(claims)
    out: dict[int, str | None] = {}
    todo: list[dict] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        # a verdict is the judge's reading of (claim, article): reused whichever subject it was made for
        # (a rediscovered narrative keeps its claim passages, a copy of a subject)
        found = list(db.query(
            f"""SELECT s.* FROM stances s JOIN articles a ON a.id = s.article_id
                WHERE s.article_id IN ({marks}) AND s.claim_hash = ? AND s.model_id = ?
                  AND s.content_hash IS a.content_hash""", [*chunk, h, judge.model_id]))
        current = {}
        for r in found:
            if r["article_id"] not in current or (r["kind"], r["subject_id"]) == (kind, subject_id):
                current[r["article_id"]] = r
        copies = [dict(r, kind=kind, subject_id=subject_id) for r in current.values()
                  if (r["kind"], r["subject_id"]) != (kind, subject_id)]
        if copies:
            with db.conn:
                db["stances"].insert_all(copies, pk=("kind", "subject_id", "article_id"), replace=True)
        out.update({a: r["stance"] for a, r in current.items()})
        result.reused += len(current)
        missing = [a for a in chunk if a not in current]
        if missing:
            todo += list(db.query(
                f"SELECT id, title, text, language, content_hash FROM articles WHERE id IN ({','.join('?' * len(missing))})",
                missing))
    languages = getattr(judge, "languages", None)
    partners = (stance_partners(db, [a["id"] for a in todo if not reads(a["language"], languages)], languages)
                if languages else {})
    read_in_place = {r["id"]: r for r in db.query(
        f"SELECT id, title, text FROM articles WHERE id IN ({','.join('?' * len(partners))})",
        sorted(set(partners.values())))} if partners else {}
    rows, unread = [], []
    for i in range(0, len(todo), 64):
        batch = todo[i:i + 64]
        judgeable = []  # (the article, the article the judge reads: itself or its full translation)
        for a in batch:
            if reads(a["language"], languages):
                judgeable.append((a, a))
            elif a["id"] in partners:
                judgeable.append((a, read_in_place[partners[a["id"]]]))
                result.via_translation += 1
            else:
                out[a["id"]] = None
                result.not_judged += 1
                unread.append(a["id"])
        cpu = time.process_time()
        verdicts = _judge(db, judge, claims, [r for _, r in judgeable])
        result.cpu_s += time.process_time() - cpu
        result.calls += len(verdicts)
        for k, (a, read) in enumerate(judgeable):
            j = pick(verdicts[k * len(claims):(k + 1) * len(claims)])
            out[a["id"]] = j.stance
            result.judged += 1
            result.counts[j.stance] = result.counts.get(j.stance, 0) + 1
            rows.append({"kind": kind, "subject_id": subject_id, "article_id": a["id"], "stance": j.stance,
                         **{f"p_{s}": round(j.scores.get(s, 0.0), 4) for s in STANCES},
                         "evidence": json.dumps(j.evidence[:3], ensure_ascii=False), "claim_hash": h,
                         "content_hash": a["content_hash"], "model_id": judge.model_id, "run_id": run_id,
                         "judged_at": utcnow(), "via_article_id": read["id"] if read is not a else None})
        if progress:
            progress(result)
    if rows:
        with db.conn:
            db["stances"].insert_all(rows, pk=("kind", "subject_id", "article_id"), replace=True)
    if unread:  # an earlier judge's verdict on an article this one cannot read is not its stance now
        _forget(db, kind, subject_id, unread)
    return out


def _forget(db: sqlite_utils.Database, kind: str, subject_id: int, article_ids: list[int]) -> None:
    with db.conn:
        for i in range(0, len(article_ids), 500):
            chunk = article_ids[i:i + 500]
            db.execute(f"DELETE FROM stances WHERE kind = ? AND subject_id = ? AND article_id IN "
                       f"({','.join('?' * len(chunk))})", [kind, subject_id, *chunk])


def _judge(db: sqlite_utils.Database, judge, claims: list[str], articles: list[dict]) -> list[Judgement]:
    """The judge's verdicts on each article (row with id, title, text) toward each claim, article
    by article. A judge over a vector space (`judge_vectors`) reads the passages the embed stage
    stored in that space; an article without them is read from its text."""
    if not hasattr(judge, "judge_vectors"):
        return judge.judge_batch([(c, a["text"] or "", a["title"]) for a in articles for c in claims])
    stored = stored_passages(db, judge.space, [a["id"] for a in articles])
    from_text = [a for a in articles if a["id"] not in stored]
    read = dict(zip([(a["id"], c) for a in from_text for c in claims],
                    judge.judge_batch([(c, a["text"] or "", a["title"]) for a in from_text for c in claims])))
    keys = [(a["id"], c) for a in articles if a["id"] in stored for c in claims]
    read.update(zip(keys, judge.judge_vectors([(c, *stored[a]) for a, c in keys])))
    return [read[(a["id"], c)] for a in articles for c in claims]


def members_of(verdicts: dict[int, str | None]) -> set[int]:
    """The candidates that are members: carriers, and those no judge covers."""
    return {a for a, s in verdicts.items() if s is None or s in MEMBER_STANCES}


def drop_verdicts(db: sqlite_utils.Database, kind: str, subject_id: int) -> None:
    """Forget a subject's verdicts (a watched narrative removed or redefined)."""
    db.execute("DELETE FROM stances WHERE kind = ? AND subject_id = ?", [kind, subject_id])


def judge_new_translations(db: sqlite_utils.Database, run_id: int) -> int:
    """A full translation found in this run lets the judge read a member it could not read before:
    the subjects with such a member and no verdict on it forget their stance model, so the
    narrative and watch stages of this run judge their candidates again (current verdicts are
    reused). Returns how many subjects."""
    ids = sorted({a for pair in db.execute("SELECT article_id, source_article_id FROM translations WHERE run_id = ? "
                                           "AND coverage >= ?", [run_id, STANCE_COVERAGE]) for a in pair})
    if not ids:
        return 0
    marks = ",".join("?" * len(ids))
    unjudged = ("NOT EXISTS (SELECT 1 FROM stances s WHERE s.kind = '{kind}' AND s.subject_id = m.{col} "
                "AND s.article_id = m.article_id)")
    with db.conn:
        n = db.execute(f"""UPDATE narratives SET stance_model = NULL WHERE status = 'active' AND stance_model IS NOT NULL
            AND id IN (SELECT m.narrative_id FROM narrative_memberships m WHERE m.article_id IN ({marks})
                       AND {unjudged.format(kind="narrative", col="narrative_id")})""", ids).rowcount
        n += db.execute(f"""UPDATE watched_narratives SET stance_model = NULL WHERE stance_model IS NOT NULL
            AND id IN (SELECT m.watch_id FROM watch_matches m WHERE m.article_id IN ({marks})
                       AND {unjudged.format(kind="watch", col="watch_id")})""", ids).rowcount
    return n
