"""`narratives --help` and every command's `--help`, against a snapshot (tests/golden/cli_help.txt).

The snapshot was written from the CLI as it stood before the commands moved out of
crawler/cli.py into narratives/commands/ (issue #15): a move must not change what any help says.
A deliberate change to a command's help or options updates the snapshot in the same commit:

    python -m tests.test_cli_help > tests/golden/cli_help.txt

Also: `--help` stays fast, loading none of the heavy libraries the commands use.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from tests.conftest import REPO

SNAPSHOT = Path(__file__).parent / "golden" / "cli_help.txt"
HEAVY = ("torch", "sentence_transformers", "scrapy", "twisted", "datasette", "sklearn", "trafilatura", "redis")


def command_paths(command: click.Command, path: list[str] | None = None):
    path = path or []
    yield path
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from command_paths(command.commands[name], path + [name])


def all_help() -> str:
    from narratives.cli import cli

    runner = CliRunner()
    out = []
    for path in command_paths(cli):
        r = runner.invoke(cli, path + ["--help"], prog_name="narratives", terminal_width=80)
        out.append(f"=== narratives {' '.join(path + ['--help'])} (exit {r.exit_code})\n{r.output}")
    return "".join(out)


def test_every_help_is_the_snapshot():
    got, expected = all_help(), SNAPSHOT.read_text(encoding="utf-8")
    if got != expected:
        heads = lambda text: {s.split("\n", 1)[0]: s for s in text.split("=== ")[1:]}  # noqa: E731
        g, e = heads(got), heads(expected)
        changed = sorted(k for k in g.keys() | e.keys() if g.get(k) != e.get(k))
        raise AssertionError(f"--help differs from {SNAPSHOT.name} for: {changed}")
    assert expected.count("=== narratives") == 34  # the group and its 33 commands and subcommands


def test_help_loads_no_heavy_library():
    code = ("import sys; from narratives.cli import cli; from click.testing import CliRunner; "
            "CliRunner().invoke(cli, ['--help']); print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.split())
    assert not loaded & set(HEAVY), f"`narratives --help` loads {sorted(loaded & set(HEAVY))}"


if __name__ == "__main__":
    sys.stdout.write(all_help())
