"""Why a request failed, in words an analyst can act on."""
from __future__ import annotations

from scrapy import exceptions as sx
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx


def failure_reason(failure) -> tuple[int | None, str]:
    """(HTTP status or None, reason) for an errback's failure."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return status, f"http {status}"
    if isinstance(exc, sx.IgnoreRequest):
        msg = str(exc) or "ignored"
        if "robots.txt" in msg:
            return None, "forbidden by robots.txt"
        return None, msg
    if isinstance(exc, (sx.DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError)):
        return None, "timeout"
    if isinstance(exc, sx.DownloadCancelledError):
        return None, f"download cancelled: {exc}"
    if isinstance(exc, (sx.CannotResolveHostError, tx.DNSLookupError)):
        return None, "host name not resolved"
    if isinstance(exc, (sx.DownloadConnectionRefusedError, tx.ConnectionRefusedError)):
        return None, "connection refused"
    if isinstance(exc, sx.ResponseDataLossError):
        return None, "connection lost mid-response (data loss)"
    return None, f"{type(exc).__name__}: {exc}"[:500]
