"""Which articles a model reads by language: the one check the embed, events and stance stages share.

A language is compared by its two-letter code ("en-GB" reads as "en"); an article whose language
is unknown is assumed read (the model decides for itself)."""
from __future__ import annotations


def language_code(language: str | None) -> str:
    """The two-letter code of a language tag ("" when unknown)."""
    return (language or "").lower()[:2]


def reads(language: str | None, languages: set[str] | None) -> bool:
    """Whether a model of `languages` (None: every language) reads an article in `language`."""
    code = language_code(language)
    return languages is None or not code or code in languages
