"""Aggregates: ``<Type>Aggregate { count sum avg min max groups { key count sum avg min max } }``.

``sum``/``avg`` cover numeric fields, ``min``/``max`` numeric and date fields; a function type is
generated only when the entity has such fields. ``groupBy: [<Type>GroupField!]`` splits the
records into groups by the listed fields; without it ``groups`` holds one group of all records.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
)

from rapport.graphql.types import names
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.kinds import GROUPABLE_KINDS, NUMERIC_KINDS, RANGE_KINDS, scalar_for
from rapport.graphql.types.registry import TypeRegistry
from rapport.graphql.types.roles import (
    ROLE,
    AggregateFunction,
    AggregatePart,
    AggregateValue,
    GroupKeyValue,
)
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind

__all__ = ["FUNCTIONS", "aggregated_fields", "generate", "groupable_fields"]

FUNCTIONS: tuple[AggregateFunction, ...] = ("sum", "avg", "min", "max")
_FUNCTION_TEXT = {
    "sum": "Sum over the records (null when none has a value).",
    "avg": "Average over the records with a value.",
    "min": "Smallest value.",
    "max": "Largest value.",
}


def aggregated_fields(
    entity: EntityDef, function: AggregateFunction
) -> list[tuple[str, str, FieldKind]]:
    """``(GraphQL name, column, kind)`` of the fields ``function`` applies to."""
    if function in ("sum", "avg"):  # summing versions or timestamps means nothing
        kinds = NUMERIC_KINDS
        result: list[tuple[str, str, FieldKind]] = []
    else:
        kinds = RANGE_KINDS
        result = [(s.name, s.column, s.kind) for s in SYSTEM_FIELDS if s.kind is FieldKind.DATETIME]
    # Sensitive fields hold ciphertext: SQL cannot sum, compare or group them (see describe.py).
    result += [
        (f.name, f.column, f.kind)
        for f in entity.fields
        if f.kind in kinds and f.column and not f.sensitive
    ]
    return result


def groupable_fields(entity: EntityDef) -> list[tuple[str, str, FieldKind]]:
    """``(GraphQL name, column, kind)`` of the fields ``groupBy`` accepts."""
    result: list[tuple[str, str, FieldKind]] = [
        (s.name, s.column, s.kind) for s in SYSTEM_FIELDS if s.name in ("createdBy",)
    ]
    for field in entity.fields:
        if field.kind in GROUPABLE_KINDS and field.column is not None and not field.sensitive:
            result.append((field.graphql_input_name, field.column, field.kind))
    return result


def generate(ctx: BuildContext) -> None:
    registry = ctx.registry
    for entity in ctx.model:
        for function in FUNCTIONS:
            fields = aggregated_fields(entity, function)
            if fields:
                registry.add(_functions(entity, function, fields), origin=entity.id)
        groupable = groupable_fields(entity)
        registry.add(_group_key(ctx, entity, groupable), origin=entity.id)
        registry.add(
            GraphQLEnumType(
                names.group_field_enum(entity),
                {name: GraphQLEnumValue(name) for name, _column, _kind in groupable},
                description=f"Fields {entity.type_name} aggregates can be grouped by.",
            ),
            origin=entity.id,
        )
        registry.add(_group(registry, entity), origin=entity.id)
        registry.add(_aggregate(registry, entity), origin=entity.id)


def _output_type(
    ctx: BuildContext, entity: EntityDef, name: str, kind: FieldKind
) -> GraphQLOutputType:
    if kind is FieldKind.ENUM:
        return ctx.registry.enum(names.enum_type(entity, entity.field(name)))
    scalar = scalar_for(kind)
    if scalar is None:  # pragma: no cover - every groupable/aggregated kind has one
        raise ValueError(f"no scalar for {kind}")
    return scalar


def _functions(
    entity: EntityDef, function: AggregateFunction, fields: list[tuple[str, str, FieldKind]]
) -> GraphQLObjectType:
    def output(kind: FieldKind) -> GraphQLOutputType:
        if function == "avg":
            return GraphQLFloat
        scalar = scalar_for(kind)
        if scalar is None:  # pragma: no cover - numeric and date kinds have scalars
            raise ValueError(f"no scalar for {kind}")
        return scalar

    return GraphQLObjectType(
        names.aggregate_functions_type(entity, function),
        {
            name: GraphQLField(
                output(kind), extensions={ROLE: AggregateValue(function, column, kind)}
            )
            for name, column, kind in fields
        },
        description=f"{_FUNCTION_TEXT[function]} Per field of {entity.type_name}.",
    )


def _group_key(
    ctx: BuildContext, entity: EntityDef, groupable: list[tuple[str, str, FieldKind]]
) -> GraphQLObjectType:
    def fields() -> dict[str, GraphQLField]:
        result: dict[str, GraphQLField] = {}
        for name, column, kind in groupable:
            field_name = name[:-2] if kind is FieldKind.RELATION else name
            type_ = _output_type(ctx, entity, field_name, kind)
            result[name] = GraphQLField(
                type_,
                description="The group's value; null when not grouped by this field.",
                extensions={ROLE: GroupKeyValue(name, column, kind)},
            )
        return result

    return GraphQLObjectType(
        names.group_key_type(entity),
        fields,
        description=f"The values a {entity.type_name} group shares.",
    )


def _function_fields(registry: TypeRegistry, entity: EntityDef) -> dict[str, GraphQLField]:
    result: dict[str, GraphQLField] = {
        "count": GraphQLField(
            GraphQLNonNull(GraphQLInt),
            description="Number of records.",
            extensions={ROLE: AggregatePart("count")},
        )
    }
    for function in FUNCTIONS:
        type_name = names.aggregate_functions_type(entity, function)
        if registry.has(type_name):
            result[function] = GraphQLField(
                GraphQLNonNull(registry.object(type_name)),
                description=_FUNCTION_TEXT[function],
                extensions={ROLE: AggregatePart(function)},
            )
    return result


def _group(registry: TypeRegistry, entity: EntityDef) -> GraphQLObjectType:
    def fields() -> dict[str, GraphQLField]:
        return {
            "key": GraphQLField(
                GraphQLNonNull(registry.object(names.group_key_type(entity))),
                extensions={ROLE: AggregatePart("key")},
            ),
            **_function_fields(registry, entity),
        }

    return GraphQLObjectType(
        names.aggregate_group_type(entity),
        fields,
        description=f"Aggregates of one group of {entity.type_name} records.",
    )


def _aggregate(registry: TypeRegistry, entity: EntityDef) -> GraphQLObjectType:
    def fields() -> dict[str, GraphQLField]:
        return {
            **_function_fields(registry, entity),
            "groups": GraphQLField(
                GraphQLNonNull(
                    GraphQLList(GraphQLNonNull(registry.object(names.aggregate_group_type(entity))))
                ),
                description="One entry per distinct combination of the `groupBy` fields, "
                "ordered by them (nulls last); one group of all records without `groupBy`.",
                extensions={ROLE: AggregatePart("groups")},
            ),
        }

    return GraphQLObjectType(
        names.aggregate_type(entity),
        fields,
        description=f"Aggregates over the {entity.type_name} records matching `where`.",
    )
