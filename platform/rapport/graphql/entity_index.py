"""Which entity fields can be sorted or grouped by, and computed field expressions, per model."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.expr.ast import Expr
from rapport.expr.parse import parse_where
from rapport.graphql.types.aggregates import groupable_fields
from rapport.graphql.types.ordering import sortable_fields
from rapport.metadata.ir import EntityDef, FieldKind, Model, thaw_json

__all__ = ["EntityIndex"]


@dataclass(frozen=True, slots=True)
class _Sortable:
    column: str
    kind: FieldKind


class EntityIndex:
    """Per-model lookups the planner needs, built lazily once per tenant API."""

    __slots__ = ("_computed", "_groupable", "_sortable", "model")

    def __init__(self, model: Model) -> None:
        self.model = model
        self._sortable: dict[str, dict[str, _Sortable]] = {}
        self._groupable: dict[str, dict[str, _Sortable]] = {}
        self._computed: dict[tuple[str, str], Expr] = {}

    def sortable(self, entity: EntityDef) -> dict[str, _Sortable]:
        found = self._sortable.get(entity.id)
        if found is None:
            found = {n: _Sortable(c, k) for n, c, k, _ in sortable_fields(entity)}
            self._sortable[entity.id] = found
        return found

    def groupable(self, entity: EntityDef) -> dict[str, _Sortable]:
        found = self._groupable.get(entity.id)
        if found is None:
            found = {n: _Sortable(c, k) for n, c, k in groupable_fields(entity)}
            self._groupable[entity.id] = found
        return found

    def computed(self, entity: EntityDef, field_name: str) -> Expr:
        key = (entity.id, field_name)
        expr = self._computed.get(key)
        if expr is None:
            field = entity.field(field_name)
            expr = parse_where(thaw_json(field.computed), entity, self.model)
            self._computed[key] = expr
        return expr
