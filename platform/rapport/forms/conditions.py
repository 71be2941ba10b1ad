"""A rule's ``when`` (the D5 expression, parsed) as a JSON Schema condition over the answers.

The condition is what a client evaluates in ``if``, so the server and every JSON Schema
validator (ajv, RJSF, jsonschema, jsonschema-rs) decide a rule the same way. The translation
keeps the expression language's null semantics: a comparison with a missing or null answer is
false, except ``_neq`` and ``_nin``, which are true for it, and ``_is_null``, which asks for it.

==========  ======================================================================
``_eq v``   ``{"required": [f], "properties": {f: {"const": v}}}``
``_neq v``  ``{"not": <_eq v>}``
``_in vs``  ``{"required": [f], "properties": {f: {"enum": vs}}}``
``_nin vs`` ``{"not": <_in vs>}``
``_is_null`` true: ``{"not": {"required": [f], "properties": {f: {"not": {"type": "null"}}}}}``
``_gt`` …   numbers only: ``{"required": [f], "properties": {f: {"type": "number",
            "exclusiveMinimum": v}}}`` (``minimum``, ``exclusiveMaximum``, ``maximum``)
``_and``    ``allOf`` (empty: ``true``); ``_or``: ``anyOf`` (empty: ``false``); ``_not``: ``not``
==========  ======================================================================

Anything else (text patterns, ``_between``, ordering of dates or text, relation filters,
``$user``/``$now`` variables) has no faithful JSON Schema form: :class:`Unsupported` is raised
and the compiler reports it as a metadata problem.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from rapport.expr.ast import And, Compare, Expr, Literal, Not, Or, Related
from rapport.metadata.ir import FieldKind

__all__ = ["FORM_OPERATORS", "Unsupported", "condition_schema", "fields_of"]

FORM_OPERATORS = ("_eq", "_neq", "_in", "_nin", "_is_null", "_gt", "_gte", "_lt", "_lte")

_NUMERIC = frozenset(
    {FieldKind.INTEGER, FieldKind.RATING, FieldKind.DECIMAL, FieldKind.MONEY, FieldKind.FLOAT}
)
_BOUNDS = {
    "_gt": "exclusiveMinimum",
    "_gte": "minimum",
    "_lt": "exclusiveMaximum",
    "_lte": "maximum",
}

Schema = dict[str, Any] | bool


class Unsupported(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _json(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


def _present(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": [name], "properties": {name: schema}}


def _compare(node: Compare) -> Schema:
    if not isinstance(node.value, Literal):
        raise Unsupported(
            f"{node.op} on {node.field} uses a variable; a form condition compares answers "
            f"with written values"
        )
    op, name, value = node.op, node.field, _json(node.value.value)
    if op not in FORM_OPERATORS:
        raise Unsupported(f"operator {op} (on {name}) cannot be checked by a JSON Schema client")
    if node.kind in (FieldKind.DATE, FieldKind.DATETIME) and op in _BOUNDS:
        raise Unsupported(f"{op} on the {node.kind} field {name}: JSON Schema cannot order dates")
    if op in _BOUNDS and node.kind not in _NUMERIC:
        raise Unsupported(f"{op} on the {node.kind} field {name}: only numbers can be ordered")
    if op == "_eq":
        return _present(name, {"const": value})
    if op == "_neq":
        return {"not": _present(name, {"const": value})}
    if op == "_in":
        return _present(name, {"enum": list(value)})
    if op == "_nin":
        return {"not": _present(name, {"enum": list(value)})}
    if op == "_is_null":
        has_value = _present(name, {"not": {"type": "null"}})
        return {"not": has_value} if value else has_value
    return _present(name, {"type": "number", _BOUNDS[op]: value})


def condition_schema(expr: Expr) -> Schema:
    """The JSON Schema that answers satisfy exactly when ``expr`` holds for them."""
    if isinstance(expr, Compare):
        return _compare(expr)
    if isinstance(expr, And):
        items = [condition_schema(i) for i in expr.items]
        return True if not items else items[0] if len(items) == 1 else {"allOf": items}
    if isinstance(expr, Or):
        items = [condition_schema(i) for i in expr.items]
        return False if not items else items[0] if len(items) == 1 else {"anyOf": items}
    if isinstance(expr, Not):
        return {"not": condition_schema(expr.item)}
    if isinstance(expr, Related):
        raise Unsupported(
            f"{expr.field} filters related records; a form condition can only look at the answers"
        )
    raise Unsupported(f"unsupported condition {type(expr).__name__}")


def fields_of(expr: Expr) -> set[str]:
    """Answer keys the expression reads."""
    if isinstance(expr, Compare):
        return {expr.field}
    if isinstance(expr, And | Or):
        return set().union(*(fields_of(i) for i in expr.items))
    if isinstance(expr, Not):
        return fields_of(expr.item)
    return {expr.field}
