"""Page metadata (title, author, description, site name; date on demand) from a parsed tree.

`trafilatura.bare_extraction(with_metadata=True)` runs `trafilatura.metadata.extract_metadata`,
which also runs htmldate on every page and extracts categories, tags and a license: about a
fifth of the extraction CPU on real pages (bench/e2e.py), for fields this project either never
stores (categories, tags, license) or only needs when neither the feed, the sitemap nor
crawler/dates.py found a date (the htmldate fallback). This module makes the same calls in the
same order for the fields that are used, and runs htmldate only when asked.
"""
from __future__ import annotations

import logging
from copy import deepcopy
from dataclasses import dataclass

from htmldate import find_date
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)

logger = logging.getLogger(__name__)

# the htmldate settings the extractor always used (see crawler/extraction.py)
DATE_PARAMS = {"original_date": True, "extensive_search": False}


@dataclass
class PageMetadata:
    title: str | None = None
    author: str | None = None
    description: str | None = None
    sitename: str | None = None
    url: str | None = None

    def htmldate(self, tree) -> str | None:
        """htmldate's publication date, as trafilatura's metadata would hold it (a copy of the
        tree: htmldate's cleaning must not touch the caller's tree)."""
        return find_date(deepcopy(tree), url=self.url, **DATE_PARAMS)


def page_metadata(tree, default_url: str | None) -> PageMetadata:
    """The subset of trafilatura.metadata.extract_metadata this project uses, same logic."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = extract_meta_json(tree, meta)
    except Exception as err:  # bugs in trafilatura's json_metadata.py, as extract_metadata guards
        logger.debug("error in JSON metadata extraction: %s", err)
    if not meta.title:
        meta.title = extract_title(tree)
    if not meta.author:
        meta.author = extract_author(tree)
    if not meta.url:
        meta.url = extract_url(tree, default_url)
    if not meta.sitename:
        meta.sitename = extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url:
        match = META_URL.match(meta.url)
        if match:
            meta.sitename = match[1]
    return PageMetadata(meta.title, meta.author, meta.description, meta.sitename, meta.url)
