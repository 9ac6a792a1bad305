"""The pieces the hostile suite relies on, one at a time: Retry-After parsing, charset lies,
failure reasons, and a real SQLite size limit."""
import email.utils
import sqlite3

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, DownloadFailedError, IgnoreRequest
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived

from crawler.decoding import decode_html
from crawler.failures import failure_reason
from crawler.middlewares import retry_after_seconds
from db import open_db
from db.connection import is_full_error, limit_size


def test_retry_after_seconds_and_http_dates():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(email.utils.formatdate(1_000_030, usegmt=True), now=1_000_000) == 30.0
    assert retry_after_seconds(email.utils.formatdate(999_000, usegmt=True), now=1_000_000) == 0.0  # past
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.parametrize("body,declared,expected", [
    ("café Zürich".encode("utf-8"), "iso-8859-1", "café Zürich"),  # Latin-1 declared, UTF-8 sent
    ("café Zürich".encode("latin-1"), "iso-8859-1", "café Zürich"),  # the truth is kept
    ('<meta charset="windows-1251">Краны'.encode("cp1251"), None, "Краны"),  # only <meta> says it
    ("Краны в порту".encode("cp1251"), "utf-8", "Краны в порту"),  # UTF-8 declared, cp1251 sent
    (b"\xef\xbb\xbf" + "café".encode("utf-8"), "iso-8859-1", "café"),  # a BOM beats the header
])
def test_charset_lies(body, declared, expected):
    assert expected in decode_html(body, declared)[0]


def _failure(exc):
    f = Failure(exc)
    f.request = Request("http://127.0.0.1/x")
    return f


def test_failure_reasons_name_the_attack():
    declared = DownloadCancelledError("Expected to receive 52428800 bytes which is larger than download max size")
    assert failure_reason(_failure(declared))[1] == "too large: the declared body exceeds DOWNLOAD_MAXSIZE"
    assert failure_reason(_failure(DownloadCancelledError()))[1] == "too large: the body exceeds DOWNLOAD_MAXSIZE"
    bomb = IgnoreRequest("Ignored response <200 x> because its body (1 B compressed, 2 B decompressed so far) "
                         "exceeded DOWNLOAD_MAXSIZE (1 B) during decompression.")
    assert failure_reason(_failure(bomb))[1] == "too large: the body exceeds DOWNLOAD_MAXSIZE when decompressed"
    hung = DownloadFailedError("x")
    hung.__cause__ = ResponseNeverReceived([Failure(ConnectionDone())])
    assert failure_reason(_failure(hung))[1] == "connection closed by the server without a response"


def test_size_limit_is_a_real_sqlite_limit(tmp_path):
    db = open_db(tmp_path / "n.db")
    db.execute("CREATE TABLE blobs (b BLOB)")
    # room for about 256 KiB more than the schema itself takes
    pages, page_size = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "page_size"))
    limit_size(db, pages * page_size + 256 * 1024)
    with pytest.raises(sqlite3.OperationalError) as info:
        for _ in range(1000):
            with db.conn:
                db.execute("INSERT INTO blobs VALUES (randomblob(8192))")
    assert is_full_error(info.value)
    kept = db.execute("SELECT count(*) FROM blobs").fetchone()[0]
    assert 0 < kept < 32
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not is_full_error(sqlite3.OperationalError("database is locked"))
