"""The `narratives` command: the click group, logging, and the command modules it is assembled from.

Each command group lives in its own module under narratives/commands/ (Scrapy's
scrapy/commands/ layout): outlets, crawl (crawl, run, worker, schedule), runs (runs, health),
articles (import, export, extract, articles, pages), process (process, embed, events),
switch_model (switch-model),
narratives (list, show, search), watch, stance, spread (spread, timeline, influence, report) and
serve.
Each module lists its commands in COMMANDS; this module adds them to the group. The stages are
imported inside the commands, so `narratives --help` loads none of them.
"""
from __future__ import annotations

import logging
import sys

import click

from crawler.exceptions import NarrativesError
from narratives.commands import (articles, crawl, narratives, outlets, process, runs, serve, spread, stance,
                                 switch_model, watch)
from narratives.common import fail

COMMAND_MODULES = (outlets, crawl, runs, articles, process, switch_model, narratives, watch, stance, spread, serve)
# loggers whose records are the tool's own (the rest is third-party chatter, shown with -v)
OWN_LOGGERS = ("crawler", "db", "clustering", "narratives")


class QuietThirdParty(logging.Filter):
    """Scrapy resets its loggers to DEBUG when a crawl starts; keep its chatter out unless -v."""

    def __init__(self, verbose: int):
        super().__init__()
        self.min_level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in OWN_LOGGERS:
            return True
        return record.levelno >= self.min_level


def configure_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(QuietThirdParty(verbose))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="narrative-tracker")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug)")
@click.pass_context
def cli(ctx, verbose):
    """Track narratives across news outlets.

    \b
    Quick start:
        narratives outlets import news.db outlets.toml
        narratives crawl news.db
        narratives process news.db
        narratives list news.db
        narratives spread news.db 1
        narratives report news.db 1 --html narrative-1.html
        narratives serve news.db
    """
    configure_logging(verbose)
    ctx.obj = {"verbose": verbose}


for module in COMMAND_MODULES:
    for command in module.COMMANDS:
        cli.add_command(command)


def main():
    try:
        cli(standalone_mode=True)
    except NarrativesError as exc:  # a stage raised a named error the command did not expect
        fail(str(exc))


if __name__ == "__main__":
    main()
