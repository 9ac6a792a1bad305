import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=None, timeout=180, env=None):
    """Run `narratives ...` in a subprocess (the Twisted reactor cannot restart in-process)."""
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *map(str, args)],
        cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


@pytest.fixture
def cli():
    return run_cli
