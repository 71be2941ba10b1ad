"""The documented fallback order of translations."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from rapport.forms.document import ANY_LOCALE
from rapport.forms.locale import best_locale, fallback_chain, localize

TEXT = MappingProxyType({"en": "Title", "zh": "标题", "zh-Hant": "標題"})


@pytest.mark.parametrize(
    ("locale", "default", "expected"),
    [
        ("zh-Hant-TW", "en", ("zh-hant-tw", "zh-hant", "zh", "en")),
        ("fr", "zh", ("fr", "zh", "en")),
        (None, "de-AT", ("de-at", "de", "en")),
        ("EN", "en", ("en",)),
    ],
)
def test_fallback_chain(locale: str | None, default: str, expected: tuple[str, ...]) -> None:
    assert fallback_chain(locale, default) == expected


@pytest.mark.parametrize(
    ("locale", "default", "expected"),
    [
        ("zh-Hant", "en", "標題"),  # exact (case-insensitive)
        ("zh-hant-HK", "en", "標題"),  # prefix
        ("zh-CN", "en", "标题"),  # language
        ("fr", "zh", "标题"),  # the form's default language
        ("fr", "de", "Title"),  # en
    ],
)
def test_localize_follows_the_chain(locale: str, default: str, expected: str) -> None:
    assert localize(TEXT, fallback_chain(locale, default)) == expected


def test_the_first_translation_is_the_last_resort_and_a_plain_string_fits_all() -> None:
    only_ja = MappingProxyType({"ja": "題名", "ko": "제목"})
    assert localize(only_ja, fallback_chain("fr", "de")) == "題名"
    assert localize(MappingProxyType({ANY_LOCALE: "Same"}), ("zh",)) == "Same"
    assert localize(MappingProxyType({}), ("zh",)) is None


def test_best_locale_names_the_translation_used() -> None:
    assert best_locale({"en", "zh", "zh-Hant"}, fallback_chain("zh-Hant-TW", "en")) == "zh-Hant"
    assert best_locale({"en", "zh"}, fallback_chain("fr", "zh")) == "zh"
    assert best_locale({ANY_LOCALE}, fallback_chain("fr", "en")) == "fr"
