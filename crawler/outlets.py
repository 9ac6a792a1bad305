"""Outlets as data: the TOML outlets file, its validation, and each outlet's scope."""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crawler.address_rules import parse_networks
from crawler.exceptions import AddressAllowanceError, OutletsFileError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LANG_RE = re.compile(r"^[a-z]{2,3}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
KNOWN_FIELDS = {"name", "home", "feeds", "sitemaps", "sections", "language", "country", "max_pages", "aliases",
                "allow_addresses"}


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


@dataclass(frozen=True)
class Scope:
    """Scheme, host, port and path prefix an outlet's requests must stay inside."""

    scheme: str
    host: str
    port: int
    path_prefix: str

    @classmethod
    def from_home(cls, home: str) -> "Scope":
        parts = urlsplit(home)
        path = parts.path or "/"
        if not path.endswith("/"):
            # "https://x.org/news" scopes the folder /news/, not every path starting "/news"
            path = path.rsplit("/", 1)[0] + "/" if "." in path.rsplit("/", 1)[-1] else path + "/"
        return cls(parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or _default_port(parts.scheme), path)

    def contains(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port or _default_port(parts.scheme)
        except ValueError:
            return False
        if parts.scheme.lower() != self.scheme or (parts.hostname or "").lower() != self.host or port != self.port:
            return False
        path = parts.path or "/"
        return path.startswith(self.path_prefix) or path + "/" == self.path_prefix

    def same_origin(self, url: str) -> bool:
        """True for any path on the outlet's scheme/host/port (robots.txt lives at the root)."""
        try:
            parts = urlsplit(url)
            port = parts.port or _default_port(parts.scheme)
        except ValueError:
            return False
        return (parts.scheme.lower(), (parts.hostname or "").lower(), port) == (self.scheme, self.host, self.port)


@dataclass(frozen=True)
class Outlet:
    name: str
    home: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    language: str | None = None
    country: str | None = None
    max_pages: int | None = None
    aliases: tuple[str, ...] = ()  # other names it is cited by ("Source: The Northern Herald")
    # networks the address guard opens for this outlet's host (crawler/addresses.py), e.g. ("10.20.0.0/16",)
    allow_addresses: tuple[str, ...] = ()
    scope: Scope = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "scope", Scope.from_home(self.home))

    def as_row(self) -> dict:
        return {
            "name": self.name,
            "home": self.home,
            "feeds": json.dumps(list(self.feeds)),
            "sitemaps": json.dumps(list(self.sitemaps)),
            "sections": json.dumps(list(self.sections)),
            "language": self.language,
            "country": self.country,
            "max_pages": self.max_pages,
            "aliases": json.dumps(list(self.aliases)),
            "allow_addresses": json.dumps(list(self.allow_addresses)),
        }

    @classmethod
    def from_row(cls, row: dict) -> "Outlet":
        return cls(
            name=row["name"],
            home=row["home"],
            feeds=tuple(json.loads(row["feeds"] or "[]")),
            sitemaps=tuple(json.loads(row["sitemaps"] or "[]")),
            sections=tuple(json.loads(row["sections"] or "[]")),
            language=row["language"],
            country=row["country"],
            max_pages=row["max_pages"],
            aliases=tuple(json.loads(row.get("aliases") or "[]")),
            allow_addresses=tuple(json.loads(row.get("allow_addresses") or "[]")),
        )


def _check_url(where: str, value, *, scope: Scope | None = None) -> str:
    if not isinstance(value, str):
        raise OutletsFileError(f"{where}: must be a URL string, got {type(value).__name__}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutletsFileError(f"{where}: {value!r} is not an absolute http(s) URL")
    try:
        parts.port
    except ValueError:
        raise OutletsFileError(f"{where}: {value!r} has an invalid port") from None
    if scope is not None and not scope.contains(value):
        raise OutletsFileError(
            f"{where}: {value!r} lies outside the outlet's scope "
            f"{scope.scheme}://{scope.host}:{scope.port}{scope.path_prefix} (set by 'home')"
        )
    return value


def _url_list(where: str, value, scope: Scope) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise OutletsFileError(f"{where}: must be a list of URLs")
    return tuple(_check_url(f"{where}[{i}]", v, scope=scope) for i, v in enumerate(value))


def parse_outlets(data: dict, source: str = "<outlets>") -> list[Outlet]:
    """Validate parsed TOML; raise OutletsFileError naming file, outlet and field."""
    entries = data.get("outlet")
    if entries is None:
        raise OutletsFileError(f"{source}: no [[outlet]] tables found")
    if not isinstance(entries, list):
        raise OutletsFileError(f"{source}: 'outlet' must be an array of tables ([[outlet]])")
    outlets: list[Outlet] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, 1):
        label = f"{source}: outlet #{i}"
        if not isinstance(entry, dict):
            raise OutletsFileError(f"{label}: must be a table")
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise OutletsFileError(
                f"{label}: field 'name' must be 1-64 letters, digits, '.', '-' or '_' (got {name!r})"
            )
        label = f"{source}: outlet {name!r}"
        if name in seen:
            raise OutletsFileError(f"{label}: field 'name' is used by another outlet")
        seen.add(name)
        unknown = set(entry) - KNOWN_FIELDS
        if unknown:
            raise OutletsFileError(
                f"{label}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN_FIELDS))}"
            )
        if "home" not in entry:
            raise OutletsFileError(f"{label}: field 'home' is required (the outlet's home URL and scope)")
        home = _check_url(f"{label}: field 'home'", entry["home"])
        scope = Scope.from_home(home)
        language = entry.get("language")
        if language is not None and (not isinstance(language, str) or not LANG_RE.match(language)):
            raise OutletsFileError(f"{label}: field 'language' must be an ISO 639-1 code like 'en' (got {language!r})")
        country = entry.get("country")
        if country is not None and (not isinstance(country, str) or not COUNTRY_RE.match(country)):
            raise OutletsFileError(f"{label}: field 'country' must be an ISO 3166 code like 'GB' (got {country!r})")
        max_pages = entry.get("max_pages")
        if max_pages is not None and (not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1):
            raise OutletsFileError(f"{label}: field 'max_pages' must be a positive integer (got {max_pages!r})")
        aliases = entry.get("aliases", [])
        if isinstance(aliases, str):
            aliases = [aliases]
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise OutletsFileError(f"{label}: field 'aliases' must be a list of names")
        allow = entry.get("allow_addresses", [])
        if isinstance(allow, str):
            allow = [allow]
        if not isinstance(allow, list):
            raise OutletsFileError(f"{label}: field 'allow_addresses' must be a list of IP networks like \"10.20.0.0/16\"")
        try:
            networks = parse_networks(allow, f"{label}: field 'allow_addresses'")
        except AddressAllowanceError as exc:
            raise OutletsFileError(str(exc)) from None
        outlets.append(
            Outlet(
                name=name,
                home=home,
                feeds=_url_list(f"{label}: field 'feeds'", entry.get("feeds"), scope),
                sitemaps=_url_list(f"{label}: field 'sitemaps'", entry.get("sitemaps"), scope),
                sections=_url_list(f"{label}: field 'sections'", entry.get("sections"), scope),
                language=language,
                country=country,
                max_pages=max_pages,
                aliases=tuple(a.strip() for a in aliases),
                allow_addresses=tuple(str(n) for n in networks),
            )
        )
    return outlets


def load_outlets_file(path: str | Path) -> list[Outlet]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OutletsFileError(f"{path}: cannot read the outlets file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise OutletsFileError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise OutletsFileError(f"{path}: invalid TOML: {exc}") from None
    return parse_outlets(data, str(path))
