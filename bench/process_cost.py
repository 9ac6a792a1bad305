"""What `narratives process` costs per article on real long articles, by model and number format.

    python -m bench.process_cost [--models M1,M2] [--precisions auto,fp32] [--json OUT]

Real articles imported as a user would (`narratives import`): giveme5w1h (383 English news) and
the SemEval-2025 Task 10 training documents in English (399) and Russian (133), one database per
run; then `narratives process DB --model M --timings FILE` in a fresh process with
NARRATIVES_EMBED_PRECISION set. Reported per run: CPU-ms per imported article (the whole
process, model loading and embedding workers included), per stage, articles per second of wall
time, and what was skipped. The models run back to back for each format, so a comparison is
within one run of the box. Defaults: the English-only model of before (all-MiniLM-L6-v2) and
the default (use-multilingual-v3+all-MiniLM-L6-v2).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.eval_events import load_giveme
from bench.semeval import load_semeval, semeval_dir

REPO = Path(__file__).resolve().parent.parent
MODELS = ("all-MiniLM-L6-v2", "use-multilingual-v3+all-MiniLM-L6-v2")


def corpus(path: Path) -> int:
    """Write the articles as JSONL; returns how many."""
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for a in load_giveme() or []:
            f.write(json.dumps({"url": f"https://giveme.example/{a['id']}", "outlet": "giveme5w1h", "title": a["title"],
                                "text": a["text"], "language": "en",
                                "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(a["time"]))}) + "\n")
            n += 1
        for lang in ("EN", "RU"):
            folder = semeval_dir(lang)
            for d in load_semeval(folder) if folder else []:
                if d.text.strip():
                    f.write(json.dumps({"url": f"https://semeval.example/{lang.lower()}/{d.id}",
                                        "outlet": f"semeval-{lang.lower()}", "title": d.title, "text": d.text,
                                        "language": lang.lower()}, ensure_ascii=False) + "\n")
                    n += 1
    return n


def run(model: str, precision: str, jsonl: Path, work: Path, n: int) -> dict:
    db, timings = work / "cost.db", work / "timings.json"
    for p in (db, timings):
        if p.exists():
            p.unlink()
    env = dict(os.environ, NARRATIVES_EMBED_PRECISION=precision)
    cli = [sys.executable, "-m", "narratives.cli"]
    subprocess.run([*cli, "import", str(db), str(jsonl)], cwd=REPO, env=env, check=True, capture_output=True)
    t = time.perf_counter()
    proc = subprocess.run([*cli, "process", str(db), "--model", model, "--timings", str(timings)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    data = json.loads(timings.read_text())
    fmt = data["precision"] + (f" + {data['english_precision']}" if data.get("english_precision") else "")
    return {"model": model, "precision": precision, "format": fmt, "articles": n,
            "embedded": data["embedded"], "passages": data["passages"], "skipped": data["skipped"],
            "cpu_ms_per_article": round(1000 * data["cpu_s"] / n, 1), "articles_per_s": round(n / wall, 2),
            "stages_cpu_ms_per_article": {k: round(1000 * v["cpu_s"] / n, 1) for k, v in data["timings"].items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--precisions", default="auto,fp32")
    ap.add_argument("--json", help="write the results as JSON here")
    args = ap.parse_args(argv)
    if load_giveme() is None or semeval_dir("EN") is None:
        print("giveme5w1h or SemEval absent under ../shared/data (set NARRATIVES_SHARED_DATA)")
        return 0
    work = Path(tempfile.mkdtemp(prefix="process-cost-"))
    jsonl = work / "articles.jsonl"
    n = corpus(jsonl)
    out = []
    for precision in args.precisions.split(","):
        for model in args.models.split(","):
            r = run(model, precision, jsonl, work, n)
            out.append(r)
            print(f"{model} [{precision} -> {r['format']}]: {r['cpu_ms_per_article']} CPU-ms per article, "
                  f"{r['articles_per_s']} articles/s ({r['embedded']} embedded, {r['passages']} passages, skipped "
                  f"{r['skipped'] or 'none'}); stages {r['stages_cpu_ms_per_article']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
