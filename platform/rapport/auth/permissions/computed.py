"""Computed fields are readable only where every field they read is readable.

A computed boolean over a hidden or masked field would leak one bit of it per record
(``hasBigBonus`` true while ``bonus`` reads null). When a role set's read policy is compiled,
each computed field's access is narrowed to where the fields its expression reads are shown
in clear on the same record; a field of a related record that the role can read nowhere makes
the computed field unreadable everywhere. (Related records the role cannot see are dropped
from the expression itself when it is planned: see ``Access.secure_filter``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType

from rapport.auth.permissions.policy import FieldAccess, ReadPolicy, both
from rapport.expr.ast import FALSE, TRUE, And, Compare, Descendants, Expr, Not, Or
from rapport.expr.parse import parse_where
from rapport.metadata.ir import EntityDef, FieldKind, Model, thaw_json

__all__ = ["restrict_computed"]

PolicyOf = Callable[[EntityDef], ReadPolicy]


def restrict_computed(policy: ReadPolicy, model: Model, policy_of: PolicyOf) -> ReadPolicy:
    """``policy`` with each computed field shown only where every field it reads is shown in
    clear; ``policy_of`` gives the (unrestricted) read policy of a related entity."""
    computed = [
        f
        for f in policy.entity.fields
        if f.kind is FieldKind.COMPUTED and f.computed is not None and f.name in policy.fields
    ]
    if not computed:
        return policy
    fields = dict(policy.fields)
    for field in computed:
        expr = parse_where(thaw_json(field.computed), policy.entity, model)
        clear = both(fields[field.name].clear, _readable(expr, policy, model, policy_of))
        if clear == FALSE:
            del fields[field.name]
        else:
            fields[field.name] = FieldAccess(TRUE if clear == policy.row else clear)
    return replace(policy, fields=MappingProxyType(fields))


def _all(conditions: list[Expr]) -> Expr:
    result = TRUE
    for condition in conditions:
        result = both(result, condition)
    return result


def _readable(expr: Expr, policy: ReadPolicy, model: Model, policy_of: PolicyOf) -> Expr:
    """Where every field ``expr`` reads on the current record is shown in clear."""
    if isinstance(expr, And | Or):
        return _all([_readable(i, policy, model, policy_of) for i in expr.items])
    if isinstance(expr, Not):
        return _readable(expr.item, policy, model, policy_of)
    if isinstance(expr, Compare):
        return policy.access(policy.field_of(expr.column)).clear
    if isinstance(expr, Descendants):
        tree = policy_of(model.entity(expr.tree))
        if tree.access(expr.edge).never:
            return FALSE
        return policy.access(policy.field_of(expr.column)).clear
    target = policy_of(model.entity(expr.target))
    if not _somewhere(expr.inner, target, model, policy_of):
        return FALSE
    if expr.relation == "reverse":
        source_field = next(
            r.source_field for r in policy.entity.reverse_relations if r.name == expr.field
        )
        return FALSE if target.access(source_field).never else TRUE
    return policy.access(expr.field).clear


def _somewhere(expr: Expr, policy: ReadPolicy, model: Model, policy_of: PolicyOf) -> bool:
    """Whether each field ``expr`` reads is shown in clear on some record."""
    return _readable(expr, policy, model, policy_of) != FALSE
