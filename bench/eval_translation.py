"""Translation edges (clustering/translation.py): found where an article translates another, absent
where it does not.

    NARRATIVES_EMBED_MODEL=use-multilingual-v3 python -m bench.eval_translation [--json OUT]

- project data (bench/stance_data/ru_*.jsonl): Russian translations and partial relays of the
  project's synthetic English articles. Positives: each against its English source; hard
  negatives: the other English articles of the same claim; easy negatives: the other claims'.
  The thresholds were chosen here (the grid is printed).
- SemEval-2025 documents (never used for choosing): every RU x EN and PT x EN pair, none a
  translation: every edge found is false; those between documents of different labels are
  counted apart.
- stance through a translation: how many Russian articles a pair covers enough
  (STANCE_COVERAGE of both) for an English judge to read the source in their place, and
  (`--stance-model`, default minilm-stance; `none` skips it) how often the source's verdict is
  the Russian article's gold stance.
Decided exactly as the stage decides (`translation_between`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench.embedding_cache import cached_embed
from bench.eval_stance import synthetic_rows
from bench.semeval import embed_passages, load_semeval, semeval_dir
from clustering import translation as T
from clustering.embed import doc_text
from clustering.passages import split_passages

HERE = Path(__file__).resolve().parent
GRID_PASSAGE = (0.6, 0.65, 0.7, 0.75, 0.8)
GRID_SHARE = (0.2, 0.3, 0.4, 0.5)


def ru_rows() -> list[dict]:
    rows = []
    for path in sorted((HERE / "stance_data").glob("ru_*.jsonl")):
        rows += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return rows


class Art:
    def __init__(self, title: str, text: str, body: np.ndarray | None = None):
        self.text = text
        self.doc = cached_embed([doc_text(title, text)])[0]
        if body is None:
            ps = split_passages(title, text)
            body = cached_embed(ps[1:]) if len(ps) > 1 else np.zeros((0, self.doc.shape[0]), np.float32)
        self.body = body
        self._sentences = None

    def sentences(self):
        if self._sentences is None:
            texts = T.article_sentences(self.text)
            self._sentences = (cached_embed(texts) if texts else np.zeros((0, self.doc.shape[0]), np.float32), texts)
        return self._sentences


def decide(a: Art, b: Art, passage_min: float, min_share: float) -> bool:
    """Passages only, at the given thresholds (the grid)."""
    if float(a.doc @ b.doc) < T.DOC_MIN:
        return False
    return T.is_translation(T.align(a.body, b.body, passage_min=passage_min), min_share=min_share)


def decide_shipped(a: Art, b: Art) -> str:
    """As the stage decides: "passage", "sentence" (the unit that decided) or "" (not a translation)."""
    return shipped_alignment(a, b)[1]


def shipped_alignment(a: Art, b: Art) -> tuple[T.Alignment | None, str]:
    if float(a.doc @ b.doc) < T.DOC_MIN:
        return None, ""
    return T.translation_between(a.body, b.body, lambda: (a.sentences(), b.sentences()))


def stance_through_translation(pos, stance_model: str) -> dict:
    """The Russian articles a found pair covers enough to pass a stance along, and (with a judge)
    the English source's verdict toward its claim against the Russian article's gold stance."""
    passing = []
    for a, b, kind, ru, src in pos:
        al = shipped_alignment(a, b)[0]
        if al is not None and T.sentence_coverage(a.sentences()[0], b.sentences()[0]) >= T.STANCE_COVERAGE:
            passing.append((kind, ru, src))
    out = {"coverage_min": T.STANCE_COVERAGE,
           "full_passing": sum(k == "translation" for k, *_ in passing),
           "full_of": sum(k == "translation" for _, _, k, *_ in pos),
           "partial_passing": sum(k == "partial" for k, *_ in passing),
           "partial_of": sum(k == "partial" for _, _, k, *_ in pos)}
    if stance_model.lower() not in ("none", "off") and passing:
        from clustering.stance import load_judge

        judge = load_judge(stance_model)
        verdicts = judge.judge_batch([(src["claim"], src["text"], src["title"]) for _, _, src in passing])
        right = sum(v.stance == ru["stance"] for v, (_, ru, _) in zip(verdicts, passing))
        out.update({"stance_model": judge.model_id, "right": right, "judged": len(passing),
                    "accuracy_of_judged": round(right / len(passing), 3),
                    "accuracy_of_all": round(right / max(1, len(pos)), 3)})
    return out


def project_pairs():
    en = synthetic_rows()
    by_title = {r["title"]: r for r in en}
    ru = ru_rows()
    arts_en = {r["title"]: Art(r["title"], r["text"]) for r in en if r["claim_id"] in {x["claim_id"] for x in ru}}
    pos, hard, easy = [], [], []
    for r in ru:
        src = by_title[r["source_title"]]
        a = Art(r["title"], r["text"])
        for title, b in arts_en.items():
            if title == r["source_title"]:
                pos.append((a, b, r["kind"], r, src))
            elif by_title[title]["claim_id"] == src["claim_id"]:
                hard.append((a, b, by_title[title]["style"]))
            else:
                easy.append((a, b, None))
    return pos, hard, easy


def semeval_pairs(lang: str):
    """(articles of lang, EN articles, label sets) for the cross-language check."""
    docs_x, docs_en = load_semeval(semeval_dir(lang)), load_semeval(semeval_dir("EN"))
    def arts(docs):
        return [Art(d.title, d.text, body=p[1:]) for d, p in zip(docs, embed_passages(docs))]
    return arts(docs_x), arts(docs_en), [set(d.labels) for d in docs_x], [set(d.labels) for d in docs_en]


def evaluate(stance_model: str = "minilm-stance") -> dict:
    from clustering.embedding import load_embedder

    emb = load_embedder()
    out: dict = {"model_id": emb.model_id, "shipped": {"doc_min": T.DOC_MIN, "passage_min": T.PASSAGE_MIN,
                                                       "min_share": T.MIN_SHARE, "min_matched": T.MIN_MATCHED}}
    if not T.is_multilingual(emb):
        out["skipped"] = f"{emb.model_id} is not multilingual"
        return out
    pos, hard, easy = project_pairs()
    grid = {}
    for pm in GRID_PASSAGE:
        for sh in GRID_SHARE:
            tp = sum(decide(a, b, pm, sh) for a, b, *_ in pos)
            fp_hard = sum(decide(a, b, pm, sh) for a, b, _ in hard)
            fp_easy = sum(decide(a, b, pm, sh) for a, b, _ in easy)
            grid[f"{pm}/{sh}"] = {"found": tp, "of": len(pos), "false_same_claim": fp_hard, "false_other": fp_easy}
    out["project_grid"] = grid
    shipped = {"pos": [(decide_shipped(a, b), k) for a, b, k, *_ in pos],
               "hard": [decide_shipped(a, b) for a, b, _ in hard], "easy": [decide_shipped(a, b) for a, b, _ in easy]}
    found = sum(bool(u) for u, _ in shipped["pos"])
    out["project"] = {"found": found, "of": len(pos), "recall": round(found / max(len(pos), 1), 3),
                      "by_sentences": sum(u == "sentence" for u, _ in shipped["pos"]),
                      "partial_found": sum(bool(u) for u, k in shipped["pos"] if k == "partial"),
                      "partial_of": sum(k == "partial" for _, k in shipped["pos"]),
                      "false_same_claim": sum(map(bool, shipped["hard"])), "same_claim_pairs": len(hard),
                      "false_other": sum(map(bool, shipped["easy"])), "other_pairs": len(easy)}
    out["stance_through_translation"] = stance_through_translation(pos, stance_model)
    for lang in ("RU", "PT"):
        if semeval_dir(lang) is None:
            continue
        xs, ens, lx, len_ = semeval_pairs(lang)
        found = [(i, j) for i, a in enumerate(xs) for j, b in enumerate(ens) if decide_shipped(a, b)]
        out[f"semeval_{lang.lower()}_x_en"] = {
            "pairs": len(xs) * len(ens), "edges": len(found),
            "edges_between_different_labels": sum(lx[i] != len_[j] for i, j in found)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--stance-model", default="minilm-stance",
                    help="the English judge that reads a translation in a Russian article's place (none: skip)")
    args = ap.parse_args(argv)
    out = evaluate(args.stance_model)
    if "skipped" in out:
        print(f"skipped: {out['skipped']} (set NARRATIVES_EMBED_MODEL=use-multilingual-v3)")
        return 0
    print(f"model {out['model_id']}, shipped thresholds {out['shipped']}")
    print("project data, passage_min/min_share -> found of positives, false on same-claim pairs, false on others:")
    for k, v in out["project_grid"].items():
        print(f"  {k:9s} {v['found']}/{v['of']}  same-claim {v['false_same_claim']}  other {v['false_other']}")
    p = out["project"]
    print(f"shipped: {p['found']}/{p['of']} translations found (recall {p['recall']}; {p['by_sentences']} by the "
          f"sentence fallback; partial relays "
          f"{p['partial_found']}/{p['partial_of']}), false {p['false_same_claim']} of {p['same_claim_pairs']} same-claim "
          f"pairs, {p['false_other']} of {p['other_pairs']} other pairs")
    st = out["stance_through_translation"]
    print(f"stance through a translation (aligned sentences >= {st['coverage_min']} of both): full translations "
          f"{st['full_passing']}/{st['full_of']}, partial relays {st['partial_passing']}/{st['partial_of']}"
          + (f"; {st['stance_model']} on the English source: {st['right']}/{st['judged']} right "
             f"({st['accuracy_of_judged']}; of all {st['full_of'] + st['partial_of']} Russian articles "
             f"{st['accuracy_of_all']})" if "right" in st else ""))
    for lang in ("ru", "pt"):
        s = out.get(f"semeval_{lang}_x_en")
        if s:
            print(f"SemEval {lang.upper()} x EN: {s['edges']} edges over {s['pairs']} pairs "
                  f"({s['edges_between_different_labels']} between documents of different labels)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
