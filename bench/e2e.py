"""End-to-end throughput: crawl -> extract -> store -> embed -> cluster -> spread, on loopback.

    python -m bench.e2e [--pages 5000] [--outlets 8] [--watches 5] [--sequential] [--json OUT] [--keep DIR]

A news web of real page templates and real texts (bench/e2e_web.py) runs in its own process. Then,
as a user would: `narratives outlets import`, `narratives crawl` with politeness delays off
(robots.txt still obeyed; `NARRATIVES_ALLOW_ADDRESSES=127.0.0.0/8`, as the address guard refuses
loopback otherwise) and `narratives process --timings` alongside it (after it with
`--sequential`). Each command runs under a measuring wrapper that is the child subreaper of
everything it starts, so the CPU of every process (extraction workers included) is counted
exactly; the process tree is sampled from /proc to split the crawl's CPU and find peak RSS.

Reported: articles/s counting only articles through every stage, CPU-ms per article per stage,
the ideal rate (cores / CPU per article) and the ratio to it, peak RSS, database bytes per
article, and token F1 of the stored text against the page's source text. With watched
narratives (`--watches`) and a stance judge, the judge's cost too.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.shared_data import REPO_ROOT, shared_data_dir

CORES = 2
CLI = [sys.executable, "-m", "narratives.cli"]
# politeness off on loopback; robots.txt still obeyed (ROBOTSTXT_OBEY stays True)
CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "CONCURRENT_REQUESTS": "64",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16", "NARRATIVES_MAX_PAGES_PER_OUTLET": "1000000",
    # the web is on loopback, which the address guard (crawler/addresses.py) refuses unless allowed
    "NARRATIVES_ALLOW_ADDRESSES": "127.0.0.0/8",
}
# watched narratives defined before the crawl, as an analyst following known claims would: every
# article is scored against each, and the stance judge reads the candidates near or above a threshold
WATCHES = [
    ("western-weapons-prolong-war", "Western weapons deliveries to Ukraine only prolong the war and the suffering."),
    ("climate-policy-ruins-economy", "Climate policies and green rules are destroying jobs, industry and farmers."),
    ("vaccines-dangerous", "Vaccines are dangerous and their harms are being hidden from the public."),
    ("elections-rigged", "Elections are rigged and the results were manipulated."),
    ("migrants-crime", "Migrants bring crime and are a threat to the country."),
]
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------ measuring wrapper


def _proc_stat(pid: int) -> tuple[int, float, int] | None:
    """(ppid, own CPU seconds, RSS bytes) from /proc, None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS, int(fields[21]) * _PAGE


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


class TreeSampler(threading.Thread):
    """Last-seen CPU of every descendant of `root`, and the peak RSS of the whole tree."""

    def __init__(self, root: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.cpu: dict[int, float] = {}
        self.kind: dict[int, str] = {}
        self.peak_tree_rss = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            stats = {}
            for entry in os.listdir("/proc"):
                if entry.isdigit() and (st := _proc_stat(int(entry))) is not None:
                    stats[int(entry)] = st
            tree, frontier = set(), [self.root]
            while frontier:
                pid = frontier.pop()
                tree.add(pid)
                frontier.extend(p for p, st in stats.items() if st[0] == pid and p not in tree)
            rss = 0
            for pid in tree & stats.keys():
                self.cpu[pid] = stats[pid][1]
                rss += stats[pid][2]
                if pid not in self.kind:
                    cmd = _cmdline(pid)
                    self.kind[pid] = "worker" if ("forkserver" in cmd or "multiprocessing" in cmd) else "main"
            self.peak_tree_rss = max(self.peak_tree_rss, rss)
            self.done.wait(self.interval)


def measure_main(cmd: list[str], out: Path) -> int:
    """Run cmd as our child, reap every descendant (subreaper), write CPU/RSS JSON to out."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphaned workers are reaped here, counted
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    rc = proc.wait()
    wall = time.perf_counter() - t0
    sampler.done.set()
    sampler.join()
    while True:  # the orphans
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    ru = __import__("resource").getrusage(__import__("resource").RUSAGE_CHILDREN)
    worker_cpu = sum(c for pid, c in sampler.cpu.items() if sampler.kind.get(pid) == "worker")
    out.write_text(json.dumps({
        "rc": rc, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
        "worker_cpu_s": worker_cpu, "peak_rss_mib": ru.ru_maxrss / 1024,
        "peak_tree_rss_mib": sampler.peak_tree_rss / 2 ** 20,
    }))
    return rc


def start_measured(cmd: list[str], workdir: Path, name: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.e2e", "--measure", str(workdir / f"{name}.measure.json"),
                             "--", *cmd], cwd=REPO_ROOT, stdout=(workdir / f"{name}.out").open("wb"),
                            stderr=(workdir / f"{name}.err").open("wb"), **popen)


def finish_measured(proc: subprocess.Popen, workdir: Path, name: str) -> dict:
    rc = proc.wait()
    if rc != 0:
        raise RuntimeError(f"{name} failed ({rc}): {(workdir / f'{name}.err').read_text()[-3000:]}")
    return json.loads((workdir / f"{name}.measure.json").read_text())


# ------------------------------------------------------------------ the run


def start_web(workdir: Path, pages: int, outlets: int) -> tuple[subprocess.Popen, dict]:
    ready, stats = workdir / "web.ready.json", workdir / "web.stats.json"
    proc = subprocess.Popen([sys.executable, "-m", "bench.e2e_web", "--pages", str(pages), "--outlets", str(outlets),
                             "--ready", str(ready), "--stats", str(stats)], cwd=REPO_ROOT)
    deadline = time.monotonic() + 300
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the e2e web did not start")
        time.sleep(0.2)
    time.sleep(0.1)
    return proc, json.loads(ready.read_text())


def stop_web(proc: subprocess.Popen, workdir: Path) -> dict:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return json.loads((workdir / "web.stats.json").read_text())


def outlets_toml(info: dict) -> str:
    return "".join(
        f'[[outlet]]\nname = "{o["name"]}"\nhome = "{o["home"]}"\nfeeds = {json.dumps(o["feeds"])}\n'
        f'sitemaps = {json.dumps(o["sitemaps"])}\nlanguage = "en"\n\n' for o in info["outlets"])


def db_counts(db: Path) -> dict:
    conn = sqlite3.connect(db)
    q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    out = {
        "pages": q("SELECT kind, count(*) FROM pages GROUP BY kind"),
        "page_errors": q("SELECT error, count(*) FROM pages WHERE error IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10"),
        "articles": q("SELECT count(*) FROM articles")[0][0],
        "embedded": q("SELECT count(*) FROM embeddings")[0][0],
        "passages": q("SELECT count(*) FROM passages")[0][0],
        "skipped": q("SELECT reason, count(*) FROM embed_skips GROUP BY 1"),
        "pending": q("SELECT stage, count(*) FROM pending GROUP BY 1"),
        "events": q("SELECT count(*) FROM events")[0][0],
        "narratives": q("SELECT count(*) FROM narratives")[0][0],
        "reuse_pairs": q("SELECT count(*) FROM text_reuse")[0][0],
        "spread_edges": q("SELECT count(*) FROM spread_edges")[0][0],
        "completed": q("""SELECT count(*) FROM articles a WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = a.id)
                          AND EXISTS (SELECT 1 FROM event_memberships m WHERE m.article_id = a.id)
                          AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.article_id = a.id)""")[0][0],
        "tables_bytes": q("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8")
        if q("SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_DBSTAT_VTAB'") else [],
    }
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return out


def text_f1(db: Path, pages: int, sample: int = 500) -> float:
    """Mean token F1 of stored text vs the text each page was built from (a sample of pages)."""
    from bench.e2e_web import page_texts
    from bench.scoring import mean, token_f1

    texts = page_texts(pages)
    conn = sqlite3.connect(db)
    stored = {}
    for url, text in conn.execute("SELECT url, text FROM articles"):
        m = re.search(r"story-(\d+)\.html", url)
        if m:
            stored[int(m.group(1))] = text
    step = max(1, pages // sample)
    return mean(token_f1(stored.get(i), "\n".join(texts[i][1])) for i in range(0, pages, step))


def run(workdir: Path, pages: int, outlets: int, overlap: bool = True, watches: int = len(WATCHES)) -> dict:
    web, info = start_web(workdir, pages, outlets)
    db = workdir / "e2e.db"
    try:
        (workdir / "outlets.toml").write_text(outlets_toml(info))
        subprocess.run([*CLI, "outlets", "import", str(db), str(workdir / "outlets.toml")], check=True,
                       capture_output=True, cwd=REPO_ROOT)
        for name, description in WATCHES[:watches]:
            subprocess.run([*CLI, "watch", "add", str(db), name, "--description", description], check=True,
                           capture_output=True, cwd=REPO_ROOT)
        settings = [a for k, v in CRAWL_SETTINGS.items() for a in ("-s", f"{k}={v}")]
        process_cmd = [*CLI, "process", str(db), "--timings", str(workdir / "process.json")]
        t0 = time.perf_counter()
        if overlap:
            # what `narratives crawl --process` does (narratives/commands/crawl.py), the two halves measured apart
            # NARRATIVES_RUN_LOCK_HELD_BY: the crawl started next holds the run lock for both (narratives/common.py)
            follower = start_measured([*process_cmd, "--follow"], workdir, "process", stdin=subprocess.PIPE,
                                      env=dict(os.environ, NARRATIVES_RUN_LOCK_HELD_BY=str(os.getpid()),
                                               NARRATIVES_EMBED_THREADS=os.environ.get("NARRATIVES_EMBED_THREADS", "1")))
            crawl = finish_measured(start_measured([*CLI, "crawl", str(db), *settings], workdir, "crawl"), workdir, "crawl")
            follower.stdin.close()
            process = finish_measured(follower, workdir, "process")
        else:
            crawl = finish_measured(start_measured([*CLI, "crawl", str(db), *settings], workdir, "crawl"), workdir, "crawl")
            process = finish_measured(start_measured(process_cmd, workdir, "process"), workdir, "process")
        wall = time.perf_counter() - t0
    finally:
        web_stats = stop_web(web, workdir)
    detail = json.loads((workdir / "process.json").read_text())
    counts = db_counts(db)
    db_bytes = db.stat().st_size
    n = counts["completed"] or 1
    stages = {
        "crawl (reactor: fetch, parse feeds/sitemaps, store)": crawl["cpu_s"] - crawl["worker_cpu_s"],
        "extract (worker processes)": crawl["worker_cpu_s"],
        **{f"process: {k}": v["cpu_s"] for k, v in detail["timings"].items()},
    }
    stages["process: rest (start-up, model load, polling)"] = process["cpu_s"] - sum(
        v for k, v in stages.items() if k.startswith("process"))
    total_cpu = crawl["cpu_s"] + process["cpu_s"]
    return {
        "pages": pages, "outlets": outlets, "templates": info["templates"], "overlap": overlap,
        "process_runs": detail["runs"], "load_average": os.getloadavg(),
        "mean_page_kb": round(info["mean_page_bytes"] / 1024, 1),
        "wall_s": round(wall, 2), "crawl_wall_s": round(crawl["wall_s"], 2), "process_wall_s": round(process["wall_s"], 2),
        "completed": counts["completed"], "articles_per_s": round(counts["completed"] / wall, 2),
        "cpu_ms_per_article": {k: round(1000 * v / n, 2) for k, v in stages.items()},
        "cpu_ms_per_article_total": round(1000 * total_cpu / n, 2),
        "ideal_articles_per_s": round(CORES * n / total_cpu, 2),
        "ideal_ratio": round((counts["completed"] / wall) / (CORES * n / total_cpu), 3),
        "core_use": round(total_cpu / (CORES * wall), 3),
        "crawl_core_use": round(crawl["cpu_s"] / (CORES * crawl["wall_s"]), 3),
        "process_core_use": round(process["cpu_s"] / (CORES * process["wall_s"]), 3),
        "server_cpu_ms_per_article": round(1000 * web_stats["serve_cpu_s"] / n, 2),
        "server_requests": web_stats["requests"], "server_mib_sent": round(web_stats["bytes"] / 2 ** 20, 1),
        "peak_rss_mib": {"crawl largest process": round(crawl["peak_rss_mib"]), "crawl tree": round(crawl["peak_tree_rss_mib"]),
                         "process": round(process["peak_rss_mib"]), "server": round(web_stats["peak_rss_mib"])},
        "db_bytes_per_article": round(db_bytes / n), "db_mib": round(db_bytes / 2 ** 20, 1),
        "counts": counts, "embedded": detail["embedded"], "passages": detail["passages"], "skipped": detail["skipped"],
        "precision": detail["precision"],
        "text_f1_vs_source": round(text_f1(db, pages), 4),
        "watches": watches, "stance": stance_stats(db, detail.get("stance", {}), n),
    }


def stance_stats(db: Path, stance: dict, completed: int) -> dict:
    """What the stance judge cost: pairs judged, CPU-ms per judged pair and per stored article, and
    the share of the articles it read (inside the narratives and watch stages' CPU above)."""
    conn = sqlite3.connect(db)
    try:
        judged_articles = conn.execute("SELECT count(DISTINCT article_id) FROM stances").fetchone()[0]
    except sqlite3.OperationalError:
        judged_articles = 0
    finally:
        conn.close()
    pairs, cpu = stance.get("judged", 0), stance.get("cpu_s", 0.0)
    return {"pairs_judged": pairs, "model_calls": stance.get("calls", 0), "articles_judged": judged_articles,
            "share_of_articles_judged": round(judged_articles / max(1, completed), 4),
            "cpu_ms_per_judged_pair": round(1000 * cpu / pairs, 1) if pairs else None,
            "cpu_ms_per_article": round(1000 * cpu / max(1, completed), 2)}


def table(r: dict) -> str:
    lines = [
        f"e2e: {r['pages']} pages, {r['outlets']} outlets ({r['templates']} real templates, mean page {r['mean_page_kb']} KB), "
        "politeness delays off (AutoThrottle off, DOWNLOAD_DELAY 0), robots.txt fetched and obeyed",
        f"  end to end: {r['completed']} articles through every stage in {r['wall_s']} s = {r['articles_per_s']} articles/s "
        f"(crawl {r['crawl_wall_s']} s, process {r['process_wall_s']} s)",
        f"  ideal (2 cores / {r['cpu_ms_per_article_total']} CPU-ms per article): {r['ideal_articles_per_s']} articles/s; "
        f"ratio {r['ideal_ratio']}; core use {r['core_use']} (crawl {r['crawl_core_use']}, process {r['process_core_use']})",
        "  CPU ms per article by stage:",
        *(f"    {k:55s} {v:8.2f}" for k, v in r["cpu_ms_per_article"].items()),
        f"  server (own process, not in the sum): {r['server_cpu_ms_per_article']} CPU-ms/article, "
        f"{r['server_requests']} requests, {r['server_mib_sent']} MiB",
        f"  extracted {r['counts']['articles']}, embedded {r['embedded']} ({r['passages']} passages, {r['precision']}), "
        f"skipped {r['skipped'] or 'none'}; page errors {r['counts']['page_errors'] or 'none'}; pending {r['counts']['pending'] or 'none'}",
        f"  peak RSS MiB {r['peak_rss_mib']}; database {r['db_mib']} MiB = {r['db_bytes_per_article']} bytes/article",
        f"  stored text vs source text, token F1 {r['text_f1_vs_source']}",
        f"  stance judge ({r['watches']} watched narratives defined): {r['stance']['pairs_judged']} pairs judged "
        f"({r['stance']['model_calls']} model calls), {r['stance']['cpu_ms_per_judged_pair']} CPU-ms per pair, "
        f"{r['stance']['share_of_articles_judged']:.1%} of articles judged, {r['stance']['cpu_ms_per_article']} CPU-ms "
        "per stored article (inside the narratives and watch stages)",
        f"  {'process overlapped with the crawl' if r['overlap'] else 'process after the crawl'} ({r['process_runs']} runs); "
        f"load average at the end {tuple(round(x, 1) for x in r['load_average'])} (the 2 cores are shared)",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--measure"]:
        return measure_main(argv[3:], Path(argv[1]))  # --measure OUT -- cmd...
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=5000)
    ap.add_argument("--outlets", type=int, default=8)
    ap.add_argument("--json", type=Path, help="write the result here")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (database, logs)")
    ap.add_argument("--sequential", action="store_true", help="process after the crawl instead of alongside it")
    ap.add_argument("--watches", type=int, default=len(WATCHES), choices=range(len(WATCHES) + 1),
                    help=f"watched narratives to define before the crawl (0..{len(WATCHES)})")
    args = ap.parse_args(argv)
    if shared_data_dir() is None:
        print("skipped: ../shared/data not found")
        return 0
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        result = run(args.keep, args.pages, args.outlets, not args.sequential, args.watches)
    else:
        with tempfile.TemporaryDirectory(prefix="narratives-e2e-") as tmp:
            result = run(Path(tmp), args.pages, args.outlets, not args.sequential, args.watches)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
