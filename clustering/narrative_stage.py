"""The narratives stage in the database: discover recurring narratives, keep their ids stable.

New articles are assigned to the existing narratives (nearest narrative in the context-removed
passage space, `clustering.narratives.assign_to_narratives`) without re-clustering history.
Full discovery runs when there is none yet, when the corpus grew by REDISCOVER_GROWTH since the
last discovery, or when forced (`process --rediscover`). It clusters every embedded article up to
DISCOVERY_MAX_ARTICLES; above that, an even stride of that many articles over the whole history
(oldest to newest), and the others are assigned to the narratives found, DISCOVERY_CHUNK articles
at a time, so memory stays bounded however large the database (at 1M articles every passage
vector together would be ~25 GB). Its clusters
inherit the ids of the narratives they continue (`clustering.stable_ids`), and merges, splits,
new and retired narratives are written to `narrative_lineage` with the run that made them. Each
membership row records its run, method, score and model.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from clustering.carrier import load_carrier
from clustering.narratives import DocInfo, assign_to_narratives, discover_narratives, in_language, label_language
from clustering.stable_ids import match_ids
from clustering.stance_stage import StanceResult, judge_candidates, members_of
from clustering.vectors import from_blob, normalize, stack, to_blob
from db.queries import article_languages

logger = logging.getLogger(__name__)

METHOD = "passage-residual-agglomerative"
ASSIGN_METHOD = "nearest-residual-centroid"
# Re-discover when the corpus grew by half since the last discovery: new narratives surface,
# while between discoveries the cost per new article stays flat and ids cannot churn.
REDISCOVER_GROWTH = 0.5
# Memory, not quality, sets this: 20,000 articles are ~320,000 passage vectors (~0.5 GB with their
# context-removed copies); discovery clusters at most NarrativeParams.max_items passages anyway.
DISCOVERY_MAX_ARTICLES = 20_000
DISCOVERY_CHUNK = 5_000


@dataclass
class NarrativeStageResult:
    discovered: bool = False
    articles: int = 0
    active: int = 0
    lineage: dict[str, int] = field(default_factory=dict)
    assigned: int | None = None  # set by incremental assignment: memberships added
    touched: list[int] = field(default_factory=list)  # narratives whose members changed

    def summary(self) -> str:
        if self.assigned is not None:
            return f"{self.articles} new articles assigned to {self.active} narratives ({self.assigned} memberships)"
        if not self.discovered:
            return "unchanged"
        changes = ", ".join(f"{n} {k}" for k, n in sorted(self.lineage.items()) if k != "continued") or "no id changes"
        return f"{self.active} active over {self.articles} articles ({changes})"


def _last_discovery_size(db, model_id: str) -> int | None:
    row = db.execute("SELECT stats FROM runs WHERE stage = 'narratives' AND finished_at IS NOT NULL "
                     "AND json_extract(params, '$.model_id') = ? ORDER BY id DESC LIMIT 1", [model_id]).fetchone()
    return json.loads(row[0]).get("articles") if row and row[0] else None


def load_corpus(db: sqlite_utils.Database, model_id: str, article_ids: list[int] | None = None):
    """(docs, passage vectors, each passage's doc index) of every embedded article, or of
    `article_ids` only."""
    docs: list[DocInfo] = []
    index: dict[int, int] = {}
    only = ""
    if article_ids is not None:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS corpus_ids (article_id INTEGER PRIMARY KEY)")
        db.execute("DELETE FROM corpus_ids")
        db.conn.executemany("INSERT OR IGNORE INTO corpus_ids VALUES (?)", [(int(a),) for a in article_ids])
        # end the transaction the temp table's writes opened: held, it would pin a snapshot that a
        # crawl's commits make stale, and this run's later writes would fail as "database is locked"
        db.conn.commit()
        only = "AND e.article_id IN (SELECT article_id FROM corpus_ids)"
    for r in db.query(
        f"""SELECT a.id, a.title, a.text, a.outlet, a.published_at, a.language, m.event_id FROM embeddings e
           JOIN articles a ON a.id = e.article_id LEFT JOIN event_memberships m ON m.article_id = a.id
           WHERE e.model_id = ? {only} ORDER BY a.id""", [model_id]):
        index[r["id"]] = len(docs)
        docs.append(DocInfo(r["id"], r["title"] or "", r["text"] or "", r["outlet"],
                            r["event_id"], r["published_at"], r["language"]))
    blobs, owner = [], []
    for aid, blob in db.execute(f"SELECT article_id, vector FROM passages e WHERE model_id = ? {only} "
                                "ORDER BY article_id, idx", [model_id]):
        if aid in index:
            blobs.append(blob)
            owner.append(index[aid])
    dim = len(blobs[0]) // 4 if blobs else 0
    vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim) if blobs else np.zeros((0, 0))
    return docs, vectors, np.asarray(owner, dtype=np.int64)


def _carrier_scores(db, model_id: str, vectors: np.ndarray, owner, article_ids: list[int]):
    """Narrative-carrier logit per article (None without a carrier model for this embedding model),
    with its language's offset."""
    model = load_carrier(model_id)
    if model is None or not len(vectors):
        return None
    return model.doc_scores(vectors, owner, len(article_ids), article_languages(db, article_ids))


def narratives_stale(db: sqlite_utils.Database, model_id: str) -> bool:
    """True when embedded articles have not been looked at by the narrative stage."""
    return db.execute("SELECT EXISTS (SELECT 1 FROM pending WHERE stage = 'narratives')").fetchone()[0] == 1


CLAIMS = 3  # claim passages kept per narrative (the judge reads the first MAX_CLAIMS of them)


def distinct(texts: list[str]) -> list[str]:
    """Texts without repeats (a syndicated copy repeats its original's passages)."""
    seen, out = set(), []
    for t in texts:
        key = " ".join(t.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _passage_texts(db, model_id: str, docs: list[DocInfo], owner: np.ndarray, indexes: list[int]) -> list[str]:
    """Texts of passages given by their index in `load_corpus`'s vectors (article order, then idx)."""
    first = {}
    for i, d in enumerate(owner.tolist()):
        first.setdefault(d, i)
    out = []
    for i in indexes:
        d = int(owner[i])
        row = db.execute("SELECT text FROM passages WHERE model_id = ? AND article_id = ? AND idx = ?",
                         [model_id, docs[d].article_id, i - first[d]]).fetchone()
        if row and row[0]:
            out.append(row[0])
    return out


def _stance_keep(db, model_id: str, run_id: int, judge, docs, owner, stance: StanceResult, progress):
    """discover_narratives' `keep`: each cluster's members judged against its claim passages. The
    verdicts are stored under a provisional subject (the cluster's index, negative) and moved to
    the narrative's id once ids are matched."""
    def keep(clusters):
        out = []
        for k, c in enumerate(clusters):
            c.claims = distinct(_passage_texts(db, model_id, docs, owner, c.claim_passages))[:CLAIMS]
            c.provisional_id = -1 - k  # clusters are dropped and reordered after this: the id travels with it
            verdicts = judge_candidates(db, judge, "narrative", c.provisional_id, c.claims, c.members, run_id, stance,
                                        progress)
            out.append(members_of(verdicts))
        return out
    return keep


def update_narratives(db: sqlite_utils.Database, model_id: str, run_id: int, *, force: bool = False,
                      judge=None, stance: StanceResult | None = None, progress=None,
                      lineage_from: tuple[str, ...] = ()) -> NarrativeStageResult:
    """Discover (or assign new articles to) narratives; with `judge`, only carriers of a
    narrative's claim (and articles the judge does not cover) are its members. `lineage_from`:
    other models whose active narratives the discovered ones continue (ids kept through lineage)
    or retire, as after `narratives switch-model`."""
    result = NarrativeStageResult()
    stance = stance if stance is not None else StanceResult()
    if not force and not narratives_stale(db, model_id):
        return result
    n_articles = db.execute("SELECT count(*) FROM embeddings WHERE model_id = ?", [model_id]).fetchone()[0]
    last = _last_discovery_size(db, model_id)
    if not force and last and n_articles < last * (1 + REDISCOVER_GROWTH):
        return assign_new_articles(db, model_id, run_id, judge=judge, stance=stance, progress=progress)
    all_ids = [r[0] for r in db.execute("SELECT article_id FROM embeddings WHERE model_id = ? ORDER BY article_id",
                                        [model_id])]
    sample = _discovery_sample(all_ids)
    docs, vectors, owner = load_corpus(db, model_id, sample if len(sample) < len(all_ids) else None)
    with db.conn:  # provisional verdicts of an earlier, interrupted discovery
        db.execute("DELETE FROM stances WHERE kind = 'narrative' AND subject_id < 0")
    keep = _stance_keep(db, model_id, run_id, judge, docs, owner, stance, progress) if judge is not None else None
    clusters = discover_narratives(docs, vectors, owner, carrier=_carrier_scores(db, model_id, vectors, owner, [d.article_id for d in docs]),
                                   keep=keep)
    del vectors, owner
    assigned = _assign_rest(db, model_id, clusters, sorted(set(all_ids) - set(sample)))
    if judge is not None:
        assigned = [{a: s for a, s in more.items() if a in members_of(judge_candidates(
            db, judge, "narrative", c.provisional_id, c.claims, more, run_id, stance, progress))}
            for c, more in zip(clusters, assigned)]
    old: dict[int, set[int]] = {}
    models = [model_id, *lineage_from]
    for nid, aid in db.execute("SELECT m.narrative_id, m.article_id FROM narrative_memberships m JOIN narratives n "
                               f"ON n.id = m.narrative_id WHERE n.status = 'active' AND n.model_id IN "
                               f"({','.join('?' * len(models))})", models):
        old.setdefault(nid, set()).add(aid)
    next_id = (db.execute("SELECT max(id) FROM narratives").fetchone()[0] or 0) + 1
    ids, lineage = match_ids(old, [set(int(a) for a in c.members) | set(more) for c, more in zip(clusters, assigned)],
                             next_id)
    with db.conn:
        stage_run = db["runs"].insert({"stage": "narratives", "started_at": db.execute(
            "SELECT started_at FROM runs WHERE id = ?", [run_id]).fetchone()[0],
            "params": json.dumps({"model_id": model_id, "process_run": run_id})}).last_pk
        if old:
            db.execute(f"DELETE FROM narrative_memberships WHERE narrative_id IN ({','.join('?' * len(old))})", list(old))
        if judge is not None:  # the clusters' verdicts (provisional ids) replace the old narratives'
            db.execute("DELETE FROM stances WHERE kind = 'narrative' AND subject_id >= 0")
            for nid, cluster in zip(ids, clusters):
                db.execute("UPDATE stances SET subject_id = ? WHERE kind = 'narrative' AND subject_id = ?",
                           [nid, cluster.provisional_id])
            db.execute("DELETE FROM stances WHERE kind = 'narrative' AND subject_id < 0")  # clusters dropped
        for nid, cluster, more in zip(ids, clusters, assigned):
            row = {"id": nid, "label": " / ".join(cluster.keywords[:4]) or cluster.headline,
                   "keywords": json.dumps(cluster.keywords), "headline": cluster.headline, "status": "active",
                   "label_language": cluster.language or None,
                   "centroid": to_blob(cluster.centroid), "residual_centroid": to_blob(cluster.residual_centroid),
                   "context": to_blob(cluster.context), "model_id": model_id, "updated_run": stage_run,
                   "claims": json.dumps(getattr(cluster, "claims", []), ensure_ascii=False),
                   "stance_model": judge.model_id if judge is not None else None}
            if nid not in old:
                row["created_run"] = stage_run
            db["narratives"].upsert(row, pk="id")
            rows = [(aid, score, ASSIGN_METHOD if aid in cluster.assigned else METHOD)
                    for aid, score in sorted(cluster.members.items())]
            rows += [(aid, score, ASSIGN_METHOD) for aid, score in sorted(more.items())]
            db["narrative_memberships"].insert_all(
                {"narrative_id": nid, "article_id": int(aid), "run_id": stage_run, "score": round(float(score), 5),
                 "method": method, "model_id": model_id} for aid, score, method in rows)
        for item in lineage:
            result.lineage[item.kind] = result.lineage.get(item.kind, 0) + 1
            if item.kind in ("merged", "retired"):
                db["narratives"].update(item.from_id, {"status": item.kind, "updated_run": stage_run})
            if item.kind != "continued":
                db["narrative_lineage"].insert({"run_id": stage_run, "kind": item.kind, "from_id": item.from_id,
                                                "to_id": item.to_id, "overlap": item.overlap})
        db.execute("DELETE FROM pending WHERE stage = 'narratives'")
        _refresh_counts(db, stage_run)
        db["runs"].update(stage_run, {"finished_at": db.execute("SELECT strftime('%Y-%m-%dT%H:%M:%SZ','now')").fetchone()[0],
                                      "stats": json.dumps({"articles": n_articles, "narratives": len(clusters),
                                                           "lineage": result.lineage})})
    result.discovered = True
    result.articles = n_articles
    result.active = len(clusters)
    result.touched = sorted(ids)
    return result


def _discovery_sample(article_ids: list[int]) -> list[int]:
    """All ids up to DISCOVERY_MAX_ARTICLES, else an even stride over them (deterministic)."""
    if len(article_ids) <= DISCOVERY_MAX_ARTICLES:
        return list(article_ids)
    pick = np.unique(np.linspace(0, len(article_ids) - 1, DISCOVERY_MAX_ARTICLES).round().astype(np.int64))
    return [article_ids[i] for i in pick]


def _assign_rest(db, model_id: str, clusters, article_ids: list[int]) -> list[dict[int, float]]:
    """Per cluster, {article id: score} of the articles discovery did not cluster, assigned to the
    nearest narrative as new articles are (`assign_to_narratives`), DISCOVERY_CHUNK at a time."""
    out: list[dict[int, float]] = [dict() for _ in clusters]
    if not clusters or not article_ids:
        return out
    rc = np.stack([c.residual_centroid for c in clusters])
    for i in range(0, len(article_ids), DISCOVERY_CHUNK):
        chunk = article_ids[i:i + DISCOVERY_CHUNK]
        vectors, owner = _passage_vectors(db, model_id, chunk)
        if not len(vectors):
            continue
        scores = assign_to_narratives(rc, clusters[0].context, vectors, owner, len(chunk),
                                      carrier=_carrier_scores(db, model_id, vectors, owner, chunk))
        for aid, doc_scores in zip(chunk, scores):
            for k, score in doc_scores.items():
                out[k][int(aid)] = float(score)
    return out


def _passage_vectors(db, model_id: str, article_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(passage vectors, each one's index into `article_ids`) of these articles, in article and
    passage order; only the vectors are read (assignment needs no text)."""
    blobs, owner = [], []
    pos = {aid: i for i, aid in enumerate(article_ids)}
    for i in range(0, len(article_ids), 500):
        chunk = article_ids[i:i + 500]
        for aid, blob in db.execute(f"SELECT article_id, vector FROM passages WHERE model_id = ? AND article_id IN "
                                    f"({','.join('?' * len(chunk))}) ORDER BY article_id, idx", [model_id, *chunk]):
            blobs.append(blob)
            owner.append(pos[aid])
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
    return stack(blobs, len(blobs[0]) // 4), np.asarray(owner, dtype=np.int64)


def _refresh_counts(db, run_id: int) -> None:
    """Counts of the narratives updated by `run_id`, from all their members (after a discovery)."""
    _recount(db, [r[0] for r in db.execute("SELECT id FROM narratives WHERE updated_run = ?", [run_id])])


def _recount(db, ids: list[int]) -> None:
    """Counts of these narratives from all their members, and their distinct outlets and events,
    which later runs add to."""
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        db.execute(f"""
            UPDATE narratives SET
              article_count = (SELECT count(*) FROM narrative_memberships m WHERE m.narrative_id = narratives.id),
              outlet_count = (SELECT count(DISTINCT a.outlet) FROM narrative_memberships m
                              JOIN articles a ON a.id = m.article_id WHERE m.narrative_id = narratives.id),
              event_count = (SELECT count(DISTINCT em.event_id) FROM narrative_memberships m
                             JOIN event_memberships em ON em.article_id = m.article_id WHERE m.narrative_id = narratives.id),
              first_seen_at = (SELECT min(coalesce(a.published_at, a.fetched_at)) FROM narrative_memberships m
                               JOIN articles a ON a.id = m.article_id WHERE m.narrative_id = narratives.id),
              last_seen_at = (SELECT max(coalesce(a.published_at, a.fetched_at)) FROM narrative_memberships m
                              JOIN articles a ON a.id = m.article_id WHERE m.narrative_id = narratives.id)
            WHERE id IN ({marks})""", chunk)
        db.execute(f"DELETE FROM narrative_outlets WHERE narrative_id IN ({marks})", chunk)
        db.execute(f"DELETE FROM narrative_events WHERE narrative_id IN ({marks})", chunk)
        db.execute(f"""INSERT OR IGNORE INTO narrative_outlets SELECT m.narrative_id, a.outlet FROM narrative_memberships m
                       JOIN articles a ON a.id = m.article_id WHERE m.narrative_id IN ({marks})""", chunk)
        db.execute(f"""INSERT OR IGNORE INTO narrative_events SELECT m.narrative_id, e.event_id
                       FROM narrative_memberships m JOIN event_memberships e ON e.article_id = m.article_id
                       WHERE m.narrative_id IN ({marks})""", chunk)


def recount_narratives(db, model_id: str) -> None:
    """Counts of every active narrative of the model from all its members (after its events were
    rebuilt, so their event counts are new)."""
    with db.conn:
        _recount(db, [r[0] for r in db.execute(
            "SELECT id FROM narratives WHERE status = 'active' AND model_id = ?", [model_id])])


def _add_counts(db, members: list[tuple[int, int]], recount: set[int]) -> None:
    """Add new memberships (narrative, article) to their narratives' counts without reading the
    older members: article_count grows by the new members, the distinct outlets and events gain
    theirs, first/last seen widen. Narratives in `recount`, and those not counted yet, are counted
    from all their members (`_recount`), which gives the same numbers."""
    by_narrative: dict[int, list[int]] = {}
    for nid, aid in members:
        by_narrative.setdefault(nid, []).append(aid)
    for nid in sorted(by_narrative):
        if nid not in recount and not db.execute("SELECT EXISTS (SELECT 1 FROM narrative_outlets WHERE narrative_id = ?) "
                                                 "AND (SELECT article_count FROM narratives WHERE id = ?) IS NOT NULL",
                                                 [nid, nid]).fetchone()[0]:
            recount.add(nid)
    _recount(db, sorted(recount))
    for nid, all_aids in sorted(by_narrative.items()):
        if nid in recount:
            continue
        for i in range(0, len(all_aids), 500):
            aids = all_aids[i:i + 500]
            marks = ",".join("?" * len(aids))
            db.execute(f"""INSERT OR IGNORE INTO narrative_outlets SELECT DISTINCT ?, outlet FROM articles
                           WHERE id IN ({marks})""", [nid, *aids])
            db.execute(f"""INSERT OR IGNORE INTO narrative_events SELECT DISTINCT ?, event_id FROM event_memberships
                           WHERE article_id IN ({marks})""", [nid, *aids])
            db.execute(f"""UPDATE narratives SET
                             article_count = article_count + ?,
                             outlet_count = (SELECT count(*) FROM narrative_outlets WHERE narrative_id = narratives.id),
                             event_count = (SELECT count(*) FROM narrative_events WHERE narrative_id = narratives.id),
                             first_seen_at = (SELECT min(t) FROM (SELECT narratives.first_seen_at AS t UNION ALL
                               SELECT coalesce(published_at, fetched_at) FROM articles WHERE id IN ({marks}))),
                             last_seen_at = (SELECT max(t) FROM (SELECT narratives.last_seen_at AS t UNION ALL
                               SELECT coalesce(published_at, fetched_at) FROM articles WHERE id IN ({marks})))
                           WHERE id = ?""", [len(aids), *aids, *aids, nid])


def assign_new_articles(db: sqlite_utils.Database, model_id: str, run_id: int, *, judge=None,
                        stance: StanceResult | None = None, progress=None) -> NarrativeStageResult:
    """Articles not yet looked at -> existing narratives, without touching older memberships;
    with `judge`, only the carriers of a narrative's claims (and articles it does not cover)."""
    result = NarrativeStageResult(assigned=0)
    rows = list(db.query("SELECT id, residual_centroid, context, claims FROM narratives WHERE status = 'active' "
                         "AND model_id = ? AND residual_centroid IS NOT NULL ORDER BY id", [model_id]))
    new_ids = [r[0] for r in db.execute(
        """SELECT p.article_id FROM pending p JOIN embeddings e ON e.article_id = p.article_id AND e.model_id = ?
           WHERE p.stage = 'narratives' ORDER BY p.article_id""", [model_id])]
    vectors, owner = _passage_vectors(db, model_id, new_ids)
    scores: list[dict[int, float]] = [dict() for _ in new_ids]
    if rows and len(vectors):
        scores = assign_to_narratives(stack((r["residual_centroid"] for r in rows), vectors.shape[1]),
                                      from_blob(rows[0]["context"]), vectors, owner, len(new_ids),
                                      carrier=_carrier_scores(db, model_id, vectors, owner, new_ids))
    if judge is not None:
        for k, row in enumerate(rows):
            candidates = [aid for aid, doc_scores in zip(new_ids, scores) if k in doc_scores]
            if candidates:
                kept = members_of(judge_candidates(db, judge, "narrative", row["id"], json.loads(row["claims"] or "[]"),
                                                   candidates, run_id, stance, progress))
                for aid, doc_scores in zip(new_ids, scores):
                    if k in doc_scores and aid not in kept:
                        del doc_scores[k]
    with db.conn:
        members = [{"narrative_id": rows[k]["id"], "article_id": aid, "run_id": run_id, "score": float(score),
                    "method": ASSIGN_METHOD, "model_id": model_id}
                   for aid, doc_scores in zip(new_ids, scores) for k, score in sorted(doc_scores.items())]
        # articles assigned before (re-extracted, re-embedded): their narratives are recounted from all
        # members, since an older member's time may have changed with its text
        earlier: set[tuple[int, int]] = set()
        for i in range(0, len(new_ids), 500):
            chunk = new_ids[i:i + 500]
            earlier.update(db.execute(f"SELECT narrative_id, article_id FROM narrative_memberships WHERE article_id IN "
                                      f"({','.join('?' * len(chunk))})", chunk).fetchall())
        db["narrative_memberships"].insert_all(members, replace=True)
        db.execute("DELETE FROM pending WHERE stage = 'narratives'")
        touched = sorted({m["narrative_id"] for m in members})
        if touched:
            db.execute(f"UPDATE narratives SET updated_run = ? WHERE id IN ({','.join('?' * len(touched))})",
                       [run_id, *touched])
            _add_counts(db, [(m["narrative_id"], m["article_id"]) for m in members
                                     if (m["narrative_id"], m["article_id"]) not in earlier],
                        {nid for nid, _ in earlier} & set(touched))
    result.assigned = len(members)
    result.touched = touched
    result.articles = len(new_ids)
    result.active = len(rows)
    return result


def narrative_centroids(db: sqlite_utils.Database, model_id: str) -> dict[int, np.ndarray]:
    return {r[0]: from_blob(r[1]) for r in db.execute(
        "SELECT id, centroid FROM narratives WHERE status = 'active' AND model_id = ?", [model_id])}


KEYWORD_BACKGROUND = 2000  # other articles the keywords of a re-judged narrative are weighed against
REJOIN_METHOD = "judged-carrier"


def claims_from_centroid(db, model_id: str, row: dict, member_ids: list[int], n: int = CLAIMS) -> list[str]:
    """A narrative's claim passages from its stored centre (narratives made before claims were
    kept): the members' passages nearest its residual centroid, distinct texts from distinct
    articles, the members likelier to carry it (the carrier model's upper half) first."""
    if row["residual_centroid"] is None or not member_ids:
        return []
    vectors, owner = _passage_vectors(db, model_id, member_ids)
    if not len(vectors):
        return []
    q = normalize(normalize(vectors) - from_blob(row["context"]))
    sims = q @ from_blob(row["residual_centroid"])
    carrier = _carrier_scores(db, model_id, vectors, owner, member_ids)
    voices = set(range(len(member_ids)))
    if carrier is not None and len(member_ids) > 1:
        c = np.asarray(carrier, dtype=np.float64)
        voices = {d for d in range(len(member_ids)) if np.isnan(c[d]) or c[d] >= float(np.nanmedian(c))}
    first: dict[int, int] = {}
    for i, d in enumerate(owner.tolist()):
        first.setdefault(d, i)
    ranked = np.argsort(-sims, kind="stable").tolist()
    picked, seen = [], set()
    for pool in ([i for i in ranked if int(owner[i]) in voices], ranked):
        for i in pool:
            d = int(owner[i])
            if d in seen or len(picked) >= 2 * n:
                continue
            seen.add(d)
            picked.append((d, i - first[d]))
    texts = []
    for d, idx in picked:
        t = db.execute("SELECT text FROM passages WHERE model_id = ? AND article_id = ? AND idx = ?",
                       [model_id, member_ids[d], idx]).fetchone()
        if t and t[0]:
            texts.append(t[0])
    return distinct(texts)[:n]


def relabel(db, model_id: str, narrative_id: int) -> None:
    """Keywords and headline of a narrative from its members (its carriers), after they changed."""
    from clustering.labels import KeywordIndex, representative_headline

    row = db["narratives"].get(narrative_id)
    members = [r[0] for r in db.execute("SELECT article_id FROM narrative_memberships WHERE narrative_id = ? "
                                        "ORDER BY article_id", [narrative_id])]
    if not members:
        return
    arts = {r["id"]: r for r in db.query(
        f"SELECT id, title, text, language FROM articles WHERE id IN ({','.join('?' * len(members))})", members)}
    # keywords and headline in one language: the members' most common (label_language)
    docs = [DocInfo(a, arts[a]["title"] or "", "", language=arts[a]["language"]) for a in members if a in arts]
    language = label_language(docs, list(range(len(docs))))
    members = [docs[d].article_id for d in in_language(docs, list(range(len(docs))), language)]
    others = [r for r in db.query(
        "SELECT title, text FROM articles WHERE id NOT IN (SELECT article_id FROM narrative_memberships "
        "WHERE narrative_id = ?) ORDER BY id DESC LIMIT ?", [narrative_id, KEYWORD_BACKGROUND])]
    texts = [f"{arts[a]['title'] or ''}\n{arts[a]['text'] or ''}" for a in members if a in arts]
    index = KeywordIndex(texts + [f"{r['title'] or ''}\n{r['text'] or ''}" for r in others])
    words = index.keywords(list(range(len(texts))))
    titles, vecs = [], []
    for a in members:
        v = db.execute("SELECT vector FROM passages WHERE model_id = ? AND article_id = ? AND idx = 0",
                       [model_id, a]).fetchone()
        if a in arts and v:
            titles.append(arts[a]["title"] or "")
            vecs.append(from_blob(v[0]))
    headline = representative_headline(titles, np.stack(vecs) if vecs else None, from_blob(row["centroid"]))
    db["narratives"].update(narrative_id, {"keywords": json.dumps(words), "headline": headline,
                                           "label": " / ".join(words[:4]) or headline,
                                           "label_language": language or None})


def rejudge_narratives(db, model_id: str, run_id: int, judge, stance: StanceResult | None = None,
                       progress=None) -> list[int]:
    """Judge the candidates of every active narrative not judged by this judge (databases from
    before the judge, a new stance model): its members and the articles judged before. Members
    that do not carry its claim leave, judged carriers (re)join; keywords, headline and counts
    follow. Returns the narratives whose members changed."""
    stance = stance if stance is not None else StanceResult()
    changed = []
    for row in list(db.query("SELECT * FROM narratives WHERE status = 'active' AND model_id = ? "
                             "AND stance_model IS NOT ? ORDER BY id", [model_id, judge.model_id])):
        nid = row["id"]
        members = {r[0]: r[1] for r in db.execute(
            "SELECT article_id, score FROM narrative_memberships WHERE narrative_id = ?", [nid])}
        claims = json.loads(row["claims"] or "[]") or claims_from_centroid(db, model_id, row, sorted(members))
        earlier = [r[0] for r in db.execute("SELECT article_id FROM stances WHERE kind = 'narrative' "
                                            "AND subject_id = ?", [nid])]
        verdicts = judge_candidates(db, judge, "narrative", nid, claims, set(members) | set(earlier), run_id,
                                    stance, progress)
        keep = members_of(verdicts)
        leave = sorted(set(members) - keep)
        join = sorted(a for a in keep - set(members) if verdicts.get(a) == "carries")
        with db.conn:
            for i in range(0, len(leave), 500):
                chunk = leave[i:i + 500]
                db.execute(f"DELETE FROM narrative_memberships WHERE narrative_id = ? AND article_id IN "
                           f"({','.join('?' * len(chunk))})", [nid, *chunk])
            db["narrative_memberships"].insert_all(
                {"narrative_id": nid, "article_id": a, "run_id": run_id, "score": 0.0, "method": REJOIN_METHOD,
                 "model_id": model_id} for a in join)
            db["narratives"].update(nid, {"claims": json.dumps(claims, ensure_ascii=False),
                                          "stance_model": judge.model_id})
            if leave or join:
                relabel(db, model_id, nid)
                _recount(db, [nid])
                changed.append(nid)
    return changed
