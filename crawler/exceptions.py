"""Named errors the crawler raises; only the CLI turns them into messages."""

# the finish reason of a crawl stopped because a write found the database full (disk or NARRATIVES_DB_MAX_SIZE)
DATABASE_FULL = "database_full"


class NarrativesError(Exception):
    """Base class of the tool's own errors."""


class OutletsFileError(NarrativesError):
    """The outlets file is invalid; the message names the file, the outlet and the field."""


class ExtractionError(NarrativesError):
    """A page holds no article the extractor can use; the message says why."""


class ImportFileError(NarrativesError):
    """A JSONL import file is invalid; the message names the line and the field."""


class RunLockedError(NarrativesError):
    """Another run holds the database's run lock; the message says which process and since when."""


class DistributedCrawlError(NarrativesError):
    """The scale-out crawl cannot go on (Redis unreachable, no crawl published, bad Redis URL)."""


class ScheduleError(NarrativesError):
    """An interval or schedule argument is invalid; the message says what is expected."""


class AddressGuardError(NarrativesError):
    """The crawl would download through a path the address guard cannot check (e.g. a download handler
    that resolves host names itself); the message says which."""


class AddressAllowanceError(NarrativesError):
    """An address allowance (NARRATIVES_ALLOW_ADDRESSES) is not a list of IP networks; the message says which."""
