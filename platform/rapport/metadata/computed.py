"""Checking ``x-computed`` expressions with the one expression parser (:mod:`rapport.expr`).

A computed field is a boolean filter over its own record, so it is parsed exactly as a ``where``
would be, against the linked model (relations, reverse relations and other computed fields
resolve; cycles between computed fields are refused by the parser).
"""

from __future__ import annotations

from collections.abc import Mapping

from rapport.errors import ValidationFailed
from rapport.expr.parse import parse_where
from rapport.metadata.ir import FieldKind, Model, thaw_json
from rapport.metadata.problems import Problems, pointer

__all__ = ["check_computed"]

_HINT = (
    'x-computed is a filter on the record itself, e.g. {"capacity": {"_lte": 10}}; '
    "use the entity's field names and the filter operators (_eq, _lt, _in, _and, …)."
)


def check_computed(model: Model, problems: Problems) -> None:
    """Report every problem of every computed field's expression."""
    for entity in model:
        for field in entity.fields:
            if field.kind is not FieldKind.COMPUTED or not isinstance(field.computed, Mapping):
                continue
            base = ("properties", field.name, "x-computed")
            try:
                parse_where(thaw_json(field.computed), entity, model, path=base)
            except ValidationFailed as exc:
                for error in exc.errors:
                    problems.add(entity.id, pointer(*error.path), error.message, _HINT)
