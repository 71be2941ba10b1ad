"""Enum types: ``OrderDirection`` and one ``<Type><Field>`` enum per enum or multi-enum field."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLEnumValue

from rapport.graphql.types import names
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.describe import field_text, labels_text
from rapport.metadata.ir import EntityDef, FieldDef, FieldKind

__all__ = ["ORDER_DIRECTION", "generate"]

ORDER_DIRECTION = GraphQLEnumType(
    "OrderDirection",
    {
        "ASC": GraphQLEnumValue(
            "ASC", description="Ascending; records without a value (null) come last."
        ),
        "DESC": GraphQLEnumValue(
            "DESC", description="Descending; records without a value (null) come first."
        ),
    },
    description="Sort direction (PostgreSQL's default placement of nulls).",
)


def generate(ctx: BuildContext) -> None:
    ctx.registry.add(ORDER_DIRECTION, origin="kernel")
    for entity in ctx.model:
        for field in entity.fields:
            if field.kind in (FieldKind.ENUM, FieldKind.MULTI_ENUM):
                ctx.registry.add(_field_enum(entity, field), origin=entity.id)


def _field_enum(entity: EntityDef, field: FieldDef) -> GraphQLEnumType:
    values = {
        value: GraphQLEnumValue(
            value,
            description=labels_text(field.enum_labels[value])
            if value in field.enum_labels
            else None,
        )
        for value in field.enum_values
    }
    return GraphQLEnumType(
        names.enum_type(entity, field),
        values,
        description=f"Values of {entity.type_name}.{field.name}. {field_text(field)}".strip(),
    )
