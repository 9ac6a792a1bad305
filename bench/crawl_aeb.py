"""Body-text quality and crawl speed through the real spider on scrapinghub-aeb pages.

The 181 real article pages are served on loopback under their original paths (prefixed by
their original host), listed in a generated sitemap, crawled by `narratives crawl`, and the
stored text is scored against the gold articleBody (token F1, mean over all 181 pages; a page
that yields no article scores 0).

    python -m bench.crawl_aeb [--json OUT]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.scoring import mean, token_f1
from bench.shared_data import shared_data_dir
from demo.webserver import FixtureWeb, Response

REPO = Path(__file__).resolve().parent.parent


def aeb_dir() -> Path | None:
    root = shared_data_dir()
    path = root / "scrapinghub-aeb" if root else None
    return path if path and (path / "ground-truth.json").exists() else None


def build_site(aeb: Path) -> tuple[dict, dict[str, str]]:
    """(routes, {loopback path: gold id}) for every page."""
    gold = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    routes, paths = {}, {}
    for page_id, entry in gold.items():
        parts = urlsplit(entry["url"])
        path = f"/{parts.hostname}{parts.path or '/'}"
        if parts.query:
            path += "?" + parts.query
        body = gzip.decompress((aeb / "html" / f"{page_id}.html.gz").read_bytes())
        routes[path] = Response(body=body, content_type="text/html; charset=utf-8")
        paths[path] = page_id
    return routes, paths


def run(workdir: Path, extra_settings: list[str] = ()) -> dict:
    aeb = aeb_dir()
    if aeb is None:
        raise FileNotFoundError("scrapinghub-aeb data not found (../shared/data/scrapinghub-aeb)")
    gold = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    routes, paths = build_site(aeb)
    web = FixtureWeb()
    web.add_site("aeb", routes, host="127.0.0.41")
    with web:
        base = web.base_url("aeb").rstrip("/")
        urls = "".join(f"<url><loc>{base}{p.replace('&', '&amp;')}</loc></url>" for p in paths)
        web.routes("aeb")["/sitemap.xml"] = Response(
            body=f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode(),
            content_type="application/xml")
        web.routes("aeb")["/robots.txt"] = Response(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
        outlets = workdir / "outlets.toml"
        outlets.write_text(f'[[outlet]]\nname = "aeb"\nhome = "{base}/"\nsitemaps = ["{base}/sitemap.xml"]\n')
        db = workdir / "aeb.db"
        cmd = [sys.executable, "-m", "narratives.cli"]
        subprocess.run([*cmd, "outlets", "import", db, outlets], check=True, capture_output=True, cwd=REPO)
        # politeness off for a loopback benchmark (robots.txt still fetched); loopback allowed
        # explicitly: the address guard (crawler/addresses.py) refuses it by default
        settings = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                    "-s", "NARRATIVES_ALLOW_ADDRESSES=127.0.0.0/8", *extra_settings]
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, "crawl", db, *settings], capture_output=True, text=True, cwd=REPO,
                              env=dict(os.environ, PYTHONUNBUFFERED="1"))
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"crawl failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    conn = sqlite3.connect(db)
    texts = {}
    for url, text in conn.execute("SELECT url, text FROM articles"):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        texts[paths.get(path)] = text
    scores = {pid: token_f1(texts.get(pid), gold[pid]["articleBody"]) for pid in gold}
    return {
        "pages": len(gold),
        "articles": len(texts),
        "mean_f1": round(mean(scores.values()), 4),
        "crawl_seconds": round(elapsed, 2),
        "pages_per_second": round(len(gold) / elapsed, 1),
        "worst": sorted(scores.items(), key=lambda kv: kv[1])[:5],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the result here")
    args = ap.parse_args(argv)
    if aeb_dir() is None:
        print("skipped: ../shared/data/scrapinghub-aeb not found")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        result = run(Path(tmp))
    print(f"aeb through the spider: mean token F1 {result['mean_f1']:.4f} over {result['pages']} pages "
          f"({result['articles']} articles), crawl+extract {result['pages_per_second']} pages/s "
          f"({result['crawl_seconds']} s incl. start-up)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
