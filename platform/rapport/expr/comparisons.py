"""Parsing one field's comparisons in a ``where`` document: operators, operands and variables.

:class:`ComparisonParser` holds what every parse collects (the model, the errors, the computed
fields being inlined) and reads ``{<operator>: <operand>}`` objects into comparisons, coercing
literals to the field's kind and checking ``$user``/``$now`` variables. The structure of a
filter — logic, relations, trees, computed fields — is :mod:`rapport.expr.parse`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.errors import FieldError
from rapport.expr.ast import (
    OPERATORS,
    TRUE,
    And,
    Compare,
    Expr,
    Literal,
    Value,
    Variable,
)
from rapport.expr.operands import CoercionError, coerce_operand, describe, operators_for
from rapport.metadata.ir import FieldKind, Model

__all__ = ["ComparisonParser", "PathSegment", "conjunction"]

PathSegment = str | int

_VARIABLE = re.compile(r"now|user\.[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_VARIABLE_HELP = "use $user.id, $user.roles, $user.<attribute> or $now (write $$ for a literal $)"
# Operators whose operand must be written out: a variable there would hide a shape error.
_LITERAL_ONLY = frozenset({"_is_null", "_between"})


def conjunction(items: list[Expr]) -> Expr:
    return items[0] if len(items) == 1 else And(tuple(items))


class ComparisonParser:
    """The state of one parse, and the comparisons of one field."""

    def __init__(self, model: Model, expanding: tuple[str, ...]) -> None:
        self.model = model
        self.errors: list[FieldError] = []
        # Computed fields being inlined ("training/course.isSmall"), to refuse cycles.
        self.expanding = expanding

    def fail(self, path: tuple[PathSegment, ...], message: str, code: str) -> Expr:
        self.errors.append(FieldError(path, message, code))
        return TRUE

    # -- comparisons -------------------------------------------------------------------------

    def comparisons(
        self,
        name: str,
        column: str,
        kind: FieldKind,
        enum_values: tuple[str, ...],
        value: Any,
        path: tuple[PathSegment, ...],
    ) -> Expr:
        if not isinstance(value, Mapping):
            return self.fail(
                path,
                f'field {name} takes an object of operators such as {{"_eq": …}}, '
                f"not {describe(value)}; operators for {kind} fields: "
                f"{', '.join(operators_for(kind))}",
                "EXPECTED_OBJECT",
            )
        items: list[Expr] = []
        for op, raw in value.items():
            op_path = (*path, op)
            if op not in operators_for(kind):
                items.append(self.bad_operator(op, kind, name, op_path))
                continue
            operand = self.operand(name, kind, op, raw, enum_values, op_path)
            if operand is not None:
                items.append(Compare(name, column, kind, op, operand))
        return conjunction(items)

    def bad_operator(
        self, op: Any, kind: FieldKind, name: str, path: tuple[PathSegment, ...]
    ) -> Expr:
        allowed = ", ".join(operators_for(kind))
        if op in OPERATORS:
            message = f"operator {op} is not available on {kind} field {name}; use one of {allowed}"
            return self.fail(path, message, "OPERATOR_NOT_ALLOWED")
        message = f"unknown operator {op} on {kind} field {name}; use one of {allowed}"
        return self.fail(path, message, "UNKNOWN_OPERATOR")

    def operand(
        self,
        name: str,
        kind: FieldKind,
        op: str,
        raw: Any,
        enum_values: tuple[str, ...],
        path: tuple[PathSegment, ...],
    ) -> Value | None:
        if raw is None:
            self.fail(
                path,
                f'{op} null is not allowed on field {name}; use {{"_is_null": true}} to match '
                f'records without a value (or {{"_is_null": false}} for the others)',
                "NULL_VALUE",
            )
            return None
        if isinstance(raw, str) and raw.startswith("$") and not raw.startswith("$$"):
            return self.variable(name, kind, op, raw[1:], path)
        raw = self.unescape(raw, kind, op, path)
        if raw is None:
            return None
        try:
            return Literal(coerce_operand(kind, op, raw, enum_values=enum_values))
        except CoercionError as exc:
            at = path if exc.index is None else (*path, exc.index)
            self.fail(
                at, f"invalid value for {op} on {kind} field {name}: {exc.message}", "INVALID_VALUE"
            )
            return None

    def variable(
        self, name: str, kind: FieldKind, op: str, variable: str, path: tuple[PathSegment, ...]
    ) -> Value | None:
        if not _VARIABLE.fullmatch(variable):
            self.fail(path, f"unknown variable ${variable}; {_VARIABLE_HELP}", "UNKNOWN_VARIABLE")
            return None
        if op in _LITERAL_ONLY:
            self.fail(
                path, f"{op} takes a written value, not the variable ${variable}", "INVALID_VALUE"
            )
            return None
        if variable == "now" and kind not in (FieldKind.DATE, FieldKind.DATETIME):
            self.fail(
                path,
                f"$now is a date-time; compare it with date or date-time fields, not {kind} field {name}",
                "INVALID_VALUE",
            )
            return None
        return Variable(variable)

    def unescape(self, raw: Any, kind: FieldKind, op: str, path: tuple[PathSegment, ...]) -> Any:
        """``$$x`` → ``$x``; a variable inside a list is refused (it must stand for the list).

        JSON operands are data, not filter syntax: only their top level can be a variable.
        """
        if isinstance(raw, str):
            return raw[1:] if raw.startswith("$$") else raw
        if kind in (FieldKind.JSON, FieldKind.FILE):
            return raw
        if isinstance(raw, Sequence):
            items = list(raw)
            for i, item in enumerate(items):
                if isinstance(item, str) and item.startswith("$$"):
                    items[i] = item[1:]
                elif isinstance(item, str) and item.startswith("$"):
                    self.fail(
                        (*path, i),
                        f'a variable stands for the whole operand: write "{op}": "{item}" '
                        f"(a list-valued variable), not a list holding it; write $$ for a literal $",
                        "INVALID_VALUE",
                    )
                    return None
            return items
        return raw
