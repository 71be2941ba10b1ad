"""Compiled policies of one role set on one entity: which rows, which fields, where.

A :class:`ReadPolicy` is what every read path applies: ``row`` (the OR of the row rules of the
rules granting the action) goes into the statement's WHERE, and each field has a
:class:`FieldAccess` — where it is shown in clear and where masked — that compiles to a ``CASE``
in the same statement. A :class:`WritePolicy` lists, per rule, its row rule and its writable
fields; the permission participant asks PostgreSQL which of them hold for a record.

Expressions here are ASTs of :mod:`rapport.expr`; ``TRUE``/``FALSE`` are ``And(())``/``Or(())``
and are kept literal, so "always" and "never" are recognised without running anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from rapport.auth.permissions.rules import Rule, field_names
from rapport.expr.ast import FALSE, TRUE, And, Expr, Not, Or
from rapport.metadata.ir import EntityDef, FieldKind

__all__ = [
    "MASK_TEXT",
    "FieldAccess",
    "ReadPolicy",
    "WritePolicy",
    "WriteRule",
    "any_of",
    "both",
    "read_policy_of",
    "write_policy_of",
]

MASK_TEXT = "***"
# Kinds whose masked value is MASK_TEXT; every other kind masks to null (a number or date
# cannot hold "***", and an enum value would have to be one of its members).
MASKABLE_KINDS = frozenset(
    {FieldKind.STRING, FieldKind.TEXT, FieldKind.EMAIL, FieldKind.PHONE, FieldKind.URL}
)


def any_of(items: Sequence[Expr]) -> Expr:
    """OR, simplified: TRUE absorbs, FALSE and duplicates drop out."""
    kept: list[Expr] = []
    for item in items:
        if item == TRUE:
            return TRUE
        if item != FALSE and item not in kept:
            kept.append(item)
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else Or(tuple(kept))


def both(a: Expr, b: Expr) -> Expr:
    """AND, simplified."""
    if a == FALSE or b == FALSE:
        return FALSE
    if a == TRUE:
        return b
    if b == TRUE or a == b:
        return a
    return And((a, b))


@dataclass(frozen=True, slots=True)
class FieldAccess:
    """Where one field is shown: in clear where ``clear`` holds, else masked where ``masked``
    holds, else null. ``TRUE`` means on every row the policy lets through."""

    clear: Expr
    masked: Expr = FALSE

    @property
    def always(self) -> bool:
        return self.clear == TRUE

    @property
    def never(self) -> bool:
        return self.clear == FALSE


_HIDDEN = FieldAccess(FALSE)
_SHOWN = FieldAccess(TRUE)


@dataclass(frozen=True, slots=True)
class ReadPolicy:
    """What a role set may read of one entity through one action (read, export, aggregate)."""

    entity: EntityDef
    action: str
    row: Expr  # FALSE: nothing; TRUE: every record
    fields: Mapping[str, FieldAccess]  # by field name (system fields too); absent = hidden
    by_column: Mapping[str, str]  # stored column → field name

    def access(self, name: str) -> FieldAccess:
        return self.fields.get(name, _HIDDEN)

    def column_access(self, column: str) -> FieldAccess:
        name = self.by_column.get(column)
        return _SHOWN if name is None else self.access(name)

    def field_of(self, column: str) -> str:
        return self.by_column.get(column, column)


def _visibility(rule: Rule, name: str) -> Expr:
    where = rule.where if rule.where is not None else TRUE
    if name in rule.hide and rule.when is not None:
        return both(where, Not(rule.when))
    return where


def read_policy_of(entity: EntityDef, action: str, rules: Sequence[Rule]) -> ReadPolicy:
    """Compile the rules (already filtered to the role set and allowed ``action``)."""
    row = any_of([r.where if r.where is not None else TRUE for r in rules])
    fields: dict[str, FieldAccess] = {}
    for name in field_names(entity):
        if name == "id":
            fields[name] = _SHOWN  # a visible record always shows its id
            continue
        clear = any_of([_visibility(r, name) for r in rules if name in r.read])
        masked = any_of([_visibility(r, name) for r in rules if name in r.mask])
        if clear != FALSE and clear == row:
            clear = TRUE  # shown on every visible row: no CASE needed
        if clear == TRUE or masked == FALSE:
            masked = FALSE
        elif masked == row:
            masked = TRUE
        if clear != FALSE or masked != FALSE:
            fields[name] = FieldAccess(clear, masked)
    by_column = {f.column: f.name for f in entity.fields if f.column is not None}
    by_column.update({"created_at": "createdAt", "updated_at": "updatedAt"})
    by_column.update({"created_by": "createdBy", "version": "version", "id": "id"})
    return ReadPolicy(entity, action, row, MappingProxyType(fields), MappingProxyType(by_column))


@dataclass(frozen=True, slots=True)
class WriteRule:
    where: Expr  # TRUE: every record
    write: frozenset[str]  # field names


@dataclass(frozen=True, slots=True)
class WritePolicy:
    """The rules of a role set granting one write action on one entity."""

    entity: EntityDef
    action: str
    rules: tuple[WriteRule, ...]  # empty: the action is not allowed

    @property
    def allowed(self) -> bool:
        return bool(self.rules)


def write_policy_of(entity: EntityDef, action: str, rules: Sequence[Rule]) -> WritePolicy:
    return WritePolicy(
        entity,
        action,
        tuple(WriteRule(r.where if r.where is not None else TRUE, r.write) for r in rules),
    )
