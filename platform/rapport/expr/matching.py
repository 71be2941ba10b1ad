"""PostgreSQL's matching rules, done in Python: LIKE patterns, ASCII case folding, jsonb ``@>``.

Each function mirrors what the SQL back end asks PostgreSQL to do, so that a record matches in
Python exactly when its row matches in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

__all__ = ["ascii_lower", "escape_like", "jsonb_contains", "like_matches"]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case A–Z only: what PostgreSQL's ``lower()``/``ILIKE`` do under ``COLLATE "C"``."""
    return text.translate(_ASCII_LOWER)


def escape_like(text: str) -> str:
    """``text`` as a LIKE pattern matching itself literally (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            # A trailing lone backslash is refused by the parser, as PostgreSQL refuses it.
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            if not parts or parts[-1] != ".*":  # "%%" is "%": keeps the regex linear
                parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def like_matches(text: str, pattern: str) -> bool:
    """``text LIKE pattern``: ``%`` any run, ``_`` one character, ``\\`` escapes the next."""
    return _like_regex(pattern).fullmatch(text) is not None


def jsonb_contains(container: Any, contained: Any) -> bool:
    """``container @> contained`` for decoded JSON values, as PostgreSQL defines it for jsonb.

    Objects contain objects whose every key they hold with a containing value; arrays contain
    arrays whose every element some element of theirs contains (order and duplicates do not
    matter); scalars contain only equal scalars. Only at the top level does an array contain
    a bare scalar (``["a", "b"] @> "a"``).
    """
    if _is_array(container) and _is_scalar(contained):
        return any(_scalar_equal(item, contained) for item in container)
    return _deep_contains(container, contained)


def _deep_contains(container: Any, contained: Any) -> bool:
    if isinstance(contained, Mapping):
        if not isinstance(container, Mapping):
            return False
        for key, want in contained.items():
            if key not in container:
                return False
            have = container[key]
            if _is_scalar(want):
                if not _scalar_equal(have, want):
                    return False
            elif not _deep_contains(have, want):
                return False
        return True
    if _is_array(contained):
        if not _is_array(container):
            return False
        for want in contained:
            if _is_scalar(want):
                if not any(_scalar_equal(have, want) for have in container):
                    return False
            elif not any(_deep_contains(have, want) for have in container if not _is_scalar(have)):
                return False
        return True
    return _scalar_equal(container, contained)


def _is_array(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping) and not _is_array(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _scalar_equal(a: Any, b: Any) -> bool:
    """jsonb scalar equality: same JSON type, numbers by value (``1`` equals ``1.0``)."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    return isinstance(a, str) and isinstance(b, str) and a == b
