"""Watched narratives across languages through the CLI, as a user would run them.

    python -m bench.eval_watch_cli [--languages EN,RU,PT,BG,HI] [--json OUT] [--keep DIR]

SemEval-2025 Task 10 training split: every document of the given language folders is imported
into one new database (`narratives import`, its language given), `narratives process` runs with
the default model, one `narratives watch add` per coarse narrative label from its English name
(bench.eval_watch.label_to_name: "URW: X" -> "Russia-Ukraine war: X"), then `narratives watch
show --json` lists each watch's matches. Micro-F1 over the labels per language (a document
matched by a watch whose label it does not carry is a false positive; "Other" documents carry
none). The bar of issue #29: RU >= 0.85 x EN of the same run. No stance judge by default: the
default one was trained on these documents (`--stance-model DIR` scores one trained without them). A language no model covers is
reported with the reason its articles were skipped (`embed_skips`).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.eval_watch import label_to_name, micro_f1
from bench.semeval import load_semeval, semeval_dir

REPO = Path(__file__).resolve().parent.parent
LANGUAGES = ("EN", "RU", "PT", "BG", "HI")


def narratives(*args, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "narratives.cli", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, env=dict(os.environ, **(env or {})), timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"narratives {' '.join(map(str, args[:2]))} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def evaluate(languages=LANGUAGES, workdir: Path | None = None, env: dict | None = None) -> dict | None:
    folders = {lang: semeval_dir(lang) for lang in languages}
    if any(f is None for f in folders.values()):
        return None
    # a document without text (two in the split) cannot be imported: `import` rejects it
    docs = {lang: [d for d in load_semeval(folder) if d.text.strip()] for lang, folder in folders.items()}
    labels = sorted({l for ds in docs.values() for d in ds for l in d.labels if l.split(":")[0] in ("URW", "CC")})
    labels = [l for l in labels if any(l in d.labels for d in docs.get("EN", []))] or labels
    work = Path(workdir or tempfile.mkdtemp(prefix="watch-cli-"))
    work.mkdir(parents=True, exist_ok=True)
    db, jsonl = work / "semeval.db", work / "semeval.jsonl"
    if db.exists():
        db.unlink()
    with jsonl.open("w", encoding="utf-8") as f:
        for lang, ds in docs.items():
            for d in ds:
                f.write(json.dumps({"url": f"https://semeval.example/{lang.lower()}/{d.id}", "outlet": f"semeval-{lang.lower()}",
                                    "title": d.title, "text": d.text, "language": lang.lower()}, ensure_ascii=False) + "\n")
    narratives("import", db, jsonl, env=env)
    processed = narratives("process", db, env=env).stdout.strip().splitlines()[-1]
    for label in labels:
        narratives("watch", "add", db, label_to_name(label), env=env)
    narratives("process", db, env=env)
    matched: dict[str, set[str]] = {}
    for label in labels:
        out = json.loads(narratives("watch", "show", db, label_to_name(label), "--limit", "100000", "--json",
                                    env=env).stdout)
        rows = out["matches"] if isinstance(out, dict) and "matches" in out else out
        matched[label] = {r["url"] for r in rows}
    import sqlite3

    conn = sqlite3.connect(db)
    skips = conn.execute("""SELECT a.language, count(*), min(s.reason) FROM embed_skips s JOIN articles a
                            ON a.id = s.article_id GROUP BY 1""").fetchall()
    skipped = {lang: n for lang, n, _ in skips}
    reasons = {lang: reason for lang, _, reason in skips}
    calib = {r[0]: {"articles": r[1], "status": r[2]} for r in conn.execute(
        "SELECT language, articles, status FROM watch_languages WHERE language != ''")}
    conn.close()
    out = {"process": processed, "labels": len(labels), "calibration": calib}
    for lang, ds in docs.items():
        code = lang.lower()
        y = np.array([[l in d.labels for l in labels] for d in ds])
        yh = np.array([[f"https://semeval.example/{code}/{d.id}" in matched[l] for l in labels] for d in ds])
        f1, p, r = micro_f1(y, yh)
        out[lang] = {"docs": len(ds), "skipped": skipped.get(code, 0), "skip_reason": reasons.get(code),
                     "micro_f1": round(f1, 4), "precision": round(p, 4), "recall": round(r, 4),
                     "matches": int(yh.sum())}
    if "EN" in out:
        for lang in docs:
            out[lang]["ratio_to_en"] = round(out[lang]["micro_f1"] / max(out["EN"]["micro_f1"], 1e-9), 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--keep", type=Path, help="keep the database in this folder")
    ap.add_argument("--stance-model", default="none", metavar="NAME|DIR",
                    help="NARRATIVES_STANCE_MODEL for the runs (default: none; the default judge, use-stance, "
                         "was trained on these documents: give one trained without them)")
    args = ap.parse_args(argv)
    out = evaluate(tuple(x.strip().upper() for x in args.languages.split(",") if x.strip()), args.keep,
                   env={"NARRATIVES_STANCE_MODEL": args.stance_model})
    if out is None:
        print("SemEval data absent: ../shared/data/semeval2025-task10-train (set NARRATIVES_SHARED_DATA)")
        return 0
    print(out["process"])
    print(f"{out['labels']} watches from English label names; per-language calibration: {out['calibration']}")
    for lang, r in out.items():
        if isinstance(r, dict) and "docs" in r:
            extra = f" ({r['skipped']} skipped: {r['skip_reason']})" if r["skipped"] else ""
            print(f"{lang}: {r['docs']} docs{extra}: micro-F1 {r['micro_f1']:.4f} (P {r['precision']:.3f} "
                  f"R {r['recall']:.3f}, {r['matches']} matches), {r.get('ratio_to_en', '-')} x EN")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
