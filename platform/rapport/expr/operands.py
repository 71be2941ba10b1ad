"""Which operators each field kind takes, and how operands become Python values.

The parser coerces literal operands here, and both back ends resolve variables here, so SQL and
Python always compare the same Python value: a variable holding ``"12.5"`` compared with a money
field is ``Decimal("12.5")`` in both.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rapport.errors import FieldError, ValidationFailed
from rapport.expr.ast import OPERATORS, Literal, Value
from rapport.metadata.ir import FieldKind

__all__ = [
    "LIST_OPERATORS",
    "ORDER_OPERATORS",
    "PATTERN_OPERATORS",
    "STRING_KINDS",
    "CoercionError",
    "coerce_operand",
    "coerce_scalar",
    "describe",
    "like_pattern_problem",
    "operators_for",
    "resolve_operand",
]

# Text kinds that order and compare as strings (enum is text too, but has no useful order).
STRING_KINDS = frozenset(
    {FieldKind.STRING, FieldKind.TEXT, FieldKind.EMAIL, FieldKind.PHONE, FieldKind.URL}
)
NUMBER_KINDS = frozenset(
    {FieldKind.INTEGER, FieldKind.RATING, FieldKind.DECIMAL, FieldKind.MONEY, FieldKind.FLOAT}
)
ORDER_OPERATORS = frozenset({"_gt", "_gte", "_lt", "_lte", "_between"})
LIST_OPERATORS = frozenset({"_in", "_nin"})
PATTERN_OPERATORS = frozenset({"_like", "_ilike"})

_EQUALITY = frozenset({"_eq", "_neq", "_in", "_nin", "_is_null"})
_TEXTUAL = frozenset({"_like", "_ilike", "_starts_with", "_contains"})
_ORDERED_ALLOWED = _EQUALITY | ORDER_OPERATORS

_ALLOWED: dict[FieldKind, frozenset[str]] = {
    **dict.fromkeys(STRING_KINDS, _ORDERED_ALLOWED | _TEXTUAL),
    **dict.fromkeys(NUMBER_KINDS, _ORDERED_ALLOWED),
    FieldKind.DATE: _ORDERED_ALLOWED,
    FieldKind.DATETIME: _ORDERED_ALLOWED,
    FieldKind.ENUM: _EQUALITY | _TEXTUAL,
    FieldKind.BOOLEAN: frozenset({"_eq", "_neq", "_is_null"}),
    FieldKind.UUID: _EQUALITY,
    FieldKind.MULTI_ENUM: frozenset({"_contains", "_is_null"}),
    FieldKind.JSON: frozenset({"_contains", "_is_null"}),
    FieldKind.FILE: frozenset({"_contains", "_is_null"}),
    FieldKind.COMPUTED: frozenset({"_eq"}),
}

_INT4 = (-(2**31), 2**31 - 1)
_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?", re.ASCII)
# numeric keeps at most 131072 digits before the point; far beyond any sane filter value.
_MAX_EXPONENT = 1000


class CoercionError(Exception):
    """An operand does not fit the field; the message says what was expected instead."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index  # position in a list operand, for the error path


def operators_for(kind: FieldKind) -> tuple[str, ...]:
    """The operators a field of ``kind`` accepts, in documentation order."""
    allowed = _ALLOWED.get(kind, frozenset())
    return tuple(op for op in OPERATORS if op in allowed)


def describe(raw: Any) -> str:
    """How an offending value reads in a message."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        return f'the string "{shown}"'
    if isinstance(raw, int | float | Decimal):
        return f"the number {raw}"
    if isinstance(raw, Mapping):
        return "an object"
    if isinstance(raw, Sequence):
        return f"a list of {len(raw)} value{'' if len(raw) == 1 else 's'}"
    return f"a {type(raw).__name__}"


def like_pattern_problem(pattern: str) -> str | None:
    """Why PostgreSQL would reject ``pattern`` in LIKE (default escape ``\\``), or None."""
    escaped = False
    for char in pattern:
        escaped = not escaped and char == "\\"
    if escaped:
        return "the pattern ends with a lone backslash; write \\\\ for a literal backslash"
    return None


def coerce_operand(
    kind: FieldKind,
    op: str,
    raw: Any,
    *,
    enum_values: tuple[str, ...] = (),
    check_enum: bool = True,
) -> Any:
    """The Python value of operand ``raw`` of ``op`` on a field of ``kind`` (never None)."""
    if raw is None:
        raise CoercionError(f"{op} takes a value, not null; use _is_null to test for null")
    if op == "_is_null":
        if not isinstance(raw, bool):
            raise CoercionError(f"_is_null takes true or false, not {describe(raw)}")
        return raw
    if op in LIST_OPERATORS:
        if not _is_list(raw):
            raise CoercionError(f"{op} takes a list, not {describe(raw)}")
        return tuple(
            _element(kind, op, item, i, enum_values, check_enum) for i, item in enumerate(raw)
        )
    if op == "_between":
        if not _is_list(raw) or len(raw) != 2:
            raise CoercionError(
                f"_between takes a list [low, high] of two values, not {describe(raw)}"
            )
        return tuple(
            _element(kind, op, item, i, enum_values, check_enum) for i, item in enumerate(raw)
        )
    if op == "_contains" and kind is FieldKind.MULTI_ENUM:
        items = raw if _is_list(raw) else (raw,)
        return tuple(
            _element(FieldKind.ENUM, op, item, i, enum_values, check_enum)
            for i, item in enumerate(items)
        )
    if op == "_contains" and kind in (FieldKind.JSON, FieldKind.FILE):
        return _json(raw)
    if op in _TEXTUAL:
        text = _string(raw)
        if op in PATTERN_OPERATORS and (problem := like_pattern_problem(text)):
            raise CoercionError(problem)
        return text
    if kind is FieldKind.COMPUTED:
        if not isinstance(raw, bool):
            raise CoercionError(f"expected true or false, got {describe(raw)}")
        return raw
    return coerce_scalar(kind, raw, enum_values=enum_values, check_enum=check_enum)


def coerce_scalar(
    kind: FieldKind, raw: Any, *, enum_values: tuple[str, ...] = (), check_enum: bool = True
) -> Any:
    """One value of a field of ``kind`` as Python holds it (see :class:`~rapport.expr.ast.Literal`)."""
    if isinstance(raw, enum.Enum):  # GraphQL enum members arrive as Python enums
        raw = raw.value
    if kind is FieldKind.ENUM:
        text = _string(raw)
        if check_enum and text not in enum_values:
            raise CoercionError(f"expected one of {', '.join(enum_values)}; got {describe(raw)}")
        return text
    if kind in STRING_KINDS:
        return _string(raw)
    if kind in (FieldKind.INTEGER, FieldKind.RATING):
        return _integer(raw)
    if kind in (FieldKind.DECIMAL, FieldKind.MONEY):
        return _decimal(raw)
    if kind is FieldKind.FLOAT:
        return _float(raw)
    if kind is FieldKind.BOOLEAN:
        if not isinstance(raw, bool):
            raise CoercionError(f"expected true or false, got {describe(raw)}")
        return raw
    if kind is FieldKind.DATE:
        return _date(raw)
    if kind is FieldKind.DATETIME:
        return _datetime(raw)
    if kind is FieldKind.UUID:
        return _uuid(raw)
    if kind in (FieldKind.JSON, FieldKind.FILE):
        return _json(raw)
    raise CoercionError(f"a {kind} field cannot be compared with a value")


def resolve_operand(
    value: Value, kind: FieldKind, op: str, variables: Mapping[str, Any], *, field: str
) -> Any:
    """The Python operand of a comparison: the literal, or the variable's coerced value.

    A variable holding null stays None (the comparison is then false, except ``_neq``); as a
    list operand it is the empty list, and null elements of a list variable are dropped, so
    ``_in`` never meets SQL's ``= ANY(ARRAY[NULL])`` three-valued corner. A list operator given
    a single value treats it as a one-element list.
    """
    if isinstance(value, Literal):
        return value.value
    if value.name not in variables:
        raise ValidationFailed(
            [
                FieldError(
                    (f"${value.name}",),
                    f"variable ${value.name} has no value here",
                    "UNKNOWN_VARIABLE",
                )
            ],
            hint="Pass the variable in the evaluation context (the principal's attributes and "
            "now), or change the expression.",
        )
    raw = variables[value.name]
    if raw is None:
        return () if op in LIST_OPERATORS else None
    if op in LIST_OPERATORS:
        raw = [item for item in raw if item is not None] if _is_list(raw) else [raw]
    try:
        return coerce_operand(kind, op, raw, check_enum=False)
    except CoercionError as exc:
        raise ValidationFailed(
            [
                FieldError(
                    (f"${value.name}",),
                    f"variable ${value.name} does not fit {op} on {kind} field {field}: "
                    f"{exc.message}",
                    "INVALID_VARIABLE",
                )
            ],
            hint="Give the variable a value of the field's type, or compare it with another field.",
        ) from None


def _is_list(raw: Any) -> bool:
    return isinstance(raw, Sequence) and not isinstance(raw, str | bytes)


def _element(
    kind: FieldKind, op: str, item: Any, index: int, enum_values: tuple[str, ...], check: bool
) -> Any:
    if item is None:
        raise CoercionError(
            f"{op} takes no null elements; use _is_null to test for null", index=index
        )
    try:
        return coerce_scalar(kind, item, enum_values=enum_values, check_enum=check)
    except CoercionError as exc:
        raise CoercionError(exc.message, index=index) from None


def _string(raw: Any) -> str:
    if isinstance(raw, enum.Enum):
        raw = raw.value
    if not isinstance(raw, str):
        raise CoercionError(f"expected a string, got {describe(raw)}")
    if "\x00" in raw:
        raise CoercionError("text cannot contain the NUL character (\\u0000)")
    return raw


def _integer(raw: Any) -> int:
    expected = "expected a whole number"
    if isinstance(raw, bool):
        raise CoercionError(f"{expected}, got {describe(raw)}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float | Decimal | str):
        number = _decimal_or_none(raw)
        if number is None or number != number.to_integral_value():
            raise CoercionError(f"{expected}, got {describe(raw)}")
        value = int(number)
    else:
        raise CoercionError(f"{expected}, got {describe(raw)}")
    if not _INT4[0] <= value <= _INT4[1]:
        raise CoercionError(f"expected a whole number from {_INT4[0]} to {_INT4[1]}, got {value}")
    return value


def _decimal(raw: Any) -> Decimal:
    number = None if isinstance(raw, bool) else _decimal_or_none(raw)
    if number is None:
        raise CoercionError(
            f'expected a decimal number (a JSON number or a numeric string such as "12.50"), '
            f"got {describe(raw)}"
        )
    return number


def _decimal_or_none(raw: Any) -> Decimal | None:
    if isinstance(raw, int):
        number = Decimal(raw)
    elif isinstance(raw, float):
        # repr gives the shortest text that round-trips: 0.1 -> Decimal("0.1"), not 0.1000000000000000055…
        number = Decimal(repr(raw)) if math.isfinite(raw) else Decimal("NaN")
    elif isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, str) and _NUMERIC_TEXT.fullmatch(raw.strip()):
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            return None
    else:
        return None
    if not number.is_finite() or abs(number.adjusted()) > _MAX_EXPONENT:
        return None
    return number


def _float(raw: Any) -> float:
    number = None if isinstance(raw, bool) else _decimal_or_none(raw)
    if number is None:
        raise CoercionError(f"expected a number, got {describe(raw)}")
    value = float(raw) if isinstance(raw, float) else float(number)
    if not math.isfinite(value):
        raise CoercionError(f"expected a number within double precision range, got {raw}")
    return value


def _date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        # A date-time against a date field ($now on a due date) means its calendar day in UTC,
        # the session time zone of every Rapport connection.
        aware = raw if raw.tzinfo is not None else raw.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and _DATE_TEXT.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise CoercionError(f"expected a date as YYYY-MM-DD, got {describe(raw)}")


def _datetime(raw: Any) -> dt.datetime:
    value: dt.datetime | None = None
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str) and _DATETIME_TEXT.fullmatch(raw):
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            value = None
    if value is None:
        raise CoercionError(
            f"expected a date-time in ISO 8601 such as 2026-01-02T03:04:05Z, got {describe(raw)}"
        )
    # Without an offset a time is UTC, as PostgreSQL reads it in Rapport's UTC sessions.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _uuid(raw: Any) -> str:
    if isinstance(raw, uuid.UUID):
        return str(raw)
    if isinstance(raw, str):
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            pass
    raise CoercionError(
        f"expected a uuid such as 0b6c5a3e-8f2d-4c1a-9e7b-3d5f6a7b8c9d, got {describe(raw)}"
    )


def _json(raw: Any) -> Any:
    """A plain JSON value (dict/list/str/number/bool/None) from frozen or typed input.

    Decimals become int or float so that the SQL parameter (JSON text) and the Python operand
    are the same number.
    """
    if raw is None or isinstance(raw, bool | int):
        return raw
    if isinstance(raw, str):
        if "\x00" in raw:
            raise CoercionError("JSON text in PostgreSQL cannot contain the NUL character")
        return raw
    if isinstance(raw, float | Decimal):
        if not math.isfinite(raw):
            raise CoercionError(f"JSON has no {raw}")
        if isinstance(raw, Decimal):
            return int(raw) if raw == raw.to_integral_value() else float(raw)
        return raw
    if isinstance(raw, Mapping):
        if not all(isinstance(k, str) and "\x00" not in k for k in raw):
            raise CoercionError("JSON object keys must be strings without NUL characters")
        return {k: _json(v) for k, v in raw.items()}
    if _is_list(raw):
        return [_json(v) for v in raw]
    raise CoercionError(f"expected a JSON value, got {describe(raw)}")
