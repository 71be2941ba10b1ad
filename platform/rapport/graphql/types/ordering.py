"""``<Type>OrderBy``: one nullable ``OrderDirection`` per sortable field.

``orderBy: [{startDate: DESC}, {title: ASC}]`` sorts by each key in turn (several keys in one
element count in the order written); the record id always breaks the remaining ties, so pages
never overlap or skip.
"""

from __future__ import annotations

from graphql import GraphQLInputField, GraphQLInputObjectType

from rapport.graphql.types import names
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.describe import field_text
from rapport.graphql.types.enums import ORDER_DIRECTION
from rapport.graphql.types.kinds import SORTABLE_KINDS
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind

__all__ = ["generate", "sortable_fields"]


def sortable_fields(entity: EntityDef) -> list[tuple[str, str, FieldKind, str]]:
    """``(GraphQL name, column, kind, description)`` of every field ``orderBy`` accepts."""
    result = [(s.name, s.column, s.kind, f"System field {s.name}.") for s in SYSTEM_FIELDS]
    for field in entity.fields:
        if field.kind not in SORTABLE_KINDS or field.column is None or field.sensitive:
            continue
        name = field.graphql_input_name  # relations sort by `<name>Id`
        result.append((name, field.column, field.kind, field_text(field)))
    return result


def generate(ctx: BuildContext) -> None:
    for entity in ctx.model:
        fields = {
            name: GraphQLInputField(ORDER_DIRECTION, description=text or None)
            for name, _column, _kind, text in sortable_fields(entity)
        }
        ctx.registry.add(
            GraphQLInputObjectType(
                names.order_by(entity),
                fields,
                description=f"Sort keys for {entity.type_name} records, applied in the order "
                "written; the id breaks remaining ties.",
            ),
            origin=entity.id,
        )
