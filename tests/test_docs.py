"""The documentation stays true to the code (issue #31).

- Every `narratives ...` command line in README.md and docs/*.md is parsed by the click group of
  narratives/cli.py (`make_context`: parsed and converted, never invoked). Fenced code is parsed
  strictly; an inline span may be a synopsis (`narratives crawl DB [--outlet NAME]...`): brackets and
  ellipses are dropped, `a|b` takes `a`, a placeholder argument may be missing or ill-typed, but the
  command and every option must exist and no argument may be left over.
- Every relative link and image in README.md, docs/*.md and BENCHMARKS*.md resolves; an `#anchor`
  into a Markdown file names one of its headings.
- Gated figures: in a BENCHMARKS.md table with `gate` and `value` columns, a row whose gate cell
  names a key in backticks shows that key's value from bench/quality_gates.json as the first number
  of its value cell and names its test file; every key has such a row.

The last tests show the checks failing on a misspelled option, a broken link and a wrong figure.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import unicodedata
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parent.parent
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK_FILES = DOC_FILES + [REPO / "BENCHMARKS.md", REPO / "BENCHMARKS-notebook.md"]
GATES_FILE = REPO / "bench" / "quality_gates.json"

FENCE = re.compile(r"^(\s*)(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_SRC = re.compile(r"""<(?:img|a)\s[^>]*?(?:src|href)=["']([^"']+)["']""", re.I)
SHELL_STOP = {"&&", "||", ";", "|", ">", ">>", "2>&1", "2>", "<", "&"}


# --- command lines ---------------------------------------------------------------------------

def _code_lines(text: str):
    """(line number, code, strict) for every line of a fenced block and every inline code span."""
    in_fence, held = False, None  # held: (first line number, text) of a line continued with a backslash
    for no, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            if held:
                no, line = held[0], held[1] + " " + line.strip()
            held = (no, line.rstrip()[:-1]) if line.rstrip().endswith("\\") else None
            if not held:
                yield no, line, True
        else:
            for m in INLINE_CODE.finditer(line):
                yield no, m.group(2), False


def _is_narratives(token: str) -> bool:
    return token == "narratives" or token.endswith("/narratives")


def command_lines(text: str):
    """(line number, argv after `narratives`, strict) for each command line in a Markdown text."""
    for no, code, strict in _code_lines(text):
        code = code.replace("\\|", "|")
        if strict:
            code = re.sub(r"(^|\s)#.*$", "", code)  # a shell comment
        elif not re.match(r"^(\S*/)?narratives\s+(--?[a-zA-Z]|[a-z])", code.strip()):
            continue  # an inline span is a command line when it starts with the command and a word or option
        if not re.search(r"(^|[\s/\"'])narratives[\"']?(\s|$)", code):
            continue
        try:
            tokens = shlex.split(code.replace("…", " … "), posix=True)
        except ValueError:
            tokens = code.split()
        start = next((i for i, t in enumerate(tokens) if _is_narratives(t)), None)
        if start is None or (start + 1 < len(tokens) and not re.match(r"^(--?[a-zA-Z]|[a-z][a-z-]*$)", tokens[start + 1])):
            continue  # prose about the package (`narratives -> crawler`), not a command line
        argv = []
        for t in tokens[start + 1:]:
            if t in SHELL_STOP or t.startswith(">") or t.startswith("2>"):
                break
            argv.append(t)
        if not strict:
            argv = _synopsis(argv)
        yield no, argv, strict


def _synopsis(argv: list[str]) -> list[str]:
    out = []
    for t in argv:
        t = t.replace("[", "").replace("]", "")
        if t in ("…", "..."):
            out.append("X")  # a value left out: `--description …`
            continue
        t = re.sub(r"(…|\.\.\.)$", "", t)
        if "|" in t:
            t = t.split("|", 1)[0]
        if t:
            out.append(t)
    # a repetition mark after a bracketed group turned into a value: drop it when it follows a value
    cleaned = []
    for i, t in enumerate(out):
        if t == "X" and cleaned and not cleaned[-1].startswith("-"):
            continue
        cleaned.append(t)
    return cleaned


def check_command(argv: list[str], strict: bool) -> str | None:
    """None when argv parses with the click group, else the error."""
    from narratives.cli import cli

    cmd: click.Command = cli
    name, parent = "narratives", None
    args = list(argv)
    while True:
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # --help prints
                ctx = cmd.make_context(name, args, parent=parent)
        except click.exceptions.Exit:
            return None  # --help or --version
        except (click.MissingParameter, click.BadParameter) as exc:
            param_type = getattr(getattr(exc, "param", None), "type", None)
            if isinstance(param_type, (click.Path, click.File)) and not isinstance(exc, click.MissingParameter):
                return None  # a file that does not exist here: a matter for the reader's machine
            if strict:
                return f"{exc.__class__.__name__}: {exc.format_message()}"
            return None
        except click.exceptions.NoArgsIsHelpError:
            return None if not strict else "a group named without a command"
        except click.UsageError as exc:
            return f"{exc.__class__.__name__}: {exc.format_message()}"
        if not isinstance(cmd, click.Group):
            return None
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            return None
        sub = cmd.get_command(ctx, rest[0])
        if sub is None:
            return f"no such command: {' '.join(argv[:len(argv) - len(rest) + 1])!r}"
        name, parent, cmd, args = rest[0], ctx, sub, rest[1:]


def command_errors(path: Path) -> list[str]:
    errors = []
    for no, argv, strict in command_lines(path.read_text(encoding="utf-8")):
        if not argv:
            continue
        err = check_command(argv, strict)
        if err:
            errors.append(f"{path.name}:{no}: `narratives {' '.join(argv)}`: {err}")
    return errors


# --- links -----------------------------------------------------------------------------------

def _strip_code(text: str) -> str:
    """The text without fenced blocks and inline code (links inside code are not links)."""
    out, in_fence = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            out.append("")
            continue
        out.append("" if in_fence else INLINE_CODE.sub("", line))
    return "\n".join(out)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    h = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)
    h = "".join(c for c in h if c in " -" or unicodedata.category(c)[0] in "LN")
    return h.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _strip_code(path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else f"{s}-{n}")
    return out


def link_errors(path: Path) -> list[str]:
    errors = []
    text = _strip_code(path.read_text(encoding="utf-8"))
    for no, line in enumerate(text.splitlines(), 1):
        for target in [m.group(1) for m in LINK.finditer(line)] + [m.group(1) for m in HTML_SRC.finditer(line)]:
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http:, https:, mailto:
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            if not dest.exists():
                errors.append(f"{path.name}:{no}: broken link {target!r}")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                errors.append(f"{path.name}:{no}: no heading for #{anchor} in {dest.name}")
    return errors


# --- gated figures ---------------------------------------------------------------------------

def _cells(line: str) -> list[str]:
    line = line.strip().replace("\\|", "\0")
    return [c.strip().replace("\0", "|") for c in line.strip("|").split("|")]


def gated_rows(text: str):
    """(line number, row as {column: cell}) for each row of a table with `gate` and `value` columns."""
    header = None
    for no, line in enumerate(text.splitlines(), 1):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [c.strip("* ").lower() for c in cells]
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
            continue
        if "gate" in header and "value" in header:
            yield no, dict(zip(header, cells))


def gate_errors(path: Path, gates: dict) -> list[str]:
    errors, seen = [], set()
    for no, row in gated_rows(path.read_text(encoding="utf-8")):
        keys = re.findall(r"`([a-z0-9_]+)`", row.get("gate", ""))
        for key in keys:
            seen.add(key)
            if key not in gates:
                errors.append(f"{path.name}:{no}: gate `{key}` is not in {GATES_FILE.name}")
                continue
            m = re.search(r"-?\d+(?:\.\d+)?", row["value"].replace(",", ""))
            if not m or abs(float(m.group()) - gates[key]) > 1e-9:
                errors.append(f"{path.name}:{no}: `{key}` shows {m.group() if m else 'no number'}, "
                              f"{GATES_FILE.name} records {gates[key]}")
        if keys and "not gated" not in row.get("test", ""):
            tests = re.findall(r"tests/test_\w+\.py", row.get("test", ""))
            if not tests:
                errors.append(f"{path.name}:{no}: gated row names no test file in its `test` column")
            errors += [f"{path.name}:{no}: {t} does not exist" for t in tests if not (REPO / t).exists()]
    return errors, seen


# --- the checks on the repository's documents ---------------------------------------------

def test_the_guide_exists():
    names = {p.name for p in DOC_FILES}
    for page in ("crawling.md", "processing.md", "watching-and-stance.md", "reading-the-spread.md",
                 "operations.md", "data-model.md", "evaluation.md", "outlets-format.md", "layout.md"):
        assert page in names, page


def test_readme_and_benchmarks_stay_short():
    assert len((REPO / "README.md").read_text(encoding="utf-8")) <= 10_000
    assert len((REPO / "BENCHMARKS.md").read_text(encoding="utf-8")) <= 15_000


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_command_line_parses(path):
    found = list(command_lines(path.read_text(encoding="utf-8")))
    errors = command_errors(path)
    assert not errors, "\n".join(errors)
    if path == REPO / "README.md":
        assert len(found) >= 20, "the README's command lines were not found"


@pytest.mark.parametrize("path", LINK_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path):
    errors = link_errors(path)
    assert not errors, "\n".join(errors)


def test_gated_figures_match_the_gates_file():
    gates = json.loads(GATES_FILE.read_text())
    errors, seen = gate_errors(REPO / "BENCHMARKS.md", gates)
    assert not errors, "\n".join(errors)
    assert seen == set(gates), f"keys of {GATES_FILE.name} without a gated row: {sorted(set(gates) - seen)}"


def test_every_table_and_column_is_in_the_data_model():
    """docs/data-model.md names every table, view and column of a fresh database."""
    import sqlite_utils

    from db.migrations import migrate

    db = sqlite_utils.Database(memory=True)
    migrate(db)
    doc = (REPO / "docs" / "data-model.md").read_text(encoding="utf-8")
    missing = []
    for name in db.table_names() + db.view_names():
        if name.startswith("articles_fts_"):
            continue  # FTS5's own shadow tables
        if f"`{name}`" not in doc:
            missing.append(name)
            continue
        columns = db[name].columns_dict if name in db.table_names() else db.view(name).columns_dict
        missing += [f"{name}.{c}" for c in columns if not re.search(rf"`{re.escape(c)}`", doc)]
    assert not missing, f"not in docs/data-model.md: {missing}"


# --- the checks fail when they should --------------------------------------------------------

def test_a_misspelled_option_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Crawl with:\n\n```sh\nnarratives crawl news.db --outlett example-news\n```\n\n"
                    "or `narratives crawl DB [--outlet NAME]...`, then `narratives procss DB`.\n")
    errors = command_errors(page)
    assert len(errors) == 2, errors
    assert "No such option '--outlett'" in errors[0] and "page.md:4" in errors[0]
    assert "no such command" in errors[1] and "procss" in errors[1]


def test_a_well_formed_page_passes(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```sh\n.venv/bin/narratives watch add news.db \"X\" --description \"Y\" --keyword k\n"
                    "NARRATIVES_CONTACT=me cd x && \"$HOME/.venv/bin/narratives\" run news.db >> run.log 2>&1\n```\n"
                    "`narratives export DB [--format jsonl\\|csv]`, `narratives timeline DB ID [--by day|week]`, "
                    "`narratives watch add DB NAME --description … [--example URL]… [--keyword K]…`\n")
    assert len(list(command_lines(page.read_text()))) == 5
    assert command_errors(page) == []


def test_a_broken_link_fails(tmp_path):
    (tmp_path / "there.md").write_text("# A heading\n")
    page = tmp_path / "page.md"
    page.write_text("[fine](there.md), [fine too](there.md#a-heading), ![missing](shots/nope.png),\n"
                    "[gone](nowhere.md), [bad anchor](there.md#no-such-heading), `[code](not-a-link.md)`\n")
    errors = link_errors(page)
    assert len(errors) == 3, errors
    assert "shots/nope.png" in errors[0] and "nowhere.md" in errors[1] and "#no-such-heading" in errors[2]


def test_a_gated_figure_that_disagrees_fails(tmp_path):
    page = tmp_path / "BENCHMARKS.md"
    page.write_text("| figure | value | gate | test |\n|---|---|---|---|\n"
                    "| events | **0.9462** | `events_bcubed_f1` | tests/test_events_gate.py |\n"
                    "| dates | 0.8870 | `date_day_accuracy` | tests/test_extraction_gate.py |\n"
                    "| typo | 0.5 | `no_such_gate` | tests/test_nothing_gate.py |\n")
    errors, seen = gate_errors(page, {"events_bcubed_f1": 0.9462, "date_day_accuracy": 0.886})
    assert len(errors) == 3, errors
    assert "0.8870" in errors[0] and "no_such_gate" in errors[1] and "test_nothing_gate.py" in errors[2]
