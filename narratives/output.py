"""Output options shared by the read commands: a table by default, or --json, --csv, --nl."""
from __future__ import annotations

import csv
import functools
import json
import sys

import click


def output_options(fn):
    @click.option("--json", "fmt", flag_value="json", help="Output a JSON array")
    @click.option("--nl", "fmt", flag_value="nl", help="Output newline-delimited JSON")
    @click.option("--csv", "fmt", flag_value="csv", help="Output CSV")
    @click.option("--table", "fmt", flag_value="table", default=True, help="Output a text table (default)")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def _cell(value, width: int | None) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def emit(rows: list[dict], fmt: str, columns: list[str] | None = None, *, max_width: int = 60, out=None) -> None:
    out = out or sys.stdout
    columns = columns or (list(rows[0]) if rows else [])
    if fmt == "json":
        out.write(json.dumps(rows, indent=2, ensure_ascii=False, default=str) + "\n")
    elif fmt == "nl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        if not rows:
            out.write("(no rows)\n")
            return
        cells = [[_cell(r.get(c), max_width) for c in columns] for r in rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for row in cells:
            out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
