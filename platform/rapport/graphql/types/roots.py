"""The root types: ``Query`` (single, list, aggregate per entity) and ``Mutation``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
)

from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.graphql.contributions import Contribution
from rapport.graphql.types import names
from rapport.graphql.types.connections import connection_args
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.describe import entity_text
from rapport.graphql.types.registry import TypeRegistry
from rapport.graphql.types.roles import (
    ROLE,
    AggregateRoot,
    ListRoot,
    MutationRoot,
    SingleRoot,
)
from rapport.metadata.ir import EntityDef

__all__ = ["METADATA_VERSION_FIELD", "generate"]

METADATA_VERSION_FIELD = "metadataVersion"


def generate(
    ctx: BuildContext, version: int, contributions: Sequence[Contribution] = ()
) -> tuple[GraphQLObjectType, GraphQLObjectType | None]:
    """Register and return ``(Query, Mutation)``; Mutation is None when it would be empty.

    Contributed root fields come after the entities' and may not reuse their names.
    """
    registry = ctx.registry
    query_fields: dict[str, GraphQLField] = {
        METADATA_VERSION_FIELD: GraphQLField(
            GraphQLNonNull(GraphQLInt),
            description="The tenant's published metadata version this API was built from; it "
            "changes when an admin publishes new documents.",
            resolve=lambda _root, _info: version,
        )
    }
    mutation_fields: dict[str, GraphQLField] = {}
    for entity in ctx.model:
        _merge(query_fields, _queries(ctx, entity), entity)
        _merge(mutation_fields, _mutations(registry, entity), entity)
    for contribution in contributions:
        _merge_contributed(query_fields, contribution.query)
        _merge_contributed(mutation_fields, contribution.mutation)
    query = registry.add(
        GraphQLObjectType("Query", query_fields, description="Read the tenant's records."),
        origin="kernel",
    )
    if not mutation_fields:
        return query, None
    mutation = registry.add(
        GraphQLObjectType(
            "Mutation",
            mutation_fields,
            description="Change the tenant's records. Each field runs in its own transaction, "
            "one after the other.",
        ),
        origin="kernel",
    )
    return query, mutation


def _merge(
    fields: dict[str, GraphQLField], new: dict[str, GraphQLField], entity: EntityDef
) -> None:
    for name, field in new.items():
        if name in fields:
            raise MetadataInvalid(
                [
                    MetadataProblem(
                        document=entity.id,
                        pointer="",
                        message=f"the root field {name} is generated twice",
                        hint="Give the entity a different name or an `x-plural` that no other "
                        "entity uses.",
                    )
                ]
            )
        fields[name] = field


def _merge_contributed(fields: dict[str, GraphQLField], new: Mapping[str, GraphQLField]) -> None:
    for name, field in new.items():
        if name in fields:
            raise MetadataInvalid(
                [
                    MetadataProblem(
                        document=name,
                        pointer="",
                        message=f"the root field {name} is reserved by a Rapport capability",
                        hint="Rename the entity (or give it an `x-plural`) so that its fields "
                        f"do not use the name {name}.",
                    )
                ]
            )
        fields[name] = field


def _queries(ctx: BuildContext, entity: EntityDef) -> dict[str, GraphQLField]:
    registry = ctx.registry
    type_ = registry.object(entity.type_name)
    return {
        entity.single_name: GraphQLField(
            type_,
            args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID), description="Record id.")},
            description=entity_text(entity, f"One {entity.type_name} by id; null when absent."),
            extensions={ROLE: SingleRoot(entity.id)},
        ),
        entity.plural_name: GraphQLField(
            GraphQLNonNull(registry.object(names.connection_type(entity))),
            args=connection_args(ctx, entity),
            description=entity_text(entity, f"A page of {entity.type_name} records."),
            extensions={ROLE: ListRoot(entity.id)},
        ),
        names.aggregate_field(entity): GraphQLField(
            GraphQLNonNull(registry.object(names.aggregate_type(entity))),
            args={
                "where": GraphQLArgument(
                    registry.input(names.where(entity)),
                    description="Aggregate only the records matching this filter.",
                ),
                "groupBy": GraphQLArgument(
                    GraphQLList(GraphQLNonNull(registry.enum(names.group_field_enum(entity)))),
                    description="Group the records by these fields (one group of all records "
                    "when omitted).",
                ),
            },
            description=entity_text(
                entity, f"Count, sum, average, min and max of {entity.type_name} records."
            ),
            extensions={ROLE: AggregateRoot(entity.id)},
        ),
    }


def _mutations(registry: TypeRegistry, entity: EntityDef) -> dict[str, GraphQLField]:
    type_ = registry.object(entity.type_name)
    t = entity.type_name
    result: dict[str, GraphQLField] = {}
    if registry.has(names.create_input(entity)):
        create_input = GraphQLNonNull(registry.input(names.create_input(entity)))
        result[f"create{t}"] = GraphQLField(
            type_,
            args={"input": GraphQLArgument(create_input)},
            description=f"Create a {t}; returns it as stored.",
            extensions={ROLE: MutationRoot(entity.id, "create")},
        )
        result[names.create_many_field(entity)] = GraphQLField(
            GraphQLNonNull(GraphQLList(GraphQLNonNull(type_))),
            args={"inputs": GraphQLArgument(GraphQLNonNull(GraphQLList(create_input)))},
            description=f"Create several {t} records at once, all or none; returns them in "
            "input order.",
            extensions={ROLE: MutationRoot(entity.id, "createMany")},
        )
        result[f"update{t}"] = GraphQLField(
            type_,
            args={
                "id": GraphQLArgument(GraphQLNonNull(GraphQLID)),
                "input": GraphQLArgument(
                    GraphQLNonNull(registry.input(names.update_input(entity)))
                ),
                "expectedVersion": GraphQLArgument(
                    GraphQLInt,
                    description="Fail with VERSION_CONFLICT unless the record still has this "
                    "version (optimistic concurrency).",
                ),
            },
            description=f"Change some fields of a {t}; returns it as stored.",
            extensions={ROLE: MutationRoot(entity.id, "update")},
        )
    result[f"delete{t}"] = GraphQLField(
        GraphQLID,
        args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))},
        description=f"Delete a {t}; returns its id.",
        extensions={ROLE: MutationRoot(entity.id, "delete")},
    )
    if entity.unique_fields and registry.has(names.create_input(entity)):
        result[f"upsert{t}"] = GraphQLField(
            type_,
            args={
                "input": GraphQLArgument(
                    GraphQLNonNull(registry.input(names.create_input(entity)))
                ),
                "onConflict": GraphQLArgument(
                    GraphQLNonNull(registry.enum(names.unique_key_enum(entity))),
                    description="The unique field that identifies an existing record.",
                ),
            },
            description=f"Create a {t}, or update the one with the same value of the "
            "`onConflict` field; returns it as stored.",
            extensions={ROLE: MutationRoot(entity.id, "upsert")},
        )
    return result
