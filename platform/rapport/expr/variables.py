"""Variables of expressions: which ones an expression uses, and their values for a principal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.errors import RapportError
from rapport.expr.ast import And, Compare, Descendants, Expr, Not, Or, Variable
from rapport.principal import Principal

__all__ = ["variables_for", "variables_in"]


def variables_for(principal: Principal, *, now: dt.datetime) -> dict[str, Any]:
    """The variables a principal's expressions see: ``user.id``, ``user.roles``, ``now`` and
    ``user.<attribute>`` for each of the principal's attributes.

    ``user.roles`` is a sorted list so that compiled SQL (and its parameters) are stable.
    """
    if now.tzinfo is None:
        raise RapportError(
            "now must be a timezone-aware datetime",
            hint="Pass datetime.now(datetime.UTC), not datetime.now().",
        )
    values: dict[str, Any] = {f"user.{name}": value for name, value in principal.attributes.items()}
    values["user.id"] = principal.subject
    values["user.roles"] = sorted(principal.roles)
    values["now"] = now
    return values


def variables_in(expr: Expr) -> frozenset[str]:
    """Names of the variables ``expr`` uses (``"user.departments"``, ``"now"``, …).

    Callers use it to supply a value (possibly None) for every variable before compiling.
    """
    if isinstance(expr, And | Or):
        return frozenset().union(*(variables_in(item) for item in expr.items))
    if isinstance(expr, Not):
        return variables_in(expr.item)
    if isinstance(expr, Compare | Descendants):
        # Not the tree's parent links: only Python evaluation needs them (rapport.expr Trees).
        return frozenset({expr.value.name}) if isinstance(expr.value, Variable) else frozenset()
    found = variables_in(expr.inner)
    return found if expr.link is None else found | variables_in(expr.link)
