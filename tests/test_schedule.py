"""Scheduling: `narratives schedule`, and the crontab and systemd recipes in contrib/ run as written."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from crawler.exceptions import ScheduleError
from crawler.schedule import next_slot, parse_interval
from tests.conftest import ALLOW_LOOPBACK, REPO, run_cli, db_query as query, import_outlets
from tests.fixture_sites import GrowingWeb

FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0.02", "-s", "NARRATIVES_EXTRACT_WORKERS=1", "-s",
        "NARRATIVES_PROGRESS_INTERVAL=0", *ALLOW_LOOPBACK]
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def test_intervals():
    assert parse_interval("30m") == 1800 and parse_interval("1h") == 3600 and parse_interval("2s") == 2
    assert parse_interval("1.5h") == 5400 and parse_interval("1d") == 86400
    for bad in ("30", "m", "0s", "5 minutes", "-1m", ""):
        with pytest.raises(ScheduleError):
            parse_interval(bad)
    assert next_slot(3599.0, 1800) == 3600 and next_slot(3600.0, 1800) == 5400


@pytest.fixture
def web_and_db(tmp_path):
    web = GrowingWeb({"herald": "127.0.0.48"})
    web.publish("herald", 2)
    db = tmp_path / "news.db"
    import_outlets(db, web.outlets_toml(), tmp_path)
    yield web, db
    web.stop()


def test_schedule_runs_every_interval(web_and_db):
    web, db = web_and_db
    r = run_cli("schedule", db, "--every", "1s", "--max-runs", "2", "--no-process", *FAST)
    assert r.returncode == 0, r.stderr
    assert "2 runs, 0 failed" in r.stdout and "next run at" in r.stderr
    assert query(db, "SELECT status, articles_new FROM crawl_runs ORDER BY id") == [("finished", 2), ("finished", 0)]
    bad = run_cli("schedule", db, "--every", "soon")
    assert bad.returncode == 2 and "is not a number with a unit" in bad.stderr
    assert run_cli("schedule", db, "--every", "1h", "--outlet", "nope").returncode == 2
    assert query(db, "SELECT count(*) FROM crawl_runs") == [(2,)]


def fake_install(home):
    """~/narrative-tracker/.venv/bin/narratives as `make install` makes it, running this checkout."""
    bin_dir = home / "narrative-tracker" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "narratives"
    script.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m narratives.cli "$@"\n')
    script.chmod(0o755)


def unit(path):
    sections, current = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_crontab_and_systemd_recipes_run_as_written(web_and_db, tmp_path):
    web, db = web_and_db
    home = tmp_path / "home"
    fake_install(home)
    (home / "news").mkdir()
    shutil.copy(db, home / "news" / "news.db")
    # the test web is on loopback, which the address guard refuses unless allowed (tests/conftest.py)
    base_env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "NARRATIVES_ALLOW_ADDRESSES": "127.0.0.0/8"}

    # crontab: environment lines, then five time fields and a /bin/sh command line
    env, jobs = dict(base_env), []
    for line in (REPO / "contrib" / "cron" / "narratives.crontab").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            env[key] = value
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6 and all(CRON_FIELD.match(f) for f in fields[:5]), line
        jobs.append(fields[5])
    assert [("narratives\" run" in j, "health" in j) for j in jobs] == [(True, False), (False, True)]
    for job in jobs:
        r = subprocess.run(["/bin/sh", "-c", job], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (job, r.stdout, r.stderr)
        assert r.stdout == "" and r.stderr == ""  # cron would mail any output: nothing to mail here
    log = (home / "news" / "run.log").read_text()
    assert "crawl run 1 finished: 1 outlets" in log and "process: run 1" in log
    assert query(home / "news" / "news.db", "SELECT count(DISTINCT article_id) FROM embeddings") == [(2,)]

    # systemd: the units verify, and the service's command line runs as written
    units = tmp_path / "units"
    shutil.copytree(REPO / "contrib" / "systemd", units)
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
                           env={**os.environ, "HOME": str(home)}, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    service = unit(units / "narratives-run.service")["Service"]
    timer = unit(units / "narratives-run.timer")["Timer"]
    assert timer["OnCalendar"] == ["hourly"] and service["Type"] == ["oneshot"]
    svc_env = dict(base_env, **dict(e.split("=", 1) for e in service.get("Environment", [])))
    cwd = service["WorkingDirectory"][0].replace("%h", str(home))
    (cmd,) = service["ExecStart"]
    r = subprocess.run(cmd.replace("%h", str(home)).split(), cwd=cwd, env=svc_env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    # nothing new since the cron run: only conditional requests, and process does not even load the model
    assert "crawl run 2 finished: 1 outlets, 4 requests, 0 new articles" in r.stdout
    assert "process: nothing new to process" in r.stdout
    worker = unit(units / "narratives-worker.service")["Service"]
    assert worker["ExecStart"][0].split()[1:3] == ["worker", "--redis"] and worker["Restart"] == ["always"]
