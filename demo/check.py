"""Self-check of the demo web: `python -m demo.check [--write-ground-truth] [--offline]`.

1. ground truth: demo/ground_truth.json equals what the content yields (regenerate with
   --write-ground-truth), and it is consistent (narratives span >= 3 events and >= 3 outlets,
   copies published after originals, citations point backwards in time, counts in range...);
2. served web: starts the demo web, fetches every URL once with urllib (robots.txt, home,
   sections and their pages, feeds, sitemaps, articles, static and trap pages) and checks
   status 200, except the planted 404; every article is listed in its outlet's feed and
   sitemaps, its page carries title, canonical, og:url and its citations; conditional GET works;
   the outlets TOML passes crawler.outlets validation (when importable).
Exits 1 and lists every violation found.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
import urllib.robotparser
from collections import Counter
from urllib.parse import urlsplit

from demo.model import GROUND_TRUTH_PATH, build_ground_truth, load_content, mentions, parse_utc
from demo.templates import OFF_WEB_URL, plain_text

TIMEOUT = 10


def check_ground_truth(content, gt: dict, problems: list[str]) -> None:
    arts = {a["id"]: a for a in gt["articles"]}
    n = len(arts)
    if len(gt["outlets"]) < 6:
        problems.append(f"only {len(gt['outlets'])} outlets (need >= 6)")
    if not 90 <= n <= 120:
        problems.append(f"{n} articles (need 90-120)")
    unrelated = sum(1 for a in arts.values() if a["kind"] == "unrelated" or (a["event"] and not any(
        e["narratives"] for e in gt["events"] if e["id"] == a["event"])))
    if not 0.25 <= unrelated / n <= 0.36:
        problems.append(f"unrelated share {unrelated / n:.2f} (want ~0.30)")
    if not any(nr["label"] == "West arms jihadists" for nr in gt["narratives"]):
        problems.append("no narrative labelled 'West arms jihadists'")
    if len(gt["narratives"]) < 3:
        problems.append("fewer than 3 narratives")
    for nr in gt["narratives"]:
        members = [arts[i] for i in nr["articles"]]
        if len(nr["events"]) < 3:
            problems.append(f"narrative {nr['id']}: {len(nr['events'])} events (need >= 3)")
        if len(nr["outlets"]) < 3:
            problems.append(f"narrative {nr['id']}: {len(nr['outlets'])} outlets (need >= 3)")
        first = min(members, key=lambda a: a["published_at"])
        if first["id"] != nr["origin_article"]:
            problems.append(f"narrative {nr['id']}: origin is not the earliest article")
        if sum(1 for a in members if a["published_at"] == first["published_at"]) > 1:
            problems.append(f"narrative {nr['id']}: origin time is tied")
        paraphrased = sum(1 for a in members if not a["copied_from"])
        if paraphrased <= len(members) / 2:
            problems.append(f"narrative {nr['id']}: most members must be paraphrases")
    event_ids = {e["id"] for e in gt["events"]}
    narrative_ids = {nr["id"] for nr in gt["narratives"]}
    for e in gt["events"]:
        if not e["articles"]:
            problems.append(f"event {e['id']} has no article")
        elif min(arts[i]["published_at"] for i in e["articles"])[:10] < e["start"]:
            problems.append(f"event {e['id']}: article before the event start")
    for nr in gt["narratives"]:  # distractors exist for each narrative's events
        if not any(arts[i]["is_distractor"] for e in gt["events"] if e["id"] in nr["events"] for i in e["articles"]):
            problems.append(f"narrative {nr['id']}: no distractor on its events")
    seen_paths = set()
    for a in arts.values():
        where = f"article {a['id']}"
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", a["published_at"]):
            problems.append(f"{where}: bad published_at {a['published_at']!r}")
        if not "2026-03-02" <= a["published_at"][:10] <= "2026-05-29":
            problems.append(f"{where}: published outside 2026-03-02..2026-05-29")
        if a["event"] is not None and a["event"] not in event_ids:
            problems.append(f"{where}: unknown event {a['event']}")
        if set(a["narratives"]) - narrative_ids:
            problems.append(f"{where}: unknown narrative")
        if a["is_distractor"] != (not a["narratives"]):
            problems.append(f"{where}: is_distractor inconsistent")
        if (a["kind"] == "narrative") != bool(a["narratives"]):
            problems.append(f"{where}: kind {a['kind']} vs narratives {a['narratives']}")
        if a["narratives"] and not a["event"]:
            problems.append(f"{where}: narrative article without event")
        if (a["outlet"], a["path"]) in seen_paths:
            problems.append(f"{where}: duplicate path {a['path']}")
        seen_paths.add((a["outlet"], a["path"]))
        if a["copied_from"]:
            o = arts.get(a["copied_from"])
            if o is None or o["published_at"] >= a["published_at"]:
                problems.append(f"{where}: copy not published after its original")
            elif o["outlet"] == a["outlet"]:
                problems.append(f"{where}: copy on the same outlet as its original")
            elif o["narratives"] != a["narratives"] or o["event"] != a["event"]:
                problems.append(f"{where}: copy labels differ from its original")
        for c in a["cites"]:
            if c not in arts or arts[c]["published_at"] >= a["published_at"] or arts[c]["outlet"] == a["outlet"]:
                problems.append(f"{where}: bad citation {c}")
        for r in a["read_more"]:
            if r not in arts or arts[r]["published_at"] >= a["published_at"] or arts[r]["outlet"] != a["outlet"]:
                problems.append(f"{where}: bad read-more link {r}")
    for art in content.articles:
        words = len(plain_text(art).split())
        if not 150 <= words <= 400:
            problems.append(f"article {art.id}: {words} words (need 150-400)")
    counts = Counter(a["outlet"] for a in arts.values())
    for o in gt["outlets"]:
        if counts[o["name"]] != o["article_count"]:
            problems.append(f"outlet {o['name']}: article_count mismatch")
    for e in gt["edges"]:
        for src, dst in e["article_pairs"]:
            if arts[src]["outlet"] != e["from_outlet"] or arts[dst]["outlet"] != e["to_outlet"]:
                problems.append(f"edge {e['from_outlet']}->{e['to_outlet']}: pair {src},{dst} has wrong outlets")
            if e["kind"] == "copy" and arts[dst]["copied_from"] != src:
                problems.append(f"copy edge pair {src},{dst} not in articles' copied_from")
            if e["kind"] == "citation" and src not in arts[dst]["cites"]:
                problems.append(f"citation edge pair {src},{dst} not in articles' cites")
    n_copies = sum(1 for a in arts.values() if a["copied_from"])
    if n_copies != sum(len(e["article_pairs"]) for e in gt["edges"] if e["kind"] == "copy"):
        problems.append("copy edges do not cover every copy")


def _get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"User-Agent": "demo-check/1.0", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_served(content, gt: dict, problems: list[str]) -> int:
    from demo.server import start_demo_web
    import xml.etree.ElementTree as ET

    fetched = 0
    with start_demo_web() as demo:
        try:
            from crawler.outlets import parse_outlets
            import tomllib
            parse_outlets(tomllib.loads(demo.outlets_toml_text()), "<demo outlets>")
        except ImportError:
            pass
        except Exception as exc:  # report, do not crash
            problems.append(f"outlets TOML rejected by crawler.outlets: {exc}")
        for o in gt["outlets"]:
            name, base = o["name"], demo.base_url(o["name"]).rstrip("/")
            to_fetch = ["/robots.txt", "/"] + o["feeds"] + o["sitemaps"] + o["sitemap_children"] + o["sections"]
            to_fetch += ["/about/", "/contact/", "/privacy-policy/"]
            to_fetch += [r["path"] for r in gt["robots_disallowed"] if r["outlet"] == name]
            bodies = {}
            for p in to_fetch:
                status, body = _get(base + p)
                fetched += 1
                bodies[p] = body
                if status != 200:
                    problems.append(f"{name} {p}: status {status}")
            # section pagination pages (linked from page 1)
            for sp in o["sections"]:
                for m in re.finditer(r'<div class="pagination">(.*?)</div>', bodies[sp].decode()):
                    for href in re.findall(r'href="([^"]+)"', m.group(1)):
                        if href != sp:
                            status, body = _get(base + href.replace("&amp;", "&"))
                            fetched += 1
                            bodies[sp] += body
                            if status != 200:
                                problems.append(f"{name} {href}: status {status}")
            rp = urllib.robotparser.RobotFileParser()
            rp.parse(bodies["/robots.txt"].decode().splitlines())
            for r in gt["robots_disallowed"]:
                if r["outlet"] == name:
                    if rp.can_fetch("narrative-tracker", base + r["path"]):
                        problems.append(f"{name} {r['path']}: not disallowed by robots.txt")
                    for lf in r["linked_from"]:
                        if r["path"].encode() not in bodies[lf]:
                            problems.append(f"{name} {lf}: does not link the robots trap {r['path']}")
            for sp in o["sections"]:
                if OFF_WEB_URL.encode() not in bodies[sp]:
                    problems.append(f"{name} {sp}: no off-web link")
            listed_feed = {urlsplit(u).path for u in re.findall(
                r"<link>([^<]+)</link>|href=\"([^\"]+)\"", bodies[o["feeds"][0]].decode()) for u in u if u}
            listed_sitemap = set()
            for p in o["sitemaps"] + o["sitemap_children"]:
                root = ET.fromstring(bodies[p])
                listed_sitemap |= {urlsplit(el.text).path for el in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
            for bad in gt["planted_404"]:
                if bad["outlet"] == name:
                    if bad["path"] not in listed_feed:
                        problems.append(f"{name}: planted 404 {bad['path']} not in feed")
                    status, _ = _get(base + bad["path"])
                    fetched += 1
                    if status != 404:
                        problems.append(f"{name} {bad['path']}: status {status}, expected 404")
            by_id = {a.id: a for a in content.articles}
            for a in gt["articles"]:
                if a["outlet"] != name:
                    continue
                if a["path"] not in listed_feed:
                    problems.append(f"{a['id']}: not in the feed")
                if a["path"] not in listed_sitemap:
                    problems.append(f"{a['id']}: not in the sitemaps")
                status, body = _get(base + a["path"])
                fetched += 1
                html = body.decode("utf-8")
                if status != 200:
                    problems.append(f"{a['id']} {a['path']}: status {status}")
                    continue
                for needle in ("<title>", 'rel="canonical"', 'property="og:url"', 'property="og:title"', "<html lang="):
                    if needle not in html:
                        problems.append(f"{a['id']}: page lacks {needle}")
                text = re.sub(r"<[^>]+>", " ", html)
                for c in a["cites"]:
                    cited = by_id[c]
                    if demo.article_url(c) not in html and not mentions(text, content.outlet(cited.outlet).display):
                        problems.append(f"{a['id']}: citation of {c} not visible in the page")
            # conditional GET on one article
            first = next(a for a in gt["articles"] if a["outlet"] == name)
            req = urllib.request.Request(base + first["path"])
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                etag = resp.headers["ETag"]
            status, _ = _get(base + first["path"], {"If-None-Match": etag})
            fetched += 2
            if status != 304:
                problems.append(f"{name}: conditional GET answered {status}, expected 304")
        logged = len(demo.request_log)
        if logged != fetched:
            problems.append(f"request log has {logged} entries for {fetched} requests")
    return fetched


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo.check", description=__doc__.splitlines()[0])
    ap.add_argument("--write-ground-truth", action="store_true", help="regenerate demo/ground_truth.json first")
    ap.add_argument("--offline", action="store_true", help="skip starting and fetching the web")
    args = ap.parse_args(argv)
    content = load_content()
    gt = build_ground_truth(content)
    text = json.dumps(gt, indent=1, ensure_ascii=False) + "\n"
    if args.write_ground_truth:
        GROUND_TRUTH_PATH.write_text(text, encoding="utf-8")
    problems: list[str] = []
    if not GROUND_TRUTH_PATH.exists() or GROUND_TRUTH_PATH.read_text("utf-8") != text:
        problems.append(f"{GROUND_TRUTH_PATH} is missing or differs from the content (run with --write-ground-truth)")
    check_ground_truth(content, gt, problems)
    fetched = 0 if args.offline else check_served(content, gt, problems)
    c = gt["counts"]
    print(f"demo web: {c['outlets']} outlets, {c['articles']} articles, {c['events']} events, {c['narratives']} narratives, "
          f"{c['distractors']} distractors ({c['unrelated']} unrelated), {c['copies']} copies, {c['citations']} citations; "
          f"{fetched} URLs fetched")
    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
