"""The custom GraphQL scalars and the FileRef types every tenant schema shares.

Wire formats (team convention): ``DateTime`` is ISO-8601 exactly as PostgreSQL's ``to_json``
prints a ``timestamptz`` in a UTC session (``2026-01-02T03:04:05.123456+00:00``), ``Date`` is
``YYYY-MM-DD``, ``Decimal`` is a JSON *string* holding the exact digits (``"12.50"``) so no
precision is lost in a JavaScript client, ``JSON`` is any JSON value.

On the compiled read path PostgreSQL formats values itself and these ``serialize`` functions do
not run; they serve introspection, graphql-core execution (tests, plug-in resolvers) and keep
both paths printing the same text. Inputs are coerced to Python values (``datetime`` with a time
zone, ``date``, ``Decimal``) before they reach filters and mutations.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    ValueNode,
    value_from_ast_untyped,
)
from graphql.language import FloatValueNode, IntValueNode, StringValueNode

from rapport.graphql.types.roles import ROLE, FilePart

__all__ = [
    "DATE",
    "DATETIME",
    "DECIMAL",
    "FILE_REF",
    "FILE_REF_INPUT",
    "FILE_REF_PROPERTIES",
    "JSON",
    "format_datetime",
]

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def format_datetime(value: dt.datetime) -> str:
    """ISO-8601 in UTC, as PostgreSQL's ``to_json(timestamptz)`` prints it in a UTC session."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat()


# -- DateTime ------------------------------------------------------------------------------------


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, str):
        return format_datetime(_parse_datetime(value))
    raise GraphQLError(f"DateTime cannot represent {value!r}.")


def _parse_datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise GraphQLError(
            f"DateTime takes an ISO-8601 string such as '2026-01-02T03:04:05Z', not {value!r}."
        )
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(
            f"DateTime cannot parse {value!r}: write ISO-8601 with a time zone, "
            "e.g. '2026-01-02T03:04:05Z' or '2026-01-02T11:04:05+08:00'."
        ) from None
    if parsed.tzinfo is None:
        raise GraphQLError(
            f"DateTime {value!r} has no time zone: add 'Z' for UTC or an offset such as '+08:00'."
        )
    return parsed


def _parse_datetime_literal(node: ValueNode, _variables: Any = None) -> dt.datetime:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("DateTime takes an ISO-8601 string.", node)
    return _parse_datetime(node.value)


DATETIME = GraphQLScalarType(
    name="DateTime",
    description="A point in time: ISO-8601 with a time zone. Output is always UTC, e.g. "
    "`2026-01-02T03:04:05.123456+00:00`; input must carry `Z` or an offset.",
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
    parse_literal=_parse_datetime_literal,
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339",
)


# -- Date ----------------------------------------------------------------------------------------


def _serialize_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise GraphQLError(f"Date cannot represent the date-time {value!r}.")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _parse_date(value).isoformat()
    raise GraphQLError(f"Date cannot represent {value!r}.")


def _parse_date(value: Any) -> dt.date:
    if not isinstance(value, str) or not _DATE_TEXT.fullmatch(value):
        raise GraphQLError(f"Date takes a string 'YYYY-MM-DD', not {value!r}.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Date {value!r} is not a day of the calendar.") from None


def _parse_date_literal(node: ValueNode, _variables: Any = None) -> dt.date:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("Date takes a string 'YYYY-MM-DD'.", node)
    return _parse_date(node.value)


DATE = GraphQLScalarType(
    name="Date",
    description="A calendar day, `YYYY-MM-DD`.",
    serialize=_serialize_date,
    parse_value=_parse_date,
    parse_literal=_parse_date_literal,
)


# -- Decimal -------------------------------------------------------------------------------------


def _serialize_decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return format(_parse_decimal(value), "f")
    raise GraphQLError(f"Decimal cannot represent {value!r}.")


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise GraphQLError(f"Decimal takes a numeric string such as '12.50', not {value!r}.")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise GraphQLError(f"Decimal takes a finite number, not {value!r}.")
        # repr is the shortest text that round-trips, so 0.1 stays 0.1.
        return Decimal(repr(value))
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            pass
    raise GraphQLError(
        f"Decimal takes a numeric string such as '12.50' (exact), not {value!r}; "
        "send a string to keep every digit."
    )


def _parse_decimal_literal(node: ValueNode, _variables: Any = None) -> Decimal:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return _parse_decimal(node.value)
    raise GraphQLError("Decimal takes a numeric string such as '12.50'.", node)


DECIMAL = GraphQLScalarType(
    name="Decimal",
    description="An exact decimal number, sent as a JSON string with every digit "
    '(e.g. `"12.50"`) so no precision is lost. Input also accepts numbers.',
    serialize=_serialize_decimal,
    parse_value=_parse_decimal,
    parse_literal=_parse_decimal_literal,
)


# -- JSON ----------------------------------------------------------------------------------------


def _identity(value: Any) -> Any:
    return value


def _parse_json_literal(node: ValueNode, variables: Any = None) -> Any:
    return value_from_ast_untyped(node, variables)


JSON = GraphQLScalarType(
    name="JSON",
    description="Any JSON value: object, array, string, number, boolean or null.",
    serialize=_identity,
    parse_value=_identity,
    parse_literal=_parse_json_literal,
)


# -- FileRef -------------------------------------------------------------------------------------

# GraphQL name -> (type, description); stored as a JSON object under the same keys.
FILE_REF_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("key", "Storage key of the file (opaque to clients)."),
    ("name", "File name as uploaded, e.g. `handbook.pdf`."),
    ("size", "Size in bytes."),
    ("contentType", "Media type, e.g. `application/pdf`."),
    ("sha256", "SHA-256 of the content, lowercase hex."),
)
# The record schema requires these (rapport.metadata.record_schema.FILE_REF_SCHEMA).
_FILE_REF_REQUIRED = frozenset({"key", "name", "size", "contentType"})


def _file_ref_fields() -> dict[str, GraphQLField]:
    fields: dict[str, GraphQLField] = {}
    for name, description in FILE_REF_PROPERTIES:
        scalar = GraphQLInt if name == "size" else GraphQLString
        type_ = GraphQLNonNull(scalar) if name in _FILE_REF_REQUIRED else scalar
        fields[name] = GraphQLField(
            type_, description=description, extensions={ROLE: FilePart(name)}
        )
    return fields


def _file_ref_input_fields() -> dict[str, GraphQLInputField]:
    fields: dict[str, GraphQLInputField] = {}
    for name, description in FILE_REF_PROPERTIES:
        scalar = GraphQLInt if name == "size" else GraphQLString
        type_ = GraphQLNonNull(scalar) if name in _FILE_REF_REQUIRED else scalar
        fields[name] = GraphQLInputField(type_, description=description)
    return fields


FILE_REF = GraphQLObjectType(
    name="FileRef",
    description="A reference to a stored file (the bytes live in object storage).",
    fields=_file_ref_fields,
)

FILE_REF_INPUT = GraphQLInputObjectType(
    name="FileRefInput",
    description="A reference to an uploaded file, as the upload endpoint returned it.",
    fields=_file_ref_input_fields,
)
