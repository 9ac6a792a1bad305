"""`narratives process`: embed -> events -> translations (with a multilingual model) -> narratives ->
watched narratives -> text reuse -> spread, incrementally.

Safe to re-run (cron): every stage only picks up what is new, and a run with nothing new
records nothing.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlite_utils

from clustering.embed import MIN_WORDS, EmbedResult, embed_articles, english_space_due
from clustering.embedding import load_embedder
from clustering.embedding.spaces import spaces_of
from clustering.event_stage import EventStageResult, assign_new_events, event_space_changed, rebuild_if_space_changed
from clustering.events import params_for
from clustering.narrative_stage import (NarrativeStageResult, narratives_stale, recount_narratives, rejudge_narratives,
                                       update_narratives)
from clustering.reuse import ReuseResult, find_reuse
from clustering.spread_stage import SpreadResult, update_spread
from clustering.stance_stage import StanceResult, judge_new_translations
from clustering.translation import TranslationResult, find_translations, is_multilingual
from clustering.watch_stage import WatchResult, match_watches
from db.runs import close_interrupted, finish_run, start_run

logger = logging.getLogger(__name__)


@dataclass
class ProcessResult:
    run_id: int | None = None
    embed: EmbedResult = field(default_factory=EmbedResult)
    events: EventStageResult = field(default_factory=EventStageResult)
    narratives: NarrativeStageResult = field(default_factory=NarrativeStageResult)
    watch: WatchResult = field(default_factory=WatchResult)
    reuse: ReuseResult = field(default_factory=ReuseResult)
    translations: TranslationResult = field(default_factory=TranslationResult)
    spread: SpreadResult = field(default_factory=SpreadResult)
    stance: StanceResult = field(default_factory=StanceResult)
    stance_model: str | None = None  # the judge's model id; None: no judge (every candidate a member)
    events_rebuilt: int = 0  # events dropped because the event space changed (all articles assigned again)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> wall and CPU seconds

    @contextmanager
    def timed(self, stage: str, helpers=None):
        """Wall and CPU seconds of a stage; `helpers()`: CPU seconds spent so far by worker
        processes on the stage's behalf (the embedder's), counted in."""
        extra = helpers or (lambda: 0.0)
        wall, cpu = time.perf_counter(), time.process_time() + extra()
        yield
        self.timings[stage] = {"wall_s": round(time.perf_counter() - wall, 3),
                               "cpu_s": round(time.process_time() + extra() - cpu, 3)}

    def summary(self) -> str:
        if self.run_id is None:
            return "nothing new to process"
        n = self.narratives
        rebuilt = f", rebuilt in a new event space: {self.events_rebuilt} old events dropped" if self.events_rebuilt else ""
        return (f"run {self.run_id}: {self.embed.summary()}; {self.events.assigned} articles into events "
                f"({self.events.new_events} new events{rebuilt}); narratives: {n.summary()}; "
                f"watched narratives: {self.watch.scored} scores, {self.watch.matched} matches; "
                f"stance: {self.stance.summary() if self.stance_model else 'not judged (NARRATIVES_STANCE_MODEL=none)'}; "
                f"text reuse: {self.reuse.pairs} pairs; "
                + (f"translations: {self.translations.pairs} pairs; " if self.translations.checked else "")
                + f"spread: {self.spread.edges} edges over {self.spread.subjects} subjects")


def _has_work(db: sqlite_utils.Database, model_id: str, stance_model: str | None = None,
              english_due: bool = False) -> bool:
    """Anything queued, a model not yet used on these articles, articles from before the English
    space to give its vectors (`english_due`), a watched narrative to re-score, spread to recount (a member's time changed), candidates the stance judge has not
    judged, or translation pairs from before their coverage was kept, to find again."""
    return bool(db.execute(
        """SELECT EXISTS (SELECT 1 FROM pending)
           OR (EXISTS (SELECT 1 FROM articles) AND NOT EXISTS (SELECT 1 FROM embeddings WHERE model_id = :m))
           OR (:e AND EXISTS (SELECT 1 FROM embeddings WHERE model_id = :m))
           OR EXISTS (SELECT 1 FROM watched_narratives WHERE model_id = :m AND rescore = 1)
           OR EXISTS (SELECT 1 FROM spread_stale)
           OR EXISTS (SELECT 1 FROM translations t WHERE t.coverage IS NULL AND t.model_id = :m AND NOT EXISTS
                      (SELECT 1 FROM translation_checks c WHERE c.article_id = t.article_id AND c.model_id = :m))
           OR (:s IS NOT NULL AND (
               EXISTS (SELECT 1 FROM narratives WHERE status = 'active' AND model_id = :m AND stance_model IS NOT :s)
               OR EXISTS (SELECT 1 FROM watched_narratives WHERE model_id = :m AND stance_model IS NOT :s)))""",
        {"m": model_id, "s": stance_model, "e": english_due}).fetchone()[0])


def queued_work(db: sqlite_utils.Database) -> bool:
    """Anything in the processing queue, a watched narrative waiting to be re-scored or spread to
    recount (no model needed)."""
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM pending) OR EXISTS "
                           "(SELECT 1 FROM watched_narratives WHERE rescore = 1) "
                           "OR EXISTS (SELECT 1 FROM spread_stale)").fetchone()[0])


def process(db: sqlite_utils.Database, embedder, *, progress=None, rediscover: bool = False,
            min_words: int = MIN_WORDS, judge=None, judge_progress=None,
            lineage_from: tuple[str, ...] = ()) -> ProcessResult:
    """Every stage on what is new. `judge` (clustering.stance): candidates of narratives and
    watched narratives are judged and only carriers are members; None: every candidate is.
    `judge_progress(stance_result)`: called after each batch of candidates judged. `lineage_from`:
    models whose narratives the rediscovered ones continue (clustering/switch_model.py)."""
    result = ProcessResult()
    spaces = spaces_of(embedder)
    english_id = spaces.english.model_id if spaces.english is not None else None
    stance_model = judge.model_id if judge is not None else None
    params = params_for(spaces.space_id)
    if (not rediscover and not _has_work(db, spaces.model_id, stance_model, english_space_due(db, english_id))
            and not narratives_stale(db, spaces.model_id) and not event_space_changed(db, spaces.space_id, params)):
        return result
    result.stance_model = stance_model
    result.run_id = run_id = start_run(db, "process", {"model_id": spaces.model_id, "precision": embedder.precision,
                                                       "english_model_id": english_id,
                                                       "english_precision": getattr(spaces.english, "precision", None),
                                                       "stance_model": stance_model})
    # a killed run may have stored members its spread stage never counted: count everything again
    interrupted = close_interrupted(db, "process", run_id)
    if interrupted:
        logger.warning("process runs %s were interrupted: spread is rebuilt for every subject", interrupted)
    with result.timed("embed", helpers=lambda: getattr(embedder, "worker_cpu_s", 0.0)):
        result.embed = embed_articles(db, spaces, progress=progress, min_words=min_words)
    # events built in an older event space (centre, title model, tiers) are rebuilt: every article
    # is queued for events again, and narratives and spread are recounted from the new ones
    result.events_rebuilt = rebuild_if_space_changed(db, spaces.space_id, params, requeue_model=spaces.model_id)
    # the articles this run adds to events, narratives and watched narratives
    new_articles = [r[0] for r in db.execute(
        "SELECT DISTINCT article_id FROM pending WHERE stage IN ('events', 'narratives', 'watch') ORDER BY article_id")]
    with result.timed("events"):
        # the title model (seconds to load) only when there are articles to place
        queued = db.execute("SELECT EXISTS (SELECT 1 FROM pending WHERE stage = 'events')").fetchone()[0]
        title_embedder = load_embedder(params.title_model, workers=1) if params.title_model and queued else None
        result.events = assign_new_events(db, spaces, run_id, params=params, title_embedder=title_embedder)
        if result.events_rebuilt:
            recount_narratives(db, spaces.model_id)
    # before the narratives and watches: the stance judge reads an article in another language
    # through its full translation
    if is_multilingual(spaces.shared):
        with result.timed("translations"):
            result.translations = find_translations(db, spaces.shared, run_id)
            if judge is not None:
                judge_new_translations(db, run_id)
    with result.timed("narratives"):
        result.narratives = update_narratives(db, spaces.model_id, run_id, force=rediscover, judge=judge,
                                              stance=result.stance, progress=judge_progress,
                                              lineage_from=lineage_from)
        rejudged = (rejudge_narratives(db, spaces.model_id, run_id, judge, result.stance, judge_progress)
                    if judge is not None else [])
    with result.timed("watch"):
        result.watch = match_watches(db, spaces, run_id, judge=judge, stance=result.stance, progress=judge_progress)
    with result.timed("reuse"):
        result.reuse = find_reuse(db)
    # only what changed in this run (new members, hence new copies, citations and adopters):
    # the cost stays flat as the database grows. Rediscovered narratives and re-scored watched
    # narratives may have lost members, so they are rebuilt.
    narratives = [("narrative", i) for i in sorted(set(result.narratives.touched) | set(rejudged))]
    watches = [("watch", i) for i in sorted(result.watch.touched | result.watch.rescored | result.watch.rejudged)]
    touched = sorted(set(narratives + watches + [("event", i) for i in sorted(result.events.touched)]))
    recompute = (set(narratives if result.narratives.discovered else []) | {("narrative", i) for i in rejudged}
                 | {("watch", i) for i in result.watch.rescored | result.watch.rejudged})
    with result.timed("spread"):
        everything = bool(rediscover or interrupted or result.events_rebuilt)
        result.spread = update_spread(db, run_id, subjects=None if everything else touched, recompute=recompute,
                                      articles=new_articles, all_events=bool(interrupted or result.events_rebuilt))
    finish_run(db, run_id, {"embedded": result.embed.embedded, "skipped": result.embed.skipped,
                            "events_assigned": result.events.assigned, "new_events": result.events.new_events,
                            "narratives": result.narratives.summary(), "watch_scores": result.watch.scored,
                            "seconds": result.timings,
                            "stance": {"model_id": stance_model, "judged": result.stance.judged,
                                       "calls": result.stance.calls, "reused": result.stance.reused,
                                       "cpu_s": round(result.stance.cpu_s, 3), **result.stance.counts}})
    return result
