"""Narrative discovery: recurring claims across events, found without supervision.

Articles about one event share its facts; what articles about different events share beyond
topic is the claim. So the unit is the passage (`passages.split_passages`):

1. context removal: residual = normalise(p - CONTEXT_WEIGHT * c), c the mean article vector;
2. claim units: average-linkage clustering (cosine) of the residuals at UNIT_DISTANCE, kept when
   they recur: >= MIN_UNIT_GROUPS independent groups (events split into episodes at gaps over
   EPISODE_GAP_DAYS) and >= 2 outlets; one event's neutral coverage drops out here;
3. narratives: kept passages clustered again at NARRATIVE_DISTANCE, kept when they span
   MIN_GROUPS groups, MIN_OUTLETS outlets and MIN_ARTICLES articles;
4. membership: the share of an article's kept passages in it, boosted by its best passage's
   closeness to the centroid; an article also joins where `assign_to_narratives` puts it, so
   membership does not depend on when it arrived;
5. labels: c-TF-IDF keywords and the member title nearest the centroid.

At most MAX_ITEMS passages are clustered, the rest assigned.
Defaults: BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from clustering import carrier as carrier_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocInfo:
    article_id: str
    title: str
    text: str
    outlet: str | None = None
    event_id: str | None = None
    published_at: str | None = None
    language: str | None = None


def label_language(docs: list[DocInfo], member_docs: list[int]) -> str:
    """The language a narrative is labelled in: the one most of its members are written in (ties:
    English, then the first code), so keywords and headline read in one language."""
    counts: dict[str, int] = {}
    for d in member_docs:
        code = (docs[d].language or "").lower()[:2]
        counts[code] = counts.get(code, 0) + 1
    return min(counts, key=lambda c: (-counts[c], c != "en", c)) if counts else ""


def in_language(docs: list[DocInfo], member_docs: list[int], language: str) -> list[int]:
    """The members written in `language` (all of them when none is)."""
    mine = [d for d in member_docs if (docs[d].language or "").lower()[:2] == language]
    return mine or list(member_docs)


@dataclass
class NarrativeCluster:
    members: dict[str, float]  # article_id -> score in 0..1
    keywords: list[str]
    headline: str
    centroid: np.ndarray  # (dim,) float32, L2-normalised, in raw (not residual) passage space
    passage_ids: list[int] = field(default_factory=list)  # indexes into passage_vectors
    events: list[str] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    residual_centroid: np.ndarray | None = None  # (dim,) in context-removed space: persist for assignment
    context: np.ndarray | None = None  # (dim,) the corpus context vector of the run: persist once per run
    assigned: set[str] = field(default_factory=set)  # members added by the assignment rule, not clustered
    claim_passages: list[int] = field(default_factory=list)  # indexes into passage_vectors: its claim, best first
    claims: list[str] = field(default_factory=list)  # the claim passages' texts (set by the caller that has them)
    language: str = ""  # the language of keywords and headline (label_language)
    provisional_id: int | None = None  # a caller's id for it before it has a narrative id (its stance verdicts)


@dataclass(frozen=True)
class NarrativeParams:
    context_weight: float = 1.0
    event_context: bool = False
    unit_distance: float = 0.5
    min_unit_groups: int = 2
    narrative_distance: float = 0.95
    min_groups: int = 2
    min_outlets: int = 2
    min_articles: int = 3
    min_score: float = 0.0
    copy_similarity: float = 0.95
    max_items: int = 4000
    assign_similarity: float = 0.35
    carrier_gate: float = carrier_model.CARRIER_GATE  # docs whose carrier logit is below join no narrative
    episode_gap_days: float | None = 7.0  # an event's coverage split into episodes at gaps longer than this
    complete_membership: bool = True  # members also by the rule new articles join by (assign_similarity)


DEFAULT_PARAMS = NarrativeParams()


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def _members(labels: np.ndarray, n: int) -> list[np.ndarray]:
    """The indices of each label 0..n-1, ascending (what np.nonzero(labels == u) gives, without a
    pass over all labels per label: thousands of claim units made that the stage's largest cost)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    return [order[bounds[u]:bounds[u + 1]] for u in range(n)]


def _centroids(x: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Normalised mean row of each label 0..n-1 (the same floats as x[labels == u].mean(axis=0))."""
    return _normalize(np.stack([x[idx].mean(axis=0) for idx in _members(labels, n)]))


def _agglomerate(x: np.ndarray, distance: float) -> np.ndarray:
    """Average-linkage cosine clustering with a distance threshold; labels renumbered by first
    occurrence so that they do not depend on scikit-learn's internal numbering."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(x) == 1:
        return np.zeros(1, dtype=np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(_cosine_distances(x), method="average")
    # cut as scikit-learn's distance_threshold does: merges below the distance are kept
    raw = fcluster(tree, t=np.nextafter(distance, -np.inf), criterion="distance")
    remap: dict[int, int] = {}
    return np.asarray([remap.setdefault(int(r), len(remap)) for r in raw], dtype=np.int64)


def _cosine_distances(x: np.ndarray, block: int = 512) -> np.ndarray:
    """Condensed cosine distances (scipy's pdist layout) by blocks of matrix products: pdist's
    scalar loop cost ~2.5 CPU-s per 4,000 passages, the BLAS product a tenth of it, and the
    blocks keep memory at the condensed array's."""
    x = np.asarray(x, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    n = len(x)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        sims = x[i0:i1] @ x[i0:].T
        for i in range(i0, i1):
            start = i * n - i * (i + 1) // 2  # row i's first pair (i, i + 1)
            out[start:start + n - i - 1] = 1.0 - sims[i - i0, i - i0 + 1:]
    np.clip(out, 0.0, 2.0, out=out)
    return out


def _episodes(docs: list[DocInfo], groups: list[str], gap_days: float) -> list[str]:
    """Split each event group into episodes at publication gaps longer than `gap_days`.

    Event clustering can chain the recurring coverage of one topic into a single event (an
    emissions rule in March, a tractor protest in April, a buy-out fund in May): without this a
    claim that came back around each of them would look like the coverage of one happening."""
    from clustering.events import to_timestamp

    by_group: dict[str, list[tuple[str, int]]] = {}
    for i, (d, g) in enumerate(zip(docs, groups)):
        if g.startswith("e:") and d.published_at:
            by_group.setdefault(g, []).append((d.published_at, i))
    out = list(groups)
    for g, items in by_group.items():
        items.sort()
        episode, prev = 0, None
        for stamp, i in items:
            try:  # stored dates come with and without an offset (naive = UTC)
                t = to_timestamp(stamp)
            except ValueError:
                t = None
            if t is not None and prev is not None and t - prev > gap_days * 86400:
                episode += 1
            prev = t if t is not None else prev
            out[i] = f"{g}#{episode}" if episode else g
    return out


def _groups(docs: list[DocInfo], doc_vectors: np.ndarray, copy_similarity: float,
            episode_gap_days: float | None = None) -> list[str]:
    """Independence group of each doc: its event (split into episodes at long publication gaps),
    else itself with near-duplicate copies merged."""
    n = len(docs)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    loose = [i for i in range(n) if docs[i].event_id is None]
    if len(loose) > 1:
        lv = doc_vectors[loose]
        for s in range(0, len(loose), 2048):
            sims = lv[s:s + 2048] @ lv.T
            a, b = np.nonzero(sims >= copy_similarity)
            for i, j in zip((a + s).tolist(), b.tolist()):
                if i < j:
                    ri, rj = find(loose[i]), find(loose[j])
                    if ri != rj:
                        parent[max(ri, rj)] = min(ri, rj)
    groups = [f"e:{d.event_id}" if d.event_id is not None else f"a:{docs[find(i)].article_id}"
              for i, d in enumerate(docs)]
    return _episodes(docs, groups, episode_gap_days) if episode_gap_days else groups


def _doc_vectors(passage_vectors: np.ndarray, passage_doc_index: np.ndarray, n_docs: int) -> np.ndarray:
    dim = passage_vectors.shape[1]
    sums = np.zeros((n_docs, dim), dtype=np.float64)
    np.add.at(sums, passage_doc_index, passage_vectors.astype(np.float64))
    return _normalize(sums)


def _contexts(docs: list[DocInfo], doc_vectors: np.ndarray, event_context: bool = True) -> np.ndarray:
    """Context vector per doc: mean article vector of its event, or of the whole corpus."""
    corpus = doc_vectors.mean(axis=0)
    by_event: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        if d.event_id is not None and event_context:
            by_event.setdefault(d.event_id, []).append(i)
    out = np.tile(corpus, (len(docs), 1))
    for members in by_event.values():
        out[members] = doc_vectors[members].mean(axis=0)
    return out.astype(np.float32)


def residuals(docs: list[DocInfo], passage_vectors: np.ndarray, passage_doc_index: np.ndarray,
              context_weight: float = DEFAULT_PARAMS.context_weight) -> np.ndarray:
    """Passage vectors with their article's context (event or corpus mean) removed, normalised."""
    dv = _doc_vectors(passage_vectors, passage_doc_index, len(docs))
    ctx = _contexts(docs, dv)
    return _normalize(passage_vectors - context_weight * ctx[passage_doc_index])


def _sample(n: int, cap: int) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


def _assign(x: np.ndarray, centroids: np.ndarray, max_distance: float) -> np.ndarray:
    """Nearest centroid (cosine) for each row, -1 where farther than max_distance."""
    if len(centroids) == 0:
        return np.full(len(x), -1, dtype=np.int64)
    out = np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), 4096):
        sims = x[s:s + 4096] @ centroids.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(best)), best] >= 1.0 - max_distance
        out[s:s + 4096] = np.where(ok, best, -1)
    return out


def _carriers(carrier, n_docs: int, gate: float) -> np.ndarray:
    """Per doc: may it carry a narrative (narrative-carrier logit at or above the gate, or unknown)."""
    if carrier is None:
        return np.ones(n_docs, dtype=bool)
    c = np.asarray(carrier, dtype=np.float64)
    return np.isnan(c) | (c >= gate)


def _likely_carriers(member_docs: list[int], carrier) -> list[int]:
    """The members whose narrative-carrier score is at least the members' median (all without scores)."""
    if carrier is None or not member_docs:
        return member_docs
    c = np.asarray(carrier, dtype=np.float64)[member_docs]
    if np.isnan(c).all():
        return member_docs
    median = float(np.nanmedian(c))
    return [d for d, x in zip(member_docs, c) if np.isnan(x) or x >= median]


def discover_narratives(docs: list[DocInfo], passage_vectors: np.ndarray, passage_doc_index,
                        params: NarrativeParams | None = None, carrier=None, keep=None) -> list[NarrativeCluster]:
    """Recurring narratives over `docs`. See the module docstring for the method. `carrier`:
    each doc's narrative-carrier logit (clustering.carrier); docs below the gate (neutral
    coverage) shape the event contexts but carry no claim unit, so they join no narrative.
    `keep(clusters) -> [set of article ids]`: the members that carry each cluster's claim (its
    `claim_passages`), as a stance judge reads them (clustering.stance_stage); the others leave,
    a cluster left with fewer than `min_articles` is no narrative, and keywords and headline
    come from the members kept."""
    from clustering.labels import KeywordIndex, representative_headline

    p = params or DEFAULT_PARAMS
    pv = _normalize(passage_vectors)
    pdi = np.asarray(passage_doc_index, dtype=np.int64)
    n_docs = len(docs)
    if n_docs == 0 or len(pv) == 0:
        return []
    dv = _doc_vectors(pv, pdi, n_docs)
    groups = _groups(docs, dv, p.copy_similarity, p.episode_gap_days)
    q = _normalize(pv - p.context_weight * _contexts(docs, dv, p.event_context)[pdi])
    corpus_ctx = dv.mean(axis=0)

    # passages in a deterministic order (by article id, then position) for sampling
    eligible = _carriers(carrier, n_docs, p.carrier_gate)[pdi]
    order = sorted(np.nonzero(eligible)[0].tolist(), key=lambda i: (docs[pdi[i]].article_id, i))
    order = np.asarray(order, dtype=np.int64)
    picked = order[_sample(len(order), p.max_items)]
    picked.sort()

    # 2. claim units on residuals, recurrence filter
    unit = np.full(len(pv), -1, dtype=np.int64)
    unit[picked] = _agglomerate(q[picked], p.unit_distance)
    n_units = int(unit.max()) + 1 if len(picked) else 0
    if n_units == 0:  # no doc may carry a narrative (all below the carrier gate)
        return []
    if len(picked) < len(order):  # the rest: nearest unit centroid within the unit distance
        cents = _centroids(q[picked], unit[picked], n_units)
        rest = np.setdiff1d(order, picked)
        unit[rest] = _assign(q[rest], cents, p.unit_distance)
    keep_unit = np.zeros(n_units, dtype=bool)
    in_unit = _members(np.where(unit >= 0, unit, n_units), n_units)
    for u in range(n_units):
        idx = in_unit[u]
        ds = set(pdi[idx].tolist())
        if len({groups[d] for d in ds}) < p.min_unit_groups:
            continue
        outs = {docs[d].outlet for d in ds if docs[d].outlet is not None}
        if outs and len(outs) < min(2, p.min_outlets):
            continue
        keep_unit[u] = True
    kept = np.nonzero((unit >= 0) & keep_unit[np.maximum(unit, 0)])[0]
    if len(kept) == 0:
        return []

    # 3. narratives over the kept passages
    kept_s = kept[_sample(len(kept), p.max_items)]
    lab = np.full(len(pv), -1, dtype=np.int64)
    lab[kept_s] = _agglomerate(q[kept_s], p.narrative_distance)
    n_lab = int(lab.max()) + 1
    if len(kept_s) < len(kept):
        cents = _centroids(q[kept_s], lab[kept_s], n_lab)
        rest = np.setdiff1d(kept, kept_s)
        lab[rest] = _assign(q[rest], cents, p.narrative_distance)

    kept_per_doc = np.bincount(pdi[kept], minlength=n_docs)
    first_passage = np.full(n_docs, -1, dtype=np.int64)
    first_passage[pdi[::-1]] = np.arange(len(pdi))[::-1]
    kw_index = KeywordIndex([f"{d.title}\n{d.text}" for d in docs])
    clusters: list[NarrativeCluster] = []
    in_lab = _members(np.where(lab >= 0, lab, n_lab), n_lab)
    for c in range(n_lab):
        idx = in_lab[c]
        ds = sorted(set(pdi[idx].tolist()))
        if len(ds) < p.min_articles or len({groups[d] for d in ds}) < p.min_groups:
            continue
        outs = sorted({docs[d].outlet for d in ds if docs[d].outlet is not None})
        if outs and len(outs) < p.min_outlets:
            continue
        rc = _normalize(q[idx].mean(axis=0))
        members: dict[str, float] = {}
        by_doc: dict[int, list[int]] = {}
        for i in idx.tolist():
            by_doc.setdefault(int(pdi[i]), []).append(i)
        for d in ds:
            mine = np.asarray(by_doc[d])
            share = len(mine) / max(1, int(kept_per_doc[d]))
            closeness = float(np.clip((q[mine] @ rc).max(), 0.0, 1.0))
            score = round(float(0.5 * share + 0.5 * closeness), 4)
            if score >= p.min_score:
                members[docs[d].article_id] = score
        if len(members) < p.min_articles:
            continue
        centroid = _normalize(pv[idx].mean(axis=0))
        member_docs = [d for d in ds if docs[d].article_id in members]
        # the headline comes from the members most likely to carry the claim, not from a
        # neutral report of one of its events
        voices = _likely_carriers(member_docs, carrier)
        language = label_language(docs, member_docs)
        voices = in_language(docs, voices, language)
        titles = [docs[d].title for d in voices]
        title_vecs = pv[first_passage[voices]]
        clusters.append(NarrativeCluster(
            members=members,
            keywords=kw_index.keywords(in_language(docs, member_docs, language)),
            headline=representative_headline(titles, title_vecs, centroid),
            language=language,
            centroid=centroid.astype(np.float32),
            passage_ids=idx.tolist(),
            events=sorted({docs[d].event_id for d in member_docs if docs[d].event_id is not None}),
            outlets=outs,
            residual_centroid=rc.astype(np.float32),
            context=(p.context_weight * corpus_ctx).astype(np.float32),
            claim_passages=_claim_passages(idx, q, rc, pdi, set(voices)),
        ))
    if p.complete_membership and clusters:
        _complete(clusters, docs, pv, pdi, carrier, p)
    if keep is not None and clusters:
        clusters = _keep(clusters, keep(clusters), docs, pv, first_passage, kw_index, p)
    clusters.sort(key=lambda k: (-len(k.members), min(k.members)))
    return clusters


MAX_CLAIM_PASSAGES = 6  # candidates: a caller keeps the first 3 distinct texts (copies repeat passages)


def _claim_passages(idx: np.ndarray, q: np.ndarray, rc: np.ndarray, pdi: np.ndarray, voices: set[int]) -> list[int]:
    """A narrative's claim as a judge reads it: the passages of its claim unit nearest its residual
    centroid, from distinct articles likely to carry it (the carrier model's upper half)."""
    ranked = sorted(idx.tolist(), key=lambda i: (-float(q[i] @ rc), i))
    out, seen = [], set()
    for pool in ([i for i in ranked if int(pdi[i]) in voices], ranked):
        for i in pool:
            if int(pdi[i]) not in seen and len(out) < MAX_CLAIM_PASSAGES:
                out.append(i)
                seen.add(int(pdi[i]))
    return out


def _keep(clusters: list[NarrativeCluster], kept: list[set], docs: list[DocInfo], pv: np.ndarray,
          first_passage: np.ndarray, kw_index, p: NarrativeParams) -> list[NarrativeCluster]:
    """Clusters with only their kept members, labelled from those (see `discover_narratives`)."""
    from clustering.labels import representative_headline

    at = {d.article_id: i for i, d in enumerate(docs)}
    out = []
    for c, ids in zip(clusters, kept):
        members = {a: s for a, s in c.members.items() if a in ids}
        if len(members) < p.min_articles:
            continue
        member_docs = sorted(at[a] for a in members if a in at)
        c.members = members
        c.assigned &= set(members)
        c.language = label_language(docs, member_docs)
        labelled = in_language(docs, member_docs, c.language)
        c.keywords = kw_index.keywords(labelled)
        c.headline = representative_headline([docs[d].title for d in labelled], pv[first_passage[labelled]],
                                             c.centroid)
        c.events = sorted({docs[d].event_id for d in member_docs if docs[d].event_id is not None})
        c.outlets = sorted({docs[d].outlet for d in member_docs if docs[d].outlet is not None})
        out.append(c)
    return out


def _complete(clusters: list[NarrativeCluster], docs: list[DocInfo], pv: np.ndarray, pdi: np.ndarray,
              carrier, p: NarrativeParams) -> None:
    """Add to each narrative the docs the incremental rule (`assign_to_narratives`) puts in it.

    Clustering keeps only the passages of recurring claim units, so an article telling the claim
    in its own words around a single event can fall outside every kept unit, while the same
    article arriving a day later would join by the assignment rule. One rule for every article,
    whenever it arrived: a narrative's members do not depend on whether they came before or after
    its discovery (nor, above the discovery sample, on whether an article was in the sample)."""
    rcs = np.stack([c.residual_centroid for c in clusters])
    found = assign_to_narratives(rcs, clusters[0].context, pv, pdi, len(docs), min_similarity=p.assign_similarity,
                                 carrier=carrier, carrier_gate=p.carrier_gate)
    for d, scores in enumerate(found):
        for k, score in scores.items():
            c = clusters[k]
            if docs[d].article_id not in c.members:
                c.members[docs[d].article_id] = score
                c.assigned.add(docs[d].article_id)


def assign_to_narratives(residual_centroids: np.ndarray, context: np.ndarray, passage_vectors: np.ndarray,
                         passage_doc_index, n_docs: int, *,
                         min_similarity: float = DEFAULT_PARAMS.assign_similarity,
                         carrier=None, carrier_gate: float = DEFAULT_PARAMS.carrier_gate) -> list[dict[int, float]]:
    """Incremental assignment of new articles to existing narratives (between full runs).

    `residual_centroids` (K, dim): the clusters' `residual_centroid`s; `context`: the run's
    `context` (the same for all clusters of a run). Each passage of a new article goes to its
    nearest narrative when the cosine is >= min_similarity; an article's score for a narrative
    is the best such cosine (clipped to 0..1); docs below the narrative-carrier gate get none.
    Returns, per doc, {narrative index: score}.
    """
    out: list[dict[int, float]] = [dict() for _ in range(n_docs)]
    if len(residual_centroids) == 0 or len(passage_vectors) == 0:
        return out
    q = _normalize(_normalize(passage_vectors) - np.asarray(context, dtype=np.float32))
    rc = _normalize(np.asarray(residual_centroids, dtype=np.float32))
    pdi = np.asarray(passage_doc_index, dtype=np.int64)
    sims = q @ rc.T
    best = sims.argmax(axis=1)
    may_carry = _carriers(carrier, n_docs, carrier_gate)
    for i, (d, k) in enumerate(zip(pdi.tolist(), best.tolist())):
        s = float(sims[i, k])
        if may_carry[d] and s >= min_similarity and s > out[d].get(k, -1.0):
            out[d][k] = round(min(1.0, s), 4)
    return out
