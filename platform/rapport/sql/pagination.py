"""Keyset pagination: order keys, opaque cursors, and the predicates that resume after them.

A cursor is the base64url (unpadded) text of the JSON array PostgreSQL prints for the row's
order values followed by its id (``json_build_array(start_date, id)``), so it is built inside
the one statement and round-trips exact values (numerics keep their digits, timestamps their
microseconds). Ordering follows PostgreSQL's defaults — NULLs last ascending, first descending —
with the id breaking ties; text sorts in the database's collation (chosen by the operator when
the database is created), so indexes on sort columns serve the ORDER BY.

The "comes after" comparison treats NULL as larger than every value (that is what ``ASC NULLS
LAST`` means; ``DESC NULLS FIRST`` is exactly its reverse), so one ``CASE`` per key handles
cursors whose values are NULL without changing the statement's text.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rapport.errors import FieldError, PathSegment, ValidationFailed
from rapport.metadata.ir import FieldKind
from rapport.naming import quote_ident
from rapport.sql.plan import Deferred, OrderKey, Param, RequestValues

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SQL_TYPES",
    "CursorValue",
    "PageSize",
    "column_sql",
    "cursor_sql",
    "decode_cursor",
    "encode_cursor",
    "keyset_sql",
    "order_sql",
]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

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
SQL_TYPES: dict[FieldKind, str] = {
    **dict.fromkeys(_TEXT_KINDS, "text"),
    FieldKind.INTEGER: "integer",
    FieldKind.RATING: "integer",
    FieldKind.DECIMAL: "numeric",
    FieldKind.MONEY: "numeric",
    FieldKind.FLOAT: "double precision",
    FieldKind.BOOLEAN: "boolean",
    FieldKind.DATE: "date",
    FieldKind.DATETIME: "timestamptz",
    FieldKind.UUID: "uuid",
    FieldKind.RELATION: "uuid",
}


def column_sql(alias: str, key: OrderKey) -> str:
    """The column as it is sorted and compared: text in the database's collation, so an
    index on the column serves the ORDER BY (the operator picks the locale)."""
    return f"{quote_ident(alias)}.{quote_ident(key.column)}"


def _columns(alias: str, keys: Sequence[OrderKey], columns: Sequence[str] | None) -> list[str]:
    """What each key sorts by: its column, or the caller's expression for it (a permission
    rule shows some values only on some rows: the order and cursor use the shown value)."""
    if columns is not None:
        return list(columns)
    return [column_sql(alias, key) for key in keys]


def order_sql(
    alias: str,
    keys: Sequence[OrderKey],
    *,
    reverse: bool = False,
    columns: Sequence[str] | None = None,
) -> str:
    """ORDER BY items; ``reverse`` walks the same order from the end (for ``last``)."""
    items = []
    for key, column in zip(keys, _columns(alias, keys, columns), strict=True):
        descending = key.descending != reverse
        items.append(f"{column} {'DESC NULLS FIRST' if descending else 'ASC NULLS LAST'}")
    return ", ".join(items)


def cursor_sql(
    alias: str, keys: Sequence[OrderKey], *, columns: Sequence[str] | None = None
) -> str:
    """The cursor of the row ``alias``: base64url of its order values and id as JSON."""
    if columns is None:
        columns = [f"{quote_ident(alias)}.{quote_ident(k.column)}" for k in keys]
    values = ", ".join(columns)
    return (
        f"translate(encode(convert_to(json_build_array({values})::text, 'UTF8'), 'base64'), "
        "E'+/=\\n', '-_')"
    )


def keyset_sql(
    alias: str,
    keys: Sequence[OrderKey],
    values: Sequence[str],
    *,
    after: bool,
    columns: Sequence[str] | None = None,
) -> str:
    """Rows strictly after (``after``) or before the position ``values`` in the order ``keys``.

    ``values`` are the cursor's parameter placeholders, one per key. Always true or false,
    never NULL, so ``NOT`` of it is the complement.
    """
    sorted_by = _columns(alias, keys, columns)
    terms = []
    for i, key in enumerate(keys):
        conditions = [_equal(sorted_by[j], keys[j], values[j]) for j in range(i)]
        conditions.append(_beyond(sorted_by[i], key, values[i], greater=after != key.descending))
        terms.append(" AND ".join(conditions))
    return "(" + " OR ".join(f"({t})" for t in terms) + ")"


def _equal(column: str, key: OrderKey, value: str) -> str:
    if key.nullable:
        return f"{column} IS NOT DISTINCT FROM {value}"
    return f"{column} = {value}"


def _beyond(column: str, key: OrderKey, value: str, *, greater: bool) -> str:
    """``column > value`` (or ``<``) with NULL larger than every value."""
    op = ">" if greater else "<"
    if not key.nullable:
        return f"{column} {op} {value}"
    if greater:
        return (
            f"(CASE WHEN {value} IS NULL THEN false WHEN {column} IS NULL THEN true "
            f"ELSE {column} > {value} END)"
        )
    return (
        f"(CASE WHEN {column} IS NULL THEN false WHEN {value} IS NULL THEN true "
        f"ELSE {column} < {value} END)"
    )


# -- cursors in Python ---------------------------------------------------------------------------


def encode_cursor(text: str) -> str:
    """The cursor of a JSON array text (as PostgreSQL prints it); for tests and references."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: Any, kinds: Sequence[FieldKind], path: tuple[PathSegment, ...]
) -> tuple[Any, ...]:
    """The order values and id a cursor holds, as Python values of the keys' kinds.

    Raises ValidationFailed (code INVALID_CURSOR) for anything this list did not hand out.
    """
    try:
        if not isinstance(cursor, str):
            raise ValueError("not a string")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw.decode(), parse_float=Decimal)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_cursor_value(kind, value) for kind, value in zip(kinds, values, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, ArithmeticError):
        raise ValidationFailed(
            [
                FieldError(
                    path,
                    "is not a cursor of this list: use a cursor this list returned, with the "
                    "same orderBy",
                    "INVALID_CURSOR",
                )
            ],
            hint="Take `after`/`before` from edges.cursor or pageInfo of the same query, or "
            "start again without a cursor.",
        ) from None


def _cursor_value(kind: FieldKind, value: Any) -> Any:
    if value is None:
        return None
    if kind in _TEXT_KINDS and isinstance(value, str):
        return value
    if kind in (FieldKind.INTEGER, FieldKind.RATING) and type(value) is int:
        return value
    if kind in (FieldKind.DECIMAL, FieldKind.MONEY) and isinstance(value, Decimal | int):
        return Decimal(value)
    if kind is FieldKind.FLOAT and isinstance(value, Decimal | int | str):
        return float(value)
    if kind is FieldKind.BOOLEAN and isinstance(value, bool):
        return value
    if kind is FieldKind.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind is FieldKind.DATETIME and isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed
    if kind in (FieldKind.UUID, FieldKind.RELATION) and isinstance(value, str):
        return uuid.UUID(value)
    raise ValueError(f"{value!r} is not a {kind}")


# -- deferred parameters -------------------------------------------------------------------------


def _value(param: Param, values: RequestValues) -> Any:
    return param.resolve(values) if isinstance(param, Deferred) else param


@dataclass(frozen=True, slots=True)
class PageSize(Deferred):
    """``first``/``last``: a whole number from 0 to MAX_PAGE_SIZE."""

    source: Param
    path: tuple[PathSegment, ...]

    def resolve(self, values: RequestValues) -> int:
        size = _value(self.source, values)
        if type(size) is not int or not 0 <= size <= MAX_PAGE_SIZE:
            raise ValidationFailed(
                [
                    FieldError(
                        self.path,
                        f"must be between 0 and {MAX_PAGE_SIZE}, got {size}",
                        "OUT_OF_RANGE",
                    )
                ],
                hint=f"Ask for at most {MAX_PAGE_SIZE} records per page and follow "
                "pageInfo.endCursor for more.",
            )
        return size


@dataclass(frozen=True, slots=True)
class CursorValue(Deferred):
    """Value ``index`` of the cursor ``source`` (decoded once per request)."""

    source: Param
    index: int
    kinds: tuple[FieldKind, ...]
    path: tuple[PathSegment, ...]

    def resolve(self, values: RequestValues) -> Any:
        memo_key = (CursorValue, self.source, self.kinds, self.path)
        decoded = values.memo.get(memo_key)
        if decoded is None:
            decoded = decode_cursor(_value(self.source, values), self.kinds, self.path)
            values.memo[memo_key] = decoded
        return decoded[self.index]
