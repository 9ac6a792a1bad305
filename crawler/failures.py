"""Why a request failed, in words an analyst can act on."""
from __future__ import annotations

from scrapy import exceptions as sx
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx
from twisted.web.client import ResponseNeverReceived

from crawler.addresses import AddressRefused


def failure_reason(failure) -> tuple[int | None, str]:
    """(HTTP status or None, reason) for an errback's failure."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        retry_after = exc.response.headers.get(b"Retry-After")
        if retry_after and status in (429, 503):
            return status, f"http {status} (Retry-After: {retry_after.decode('latin-1')[:60]})"
        return status, f"http {status}"
    if isinstance(exc, AddressRefused):  # the address guard: host, address and rule
        return None, str(exc)[:500]
    if isinstance(exc, sx.IgnoreRequest):
        msg = str(exc) or "ignored"
        if "robots.txt" in msg:
            return None, "forbidden by robots.txt"
        if "during decompression" in msg:  # HttpCompressionMiddleware: a gzip/deflate/brotli bomb
            return None, "too large: the body exceeds DOWNLOAD_MAXSIZE when decompressed"
        return None, msg[:500]
    if isinstance(exc, (sx.DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError)):
        return None, "timeout"
    if isinstance(exc, sx.DownloadCancelledError):
        # the HTTP handler cancels a download only when it outgrows DOWNLOAD_MAXSIZE
        declared = "declared " if str(exc).startswith("Expected") else ""
        return None, f"too large: the {declared}body exceeds DOWNLOAD_MAXSIZE"
    if isinstance(exc, (sx.CannotResolveHostError, tx.DNSLookupError)):
        return None, "host name not resolved"
    if isinstance(exc, (sx.DownloadConnectionRefusedError, tx.ConnectionRefusedError)):
        return None, "connection refused"
    if isinstance(exc, sx.ResponseDataLossError):
        return None, "connection lost mid-response (data loss)"
    if isinstance(exc, sx.DownloadFailedError):
        cause = exc.__cause__
        reasons = getattr(cause, "reasons", None) or []
        if isinstance(cause, ResponseNeverReceived) or any(
                r.check(tx.ConnectionDone, tx.ConnectionLost) for r in reasons):
            return None, "connection closed by the server without a response"
    return None, f"{type(exc).__name__}: {exc}"[:500]
