"""Which translation of a text a reader gets.

Fallback order, for a requested locale such as ``zh-Hant-TW``:

1. the exact tag (``zh-Hant-TW``), then each shorter prefix (``zh-Hant``), then the language
   (``zh``) — tags compare case-insensitively;
2. the form's ``defaultLocale`` (the language it was written in first), then its language;
3. ``en``;
4. the first translation the text has (in document order).

A text written as one plain string serves every locale. A form with no translation for the
requested locale is still rendered — never refused — in the best language this order finds.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.forms.document import ANY_LOCALE, Form, Text

__all__ = ["best_locale", "fallback_chain", "form_locales", "localize"]

FINAL_FALLBACK = "en"


def _prefixes(tag: str) -> list[str]:
    parts = tag.split("-")
    return ["-".join(parts[:n]).lower() for n in range(len(parts), 0, -1)]


def fallback_chain(locale: str | None, default_locale: str) -> tuple[str, ...]:
    """Lower-cased tags to try, in order (without duplicates)."""
    chain: list[str] = []
    for tag in (*(_prefixes(locale) if locale else ()), *_prefixes(default_locale), FINAL_FALLBACK):
        if tag not in chain:
            chain.append(tag)
    return tuple(chain)


def localize(text: Text, chain: tuple[str, ...]) -> str | None:
    """The text in the first locale of ``chain`` it has; its first translation otherwise."""
    if not text:
        return None
    if ANY_LOCALE in text:
        return text[ANY_LOCALE]
    lowered = {k.lower(): v for k, v in text.items()}
    for tag in chain:
        if tag in lowered:
            return lowered[tag]
    return next(iter(text.values()))


def best_locale(available: Iterable[str], chain: tuple[str, ...]) -> str:
    """The locale a form is answered in: the first of ``chain`` that some text is written in."""
    tags = {t.lower(): t for t in available if t != ANY_LOCALE}
    for tag in chain:
        if tag in tags:
            return tags[tag]
    return next(iter(tags.values()), chain[0] if chain else FINAL_FALLBACK)


def form_locales(form: Form) -> set[str]:
    """Every language tag some text of the form (or of the fields it shows) is written in."""
    doc = form.document
    texts = [doc.title, doc.description]
    for bound in form.fields:
        texts.extend((bound.spec.label, bound.spec.help, bound.field.label))
    return {tag for text in texts for tag in text}
