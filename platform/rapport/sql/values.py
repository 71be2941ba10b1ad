"""Record values -> asyncpg parameters, per field kind.

The record validator has already checked the JSON form of every value; this module turns the
GraphQL-coerced Python value (or its JSON form, e.g. from a form post) into what asyncpg binds
for the column, and catches what JSON Schema cannot see: a naive datetime, an integer beyond a
32-bit column, money beyond ``numeric(18,2)``, a NUL character PostgreSQL text cannot hold.

- text kinds -> ``str``; enum -> its value; multi-enum -> ``list[str]`` (``text[]``)
- integer, rating -> ``int`` within the 32-bit range of ``integer``
- decimal, money -> ``Decimal``, exact: never through a float (a float input becomes the Decimal
  of its shortest repr, ``0.1`` -> ``Decimal("0.1")``)
- float -> ``float``; boolean -> ``bool``
- date -> ``date``; datetime -> timezone-aware ``datetime`` (naive is rejected)
- uuid, relation -> ``uuid.UUID``
- json, file -> the JSON text (``json.dumps(ensure_ascii=False)``), bound as ``$n::text::jsonb``
"""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rapport.errors import FieldError, PathSegment
from rapport.metadata.ir import EntityDef, FieldDef, FieldKind
from rapport.metadata.validation import to_json_value

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "MONEY_LIMIT",
    "ValueRejected",
    "db_value",
    "input_fields",
    "is_json_kind",
    "json_text",
    "to_columns",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
# numeric(18,2) holds 16 digits before the decimal point.
MONEY_LIMIT = Decimal(10) ** 16
_CENT = Decimal("0.01")

_TEXT_KINDS = frozenset(
    {
        FieldKind.STRING,
        FieldKind.TEXT,
        FieldKind.EMAIL,
        FieldKind.PHONE,
        FieldKind.URL,
        FieldKind.ENUM,
    }
)


class ValueRejected(ValueError):
    """A value the column cannot take; becomes a FieldError at the value's path."""

    def __init__(self, message: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def is_json_kind(field: FieldDef) -> bool:
    """Whether the column is jsonb (its parameter is JSON text cast with ``::text::jsonb``)."""
    return field.kind in (FieldKind.JSON, FieldKind.FILE)


def input_fields(entity: EntityDef) -> dict[str, FieldDef]:
    """Writable fields by GraphQL input name (``trainerId`` for the relation ``trainer``)."""
    return {f.graphql_input_name: f for f in entity.fields if f.is_writable}


def to_columns(
    entity: EntityDef, data: Mapping[str, Any], *, path_prefix: tuple[PathSegment, ...] = ()
) -> tuple[list[tuple[FieldDef, Any]], list[FieldError]]:
    """``(field, parameter)`` for every writable key of ``data``, and the values rejected.

    Keys that are not writable input names are skipped: the record validator reports them.
    """
    fields = input_fields(entity)
    values: list[tuple[FieldDef, Any]] = []
    errors: list[FieldError] = []
    for name, value in data.items():
        field = fields.get(name)
        if field is None:
            continue
        try:
            values.append((field, db_value(field, value)))
        except ValueRejected as exc:
            errors.append(FieldError((*path_prefix, name), exc.message, exc.code))
    return values, errors


def db_value(field: FieldDef, value: Any) -> Any:
    """The asyncpg parameter for ``value`` in ``field``'s column; raises ValueRejected."""
    if value is None:
        return None
    kind = field.kind
    if isinstance(value, enum.Enum):
        value = value.value
    if kind in _TEXT_KINDS:
        return _text(value)
    if kind in (FieldKind.INTEGER, FieldKind.RATING):
        return _int32(value)
    if kind is FieldKind.DECIMAL:
        return _decimal(value)
    if kind is FieldKind.MONEY:
        return _money(value)
    if kind is FieldKind.FLOAT:
        return _float(value)
    if kind is FieldKind.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueRejected("must be true or false", "TYPE")
        return value
    if kind is FieldKind.DATE:
        return _date(value)
    if kind is FieldKind.DATETIME:
        return _datetime(value)
    if kind in (FieldKind.UUID, FieldKind.RELATION):
        return _uuid(value)
    if kind is FieldKind.MULTI_ENUM:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ValueRejected("must be a list", "TYPE")
        return [_text(v.value if isinstance(v, enum.Enum) else v) for v in value]
    if kind in (FieldKind.JSON, FieldKind.FILE):
        return json_text(value)
    raise ValueRejected("cannot be written", "READ_ONLY")


def json_text(value: Any) -> str:
    """JSON text for a jsonb column; dates as ISO strings, Decimals as JSON numbers."""
    try:
        plain = to_json_value(value)
    except ValueError as exc:
        raise ValueRejected(f"must be a JSON value ({exc})", "TYPE") from None
    text = json.dumps(plain, ensure_ascii=False, default=_json_number, allow_nan=False)
    # jsonb cannot hold \u0000 (PostgreSQL rejects the whole statement).
    if "\\u0000" in text:
        raise ValueRejected("must not contain a NUL character (\\u0000)")
    return text


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueRejected("must be text", "TYPE")
    if "\x00" in value:
        raise ValueRejected("must not contain a NUL character (\\u0000)")
    return value


def _int32(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueRejected("must be a whole number", "TYPE")
    if isinstance(value, float | Decimal):
        if not _finite(value) or value != int(value):
            raise ValueRejected("must be a whole number", "TYPE")
        value = int(value)
    if not isinstance(value, int):
        raise ValueRejected("must be a whole number", "TYPE")
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueRejected(f"must be between {INT32_MIN} and {INT32_MAX}", "RANGE")
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueRejected("must be a number", "TYPE")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr is the shortest text that reads back as this float: 0.1, not 0.1000000000000000055…
        number = Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueRejected("must be a number", "TYPE") from None
    else:
        raise ValueRejected("must be a number", "TYPE")
    if not number.is_finite():
        raise ValueRejected("must be a finite number", "TYPE")
    return number


def _money(value: Any) -> Decimal:
    number = _decimal(value)
    if abs(number) >= MONEY_LIMIT:
        raise ValueRejected(f"must be less than {MONEY_LIMIT:f} in absolute value", "RANGE")
    # numeric(18,2) would round a third decimal away; money never changes silently.
    if number != number.quantize(_CENT):
        raise ValueRejected("must have at most 2 decimal places", "PRECISION")
    return number


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueRejected("must be a number", "TYPE")
    number = float(value)
    if not math.isfinite(number):
        raise ValueRejected("must be a finite number", "TYPE")
    return number


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueRejected("must be a date without a time", "FORMAT")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueRejected("must be a date written YYYY-MM-DD", "FORMAT")


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueRejected(
                "must be a date and time with a time zone, e.g. 2026-01-02T03:04:05Z", "FORMAT"
            ) from None
    if not isinstance(value, datetime):
        raise ValueRejected("must be a date and time", "TYPE")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueRejected(
            "must include a time zone, e.g. 2026-01-02T03:04:05+08:00 or ...Z", "FORMAT"
        )
    return value


def _uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValueRejected("must be a UUID, e.g. 123e4567-e89b-12d3-a456-426614174000", "FORMAT")


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
