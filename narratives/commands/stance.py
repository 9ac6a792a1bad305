"""`narratives stance FILE.jsonl`: judge (claim, text) pairs with the stance model (clustering/stance/)."""
from __future__ import annotations

import json
import os
import sys

import click

from narratives.common import EXIT_FAILURE, EXIT_USAGE, fail

BATCH = 16
PROGRESS_AFTER = 32  # lines: shorter inputs get no progress bar


def parse_line(line: str) -> dict:
    """One input object, checked; ValueError says what is wrong."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if "id" not in obj:
        raise ValueError('no "id"')
    for key in ("claim", "text"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise ValueError(f'"{key}" must be a non-empty string')
    if obj.get("title") is not None and not isinstance(obj["title"], str):
        raise ValueError('"title" must be a string')
    if obj.get("language") is not None and (not isinstance(obj["language"], str) or not obj["language"].strip()):
        raise ValueError('"language" must be a language code such as "en"')
    return obj


def text_language(obj: dict) -> str | None:
    """The line's "language", else the one detected from its title and text (None: too short to tell)."""
    from clustering.languages import language_code
    from crawler.extraction import detect_language

    given = obj.get("language")
    lang = given.strip() if given else detect_language(f"{obj.get('title') or ''}\n{obj['text']}")
    return language_code(lang) or None


@click.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--model", default=None, metavar="NAME|DIR",
              help="Stance model: a shipped name (use-minilm-stance, use-stance, minilm-stance) or a folder "
                   "(default: NARRATIVES_STANCE_MODEL or use-minilm-stance)")
def stance(file, model):
    """Judge the stance of texts toward claims: carries, reports, debunks or unrelated.

    FILE holds one JSON object per line (`-` reads stdin): {"id": any, "claim": str, "text":
    str, "title": optional str, "language": optional code}. Each line is answered on stdout,
    in input order: {"id": ..., "stance": ..., "scores": {"carries": p, "reports": p,
    "debunks": p, "unrelated": p}, "evidence": [the passages that decided, best first],
    "model": ..., "language": ...}. A text, or a claim, in a language the model does not read
    (given, or detected) is not judged: "stance": "not judged", "scores": null, with the reason, and a
    note on stderr. A bad line is reported on stderr with its line number and not answered;
    the others are, and the exit code is 1. The default judge reads the 15 languages of the
    shared space, and English pairs sentence by sentence too (use-minilm-stance).

    \b
    Example:
        narratives stance pairs.jsonl > verdicts.jsonl
        echo '{"id": 1, "claim": "The moon landing was staged.", "text": "..."}' | narratives stance -
    """
    from clustering.errors import ModelNotAvailableError
    from clustering.languages import reads, reads_pair
    from clustering.languages import text_language as claim_language
    from clustering.stance import load_judge
    from clustering.stance.base import MODEL_ENV, SHIPPED_MODEL

    try:
        judge = load_judge(model or os.environ.get(MODEL_ENV) or SHIPPED_MODEL)
    except ModelNotAvailableError as exc:
        fail(str(exc), EXIT_USAGE)
    if judge is None:
        fail("NARRATIVES_STANCE_MODEL=none: give a stance model to judge with (--model)", EXIT_USAGE)
    lines = file.readlines()
    bad = 0
    pending: list[dict] = []

    unread: dict[str, int] = {}

    def flush():
        langs = [text_language(o) for o in pending]
        readable = [reads_pair(lang, o["claim"], judge.languages) for o, lang in zip(pending, langs)]
        verdicts = iter(judge.judge_batch([(o["claim"], o["text"], o.get("title"))
                                           for o, ok in zip(pending, readable) if ok]))
        for o, lang, ok in zip(pending, langs, readable):
            if ok:
                answer = {"id": o["id"], **next(verdicts).to_dict(), "model": judge.model_id, "language": lang}
            else:
                what = lang if not reads(lang, judge.languages) else f"{claim_language(o['claim'])[0]} (the claim)"
                unread[what] = unread.get(what, 0) + 1
                answer = {"id": o["id"], "stance": "not judged", "scores": None, "evidence": [],
                          "model": judge.model_id, "language": lang,
                          "reason": f"no stance judge reads {what} (this model reads {', '.join(sorted(judge.languages))})"}
            sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        pending.clear()

    with click.progressbar(length=len(lines), label="judging", file=sys.stderr,
                           hidden=len(lines) < PROGRESS_AFTER) as bar:
        for number, line in enumerate(lines, 1):
            bar.update(1)
            if not line.strip():
                continue
            try:
                pending.append(parse_line(line))
            except ValueError as exc:
                bad += 1
                flush()  # answers stay in input order around the bad line
                click.echo(f"line {number}: {exc}", err=True)
                continue
            if len(pending) >= BATCH:
                flush()
        if pending:
            flush()
    if unread:
        click.echo(f"not judged: {', '.join(f'{n} in {lang}' for lang, n in sorted(unread.items()))} (the model reads "
                   f"{', '.join(sorted(judge.languages))}; a line's \"language\" overrides detection)", err=True)
    if bad:
        click.echo(f"{bad} bad line(s) skipped", err=True)
        sys.exit(EXIT_FAILURE)


COMMANDS = [stance]
