"""Attribution lines ("Source: X", "Read more: Y", "Via Z") and page boilerplate lines.

Both work on whole lines of the extracted text: a line is an attribution only when the whole
(short) line is one, so a sentence that merely contains "source:" stays in the article. The
patterns were written from the style of the project's seed article (../shared/data/seed), not
tuned on a benchmark.
"""
from __future__ import annotations

import re

MAX_LINE_CHARS = 160

_SEP = r"\s*[:\-\u2013\u2014|>]+\s*"
_PATTERNS = (
    ("source", re.compile(rf"^(?:sources?|quelle[n]?|fuente[s]?|источник(?:и)?){_SEP}(?P<name>.+)$", re.I)),
    ("read_more", re.compile(
        rf"^(?:read\s+more|read\s+also|also\s+read|see\s+also|more\s+on\s+this|related(?:\s+article)?|"
        rf"lesen\s+sie\s+auch|mehr\s+zum\s+thema|lire\s+aussi|leer\s+m[aá]s|читайте\s+также){_SEP}(?P<name>.+)$",
        re.I,
    )),
    ("via", re.compile(r"^via\s*[:\-\u2013\u2014]?\s+(?P<name>.+)$", re.I)),
)
_SPLIT_NAMES = re.compile(r"\s*(?:,|;|\s&\s|\sand\s)\s*")

# Whole lines that are page furniture, not article text (case-insensitive, exact line).
BOILERPLATE_LINES = frozenset(
    {
        "exit mobile version", "skip to content", "skip to main content", "share this:",
        "share this article", "like this:", "like loading...", "loading...", "advertisement",
        "advertisements", "sponsored content", "print this page", "back to top",
        "click to share on facebook (opens in new window)", "click to share on twitter (opens in new window)",
        "click to print (opens in new window)", "report this ad",
    }
)


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def parse_attribution(line: str) -> tuple[str, list[str]] | None:
    """(kind, names) when the whole line is an attribution, else None."""
    line = _norm(line)
    if not line or len(line) > MAX_LINE_CHARS:
        return None
    for kind, pattern in _PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        name = m.group("name").strip(" .:-\u2013\u2014\"'\u201c\u201d")
        if not name or not any(ch.isalnum() for ch in name):
            return None
        if kind == "via" and len(name.split()) > 6:
            return None  # "Via the new road, ..." is a sentence
        if kind == "source" and len(name.split()) > 12:
            return None
        names = [n for n in _SPLIT_NAMES.split(name) if n] if kind == "source" else [name]
        return kind, names
    return None


_MENU_SEP = re.compile(r"\s+[|\u00b7\u2022]\s+")


def _is_menu_line(line: str) -> bool:
    """'Impressum | Datenschutz | Kontakt': 3+ short items joined by | or a middle dot."""
    if line.startswith("|") or line.endswith("|"):
        return False  # a table row as trafilatura writes tables
    items = _MENU_SEP.split(line)
    return len(items) >= 3 and all(0 < len(item.split()) <= 3 and not item.endswith((".", "!", "?")) for item in items)


def is_boilerplate(line: str) -> bool:
    line = _norm(line)
    return line.lower() in BOILERPLATE_LINES or _is_menu_line(line)


def split_text(text: str, link_for=None) -> tuple[str, list[dict]]:
    """Remove attribution and boilerplate lines; return (clean text, attributions).

    `link_for(line, name)` may return the href (absolute) of a link carrying that line.
    """
    kept: list[str] = []
    found: list[dict] = []
    for line in text.split("\n"):
        if is_boilerplate(line):
            continue
        parsed = parse_attribution(line)
        if parsed is None:
            kept.append(line)
            continue
        kind, names = parsed
        for name in names:
            url = link_for(line, name) if link_for else None
            found.append({"kind": kind, "name": name, "url": url})
    clean = "\n".join(kept)
    clean = re.sub(r"\n{3,}", "\n\n", clean).strip()
    return clean, found
