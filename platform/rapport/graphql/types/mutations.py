"""Mutation inputs: ``<Type>CreateInput``, ``<Type>UpdateInput`` and ``<Type>UniqueKey``.

Create inputs hold every writable field (relations as ``<name>Id``), non-null when the field is
required and has no default. Update inputs are patches: every field nullable, an omitted field
stays unchanged and an explicit null clears it.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLNullableInputType,
)

from rapport.graphql.scalars import FILE_REF_INPUT
from rapport.graphql.types import names
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.describe import field_text
from rapport.graphql.types.kinds import scalar_for
from rapport.metadata.ir import EntityDef, FieldDef, FieldKind

__all__ = ["generate"]


def generate(ctx: BuildContext) -> None:
    registry = ctx.registry
    registry.add(FILE_REF_INPUT, origin="kernel")
    for entity in ctx.model:
        if not any(f.is_writable for f in entity.fields):
            continue  # GraphQL has no empty input objects: such an entity is read-only
        registry.add(_input(ctx, entity, create=True), origin=entity.id)
        registry.add(_input(ctx, entity, create=False), origin=entity.id)
        if entity.unique_fields:
            registry.add(
                GraphQLEnumType(
                    names.unique_key_enum(entity),
                    {f.name: GraphQLEnumValue(f.name) for f in entity.unique_fields},
                    description=f"Unique fields of {entity.type_name} an upsert can match on.",
                ),
                origin=entity.id,
            )


def _input_type(ctx: BuildContext, entity: EntityDef, field: FieldDef) -> GraphQLNullableInputType:
    if field.kind is FieldKind.FILE:
        return FILE_REF_INPUT
    if field.kind is FieldKind.ENUM:
        return ctx.registry.enum(names.enum_type(entity, field))
    if field.kind is FieldKind.MULTI_ENUM:
        return GraphQLList(GraphQLNonNull(ctx.registry.enum(names.enum_type(entity, field))))
    scalar = scalar_for(field.kind)
    if scalar is None:  # pragma: no cover - writable fields are stored fields with a scalar
        raise ValueError(f"no GraphQL input type for {field.kind}")
    return scalar


def _input(ctx: BuildContext, entity: EntityDef, *, create: bool) -> GraphQLInputObjectType:
    def fields() -> dict[str, GraphQLInputField]:
        result: dict[str, GraphQLInputField] = {}
        for field in entity.fields:
            if not field.is_writable:
                continue
            base = _input_type(ctx, entity, field)
            required = create and field.required and not field.has_default
            type_: GraphQLInputType = GraphQLNonNull(base) if required else base
            text = field_text(field, for_input=True)
            if not create:
                text += " Omit to keep the value; null clears it."
            result[field.graphql_input_name] = GraphQLInputField(type_, description=text or None)
        return result

    if create:
        return GraphQLInputObjectType(
            names.create_input(entity),
            fields,
            description=f"A new {entity.type_name}. Validated against the entity's schema; "
            "errors name the offending field.",
        )
    return GraphQLInputObjectType(
        names.update_input(entity),
        fields,
        description=f"Changes to a {entity.type_name}: only the fields given are written.",
    )
