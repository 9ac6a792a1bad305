"""Turning page bytes into text when the declared charset may be wrong or missing."""
from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes

logger = logging.getLogger(__name__)

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value."""
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return None


META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# encodings under which (almost) any byte sequence decodes: "it decoded" proves nothing
SINGLE_BYTE_LAX = {"latin-1", "iso8859-1", "cp1252", "iso8859-15", "ascii"}


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in a <meta> tag within its first 2 KB."""
    m = META_CHARSET.search(body[:2048])
    return m.group(1).decode("ascii").lower() if m else None


def _codec(name: str | None) -> str | None:
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def decode_html(body: bytes, declared: str | None) -> tuple[str, str]:
    """(text, encoding used). A BOM wins; then the charset declared by the header (`declared`)
    or a <meta> tag, if the bytes decode under it; else the charset detected from the bytes (a
    page that says UTF-8 but is cp1251 gets cp1251). Bytes that are valid non-ASCII UTF-8 are
    read as UTF-8 even when Latin-1/cp1252 is declared: that lie is common, and legacy text
    practically never happens to be valid UTF-8."""
    for bom, enc in BOMS:
        if body.startswith(bom):
            return body.decode(enc, errors="replace"), enc
    declared = _codec(declared) or _codec(meta_charset(body))
    if declared in SINGLE_BYTE_LAX and not body.isascii():
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    # with nothing declared, UTF-8 is by far the most common: take it when the bytes allow
    for enc in (declared, "utf-8") if declared else ("utf-8",):
        try:
            return body.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            pass
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace"), best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8"
