"""`make demo`: serve the demo web on loopback, crawl it, and show what was found.

    python -m demo.make_demo [--dir .demo]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from demo.server import start_demo_web

REPO = Path(__file__).resolve().parent.parent
# The demo web serves on loopback, which the crawler's address guard refuses by default
# (crawler/addresses.py): the demo's crawl allows it explicitly, and says so.
LOOPBACK_ALLOWANCE = {"NARRATIVES_ALLOW_ADDRESSES": "127.0.0.0/8"}


def narratives(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "narratives.cli", *map(str, args)]
    shown = "".join(f"{k}={v} " for k, v in (env or {}).items())
    print(f"$ {shown}narratives {' '.join(map(str, args))}", flush=True)
    proc = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
    if proc.returncode != 0:
        sys.exit(f"demo failed: `narratives {' '.join(map(str, args))}` exited {proc.returncode}")
    return proc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=REPO / ".demo", help="where the demo database goes")
    args = ap.parse_args(argv)
    workdir = args.dir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    db = workdir / "demo.db"
    outlets = workdir / "outlets.toml"
    web = start_demo_web()
    try:
        web.write_outlets_toml(outlets)
        counts = web.ground_truth["counts"]
        print(f"demo web serving {counts['outlets']} outlets, {counts['articles']} articles on loopback", flush=True)
        narratives("outlets", "import", db, outlets)
        print("the demo web is on loopback: the crawl allows 127.0.0.0/8, which the address guard refuses "
              "by default (see docs/outlets-format.md)", flush=True)
        narratives("crawl", db, "-s", "NARRATIVES_PROGRESS_INTERVAL=5", env=LOOPBACK_ALLOWANCE)
    finally:
        web.stop()
    narratives("outlets", "list", db)
    narratives("articles", db, "--limit", "10")
    narratives("runs", db)
    narratives("process", db)
    narratives("list", db)
    narratives("watch", "add", db, "West arms jihadists", "--description",
               "The US, NATO and the West recruit, train and arm jihadist militants to attack Russia and its allies.")
    narratives("watch", "show", db, "West arms jihadists", "--limit", "10")
    # the Russian-language outlet where the claim starts is read with the rest (two vector spaces:
    # a shared multilingual one for every article, an English one for English events)
    narratives("spread", db, "1", "--kind", "watch")
    rel = os.path.relpath(db, Path.cwd())
    print(f"""
The demo database is {rel}. Browse it:
  .venv/bin/narratives articles {rel} --limit 50      newest articles
  .venv/bin/narratives pages {rel} --errors           failed fetches with their reason
  .venv/bin/narratives export {rel} --format csv      every article as CSV, with event and narrative ids
  .venv/bin/narratives list {rel}                     narratives; `narratives show {rel} ID` for one
  .venv/bin/narratives events {rel}                   events (same story)
  .venv/bin/narratives search {rel} "sanctions hurt Europe"   semantic search
  .venv/bin/narratives spread {rel} 1                 how narrative 1 spread: origin, adopters, edges, bursts
  .venv/bin/narratives report {rel} 1 --html narrative-1.html   the same on one HTML page to share (offline)
  .venv/bin/narratives serve {rel}                    Datasette with charts: http://127.0.0.1:8001/demo/-/narratives
  .venv/bin/narratives spread {rel} 1 --kind watch   the watched narrative: origin moskovsky-telegraf, translation edge ru->en
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
