"""Turning page bytes into text when the declared charset may be wrong or missing."""
from __future__ import annotations

import codecs
import logging

from charset_normalizer import from_bytes

logger = logging.getLogger(__name__)

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_html(body: bytes, declared: str | None) -> tuple[str, str]:
    """(text, encoding used). A BOM wins; then the declared charset if the bytes decode under it;
    else the charset detected from the bytes (a page that says UTF-8 but is cp1251 gets cp1251)."""
    for bom, enc in BOMS:
        if body.startswith(bom):
            return body.decode(enc, errors="replace"), enc
    if declared:
        try:
            return body.decode(declared), declared
        except (UnicodeDecodeError, LookupError):
            pass
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace"), best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8"
