"""Which articles a model reads by language: the one check the embed, events and stance stages share.

A language is compared by its two-letter code ("en-GB" reads as "en"); an article whose language
is unknown is assumed read (the model decides for itself)."""
from __future__ import annotations

from functools import lru_cache


def language_code(language: str | None) -> str:
    """The two-letter code of a language tag ("" when unknown)."""
    return (language or "").lower()[:2]


def reads(language: str | None, languages: set[str] | None) -> bool:
    """Whether a model of `languages` (None: every language) reads an article in `language`."""
    code = language_code(language)
    return languages is None or not code or code in languages


CLAIM_LANGUAGE_CONFIDENCE = 0.5  # below it a claim's language is not known: the judge reads it


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def text_language(text: str) -> tuple[str, float]:
    """The two-letter code py3langid gives a short text (a claim) and its probability."""
    text = " ".join((text or "").split())[:2000]
    if not text:
        return "", 0.0
    lang, prob = _identifier().classify(text)
    return language_code(lang), float(prob)


def readable_claims(claims: list[str], languages: set[str] | None) -> list[str]:
    """The claims a judge of `languages` (None: every language) can read: those not known (with
    probability CLAIM_LANGUAGE_CONFIDENCE) to be in another language."""
    claims = [c for c in claims if c and c.strip()]
    if languages is None:
        return claims
    out = []
    for c in claims:
        lang, prob = text_language(c)
        if prob < CLAIM_LANGUAGE_CONFIDENCE or reads(lang, languages):
            out.append(c)
    return out


def reads_pair(language: str | None, claim: str, languages: set[str] | None) -> bool:
    """Whether a judge of `languages` reads both an article in `language` and the claim."""
    return reads(language, languages) and bool(readable_claims([claim], languages))
