"""The expression AST evaluated in Python for one record, exactly as the SQL back end filters.

A record is a mapping by GraphQL field name (system fields too). Stored values may be Python
typed (as asyncpg returns them: ``uuid.UUID``, ``Decimal``, ``datetime``) or in the GraphQL
wire form (uuid and decimal strings, ISO dates); they are normalised per field kind before
comparing. A relation field holds the related record (a mapping) or None; ``<relation>Id`` may
be given instead of, or besides, the nested record. Reverse-relation and many-to-many fields hold
a list of records. json fields hold decoded JSON.

A field the expression needs but the record lacks is an error, not a null: evaluating a
permission rule on a half-loaded record must not quietly succeed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rapport.errors import FieldError, ValidationFailed
from rapport.expr.ast import And, Compare, Descendants, Expr, Not, Or, Related
from rapport.expr.matching import ascii_lower, jsonb_contains, like_matches
from rapport.expr.operands import (
    STRING_KINDS,
    CoercionError,
    coerce_scalar,
    describe,
    resolve_operand,
)
from rapport.metadata.ir import FieldKind

__all__ = ["evaluate", "tree_variable"]


def evaluate(expr: Expr, record: Mapping[str, Any], variables: Mapping[str, Any]) -> bool:
    """True when ``record`` matches ``expr`` (when SQL would select its row)."""
    if isinstance(expr, And):
        return all(evaluate(item, record, variables) for item in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(item, record, variables) for item in expr.items)
    if isinstance(expr, Not):
        return not evaluate(expr.item, record, variables)
    if isinstance(expr, Compare):
        return _compare(expr, record, variables)
    if isinstance(expr, Descendants):
        return _descendants(expr, record, variables)
    return _related(expr, record, variables)


def tree_variable(entity_id: str) -> str:
    """The variable holding a tree's parent links (node id → parent id or None) for
    ``_descendants_of``: ``"tree:<entity id>"``."""
    return f"tree:{entity_id}"


def _descendants(
    expr: Descendants, record: Mapping[str, Any], variables: Mapping[str, Any]
) -> bool:
    """Walks up from the record's node; a node seen twice (a cycle) ends the walk."""
    roots = set(resolve_operand(expr.value, FieldKind.UUID, "_in", variables, field=expr.field))
    as_compare = Compare(expr.field, expr.column, FieldKind.UUID, "_in", expr.value)
    node = _normalize(FieldKind.UUID, _field_value(record, as_compare), expr.field)
    name = tree_variable(expr.tree)
    links = variables.get(name)
    if not isinstance(links, Mapping):
        raise ValidationFailed(
            [
                FieldError(
                    (f"${name}",),
                    f"_descendants_of needs the parent links of {expr.tree}",
                    "UNKNOWN_VARIABLE",
                )
            ],
            hint=f'Pass {{"{name}": {{node id: parent id or null, …}}}} in the variables '
            f"(every {expr.tree} record's id and {expr.edge}Id).",
        )
    parents = {
        _normalize(FieldKind.UUID, child, name): _normalize(FieldKind.UUID, parent, name)
        for child, parent in links.items()
    }
    seen: set[Any] = set()
    while node is not None and node not in seen:
        if node in roots:
            return True
        seen.add(node)
        node = parents.get(node)
    return False


def _related(expr: Related, record: Mapping[str, Any], variables: Mapping[str, Any]) -> bool:
    related = _get(record, expr.field)
    if expr.relation == "many_to_one":
        if related is None:
            return False
        if not isinstance(related, Mapping):
            raise _bad_record(
                expr.field, f"expected the related record (an object), got {describe(related)}"
            )
        return evaluate(expr.inner, related, variables)
    if related is None:
        related = ()
    if not isinstance(related, Sequence) or isinstance(related, str):
        raise _bad_record(expr.field, f"expected a list of records, got {describe(related)}")
    matches = (evaluate(expr.inner, item, variables) for item in related)
    if expr.quantifier == "some":
        return any(matches)
    if expr.quantifier == "none":
        return not any(matches)
    return all(matches)


def _compare(expr: Compare, record: Mapping[str, Any], variables: Mapping[str, Any]) -> bool:
    kind, op = expr.kind, expr.op
    operand = resolve_operand(expr.value, kind, op, variables, field=expr.field)
    value = _normalize(kind, _field_value(record, expr), expr.field)
    if op == "_is_null":
        return (value is None) is operand
    if op == "_neq":
        # IS DISTINCT FROM: null differs from every value, and equals null.
        if value is None or operand is None:
            return (value is None) is not (operand is None)
        return not _equal(value, operand)
    if op == "_nin":
        return value is None or not any(_equal(value, item) for item in operand)
    if value is None or operand is None:
        return False
    if op == "_eq":
        return _equal(value, operand)
    if op == "_in":
        return any(_equal(value, item) for item in operand)
    if op in ("_gt", "_gte", "_lt", "_lte", "_between"):
        return _ordered(kind, op, value, operand)
    return _text_or_containment(kind, op, value, operand)


def _ordered(kind: FieldKind, op: str, value: Any, operand: Any) -> bool:
    key = _float_key if kind is FieldKind.FLOAT else _identity
    v = key(value)
    if op == "_between":
        low, high = operand
        return bool(key(low) <= v <= key(high))
    o = key(operand)
    if op == "_gt":
        return bool(v > o)
    if op == "_gte":
        return bool(v >= o)
    if op == "_lt":
        return bool(v < o)
    return bool(v <= o)


def _text_or_containment(kind: FieldKind, op: str, value: Any, operand: Any) -> bool:
    if op == "_contains" and kind is FieldKind.MULTI_ENUM:
        return set(operand) <= set(value)
    if op == "_contains" and kind in (FieldKind.JSON, FieldKind.FILE):
        return jsonb_contains(value, operand)
    if op == "_like":
        return like_matches(value, operand)
    if op == "_ilike":
        return like_matches(ascii_lower(value), ascii_lower(operand))
    if op == "_starts_with":
        return bool(value.startswith(operand))
    return operand in value  # _contains on text: a literal substring


def _equal(value: Any, operand: Any) -> bool:
    # Only floats can be NaN here (filter operands never are), and NaN = x is false in both.
    return bool(value == operand)


def _identity(value: Any) -> Any:
    return value


def _float_key(value: float) -> tuple[int, float]:
    """PostgreSQL orders NaN above every other double precision value, Python not at all."""
    return (1, 0.0) if math.isnan(value) else (0, value)


def _get(record: Mapping[str, Any], name: str) -> Any:
    if name not in record:
        raise ValidationFailed(
            [FieldError((name,), f"the record has no value for {name}", "MISSING_FIELD")],
            hint="Load every field the expression uses (null or [] when empty) before evaluating.",
        )
    return record[name]


def _field_value(record: Mapping[str, Any], expr: Compare) -> Any:
    if expr.field in record or not (expr.kind is FieldKind.UUID and expr.field.endswith("Id")):
        return _get(record, expr.field)
    # "trainerId" may come as the nested record "trainer" only.
    nested = _get(record, expr.field[:-2])
    if nested is None:
        return None
    if not isinstance(nested, Mapping):
        raise _bad_record(expr.field[:-2], f"expected the related record, got {describe(nested)}")
    return _get(nested, "id")


def _normalize(kind: FieldKind, raw: Any, field: str) -> Any:
    """The record's value in the Python type operands have (see operands.coerce_scalar)."""
    if raw is None:
        return None
    try:
        if kind is FieldKind.FLOAT:
            # The database may hold NaN and ±Infinity, which filter operands may not.
            if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
                raise CoercionError(f"expected a number, got {describe(raw)}")
            return float(raw)
        if kind is FieldKind.MULTI_ENUM:
            if not isinstance(raw, Sequence) or isinstance(raw, str):
                raise CoercionError(f"expected a list of values, got {describe(raw)}")
            # A NULL element equals nothing in @>, so dropping it changes no answer.
            return tuple(
                coerce_scalar(FieldKind.ENUM, item, check_enum=False)
                for item in raw
                if item is not None
            )
        if kind in (FieldKind.JSON, FieldKind.FILE):
            return raw
        if kind is FieldKind.DATE and isinstance(raw, dt.datetime):
            raise CoercionError(f"expected a date, got the date-time {raw.isoformat()}")
        if kind in STRING_KINDS or kind is FieldKind.ENUM:
            if not isinstance(raw, str):
                raise CoercionError(f"expected a string, got {describe(raw)}")
            return raw
        return coerce_scalar(kind, raw, check_enum=False)
    except CoercionError as exc:
        raise _bad_record(field, exc.message) from None


def _bad_record(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        [FieldError((field,), f"the record's {field} does not fit: {message}", "INVALID_RECORD")],
        hint="Pass records as loaded from the database or in the GraphQL wire format.",
    )
