"""URL normalisation shared by the extractor and the crawler.

`strip_tracking(url)` drops marketing/analytics query parameters and keeps everything else as
written. `canonicalize_url(url)` additionally lower-cases scheme and host, drops the default
port, the fragment and an empty query, so equal pages compare equal.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc",
        "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking", "mkt_tok", "cmpid", "cmp",
        "ref_src", "ref_url", "ocid", "spm", "s_cid", "s_kwcid", "icid", "trk", "trkcampaign",
        "sr_share", "at_medium", "at_campaign", "vero_id", "vero_conv", "oly_anon_id",
        "oly_enc_id", "rb_clickid", "wt_mc", "wt.mc_id", "ns_mchannel", "ns_source",
        "ns_campaign", "ns_linkname", "ns_fee", "xtor", "soc_src", "soc_trk", "smid", "sh",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "piwik_", "hsa_", "_branch")


def _is_tracking(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """Remove tracking query parameters; leave the rest of the URL untouched."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept, doseq=True)))


def canonicalize_url(url: str) -> str:
    """Tracking parameters and fragment removed, scheme and host lower-cased, default port dropped."""
    url = (url or "").strip()
    if not url:
        return url
    parts = urlsplit(strip_tracking(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    if parts.port and not ((scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)):
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        auth = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{auth}@{netloc}"
    path = parts.path or ("/" if netloc else "")
    return urlunsplit((scheme, netloc, path, parts.query, ""))
