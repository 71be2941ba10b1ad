"""Which fields an expression reads: what a computed field's readability depends on."""

from __future__ import annotations

from rapport.expr.ast import And, Compare, Descendants, Expr, Not, Or

__all__ = ["fields_read"]


def fields_read(expr: Expr) -> tuple[str, ...]:
    """The fields ``expr`` reads, in order of first use; a related record's field is
    ``<relation>.<field>`` (``department.name``, ``complaints.title``)."""
    found: dict[str, None] = {}
    _walk(expr, "", found)
    return tuple(found)


def _walk(expr: Expr, prefix: str, found: dict[str, None]) -> None:
    if isinstance(expr, And | Or):
        for item in expr.items:
            _walk(item, prefix, found)
    elif isinstance(expr, Not):
        _walk(expr.item, prefix, found)
    elif isinstance(expr, Compare | Descendants):
        found[prefix + expr.field] = None
    else:
        found[prefix + expr.field] = None
        _walk(expr.inner, f"{prefix}{expr.field}.", found)
