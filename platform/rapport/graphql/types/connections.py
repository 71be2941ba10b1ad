"""Relay connections: the shared ``PageInfo``, and ``<Type>Edge`` / ``<Type>Connection``."""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.graphql.types import names
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.registry import TypeRegistry
from rapport.graphql.types.roles import ROLE, ConnectionPart, EdgePart, PageInfoPart
from rapport.metadata.ir import EntityDef
from rapport.sql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = ["PAGE_INFO", "connection_args", "generate"]

PAGE_INFO = GraphQLObjectType(
    "PageInfo",
    lambda: {
        "hasNextPage": GraphQLField(
            GraphQLNonNull(GraphQLBoolean),
            description="More records follow this page (with `first`: beyond it; with "
            "`before`: at or after the cursor).",
            extensions={ROLE: PageInfoPart("hasNextPage")},
        ),
        "hasPreviousPage": GraphQLField(
            GraphQLNonNull(GraphQLBoolean),
            description="Records precede this page (with `last`: before it; with `after`: at "
            "or before the cursor).",
            extensions={ROLE: PageInfoPart("hasPreviousPage")},
        ),
        "startCursor": GraphQLField(
            GraphQLString,
            description="Cursor of the first edge; null when the page is empty.",
            extensions={ROLE: PageInfoPart("startCursor")},
        ),
        "endCursor": GraphQLField(
            GraphQLString,
            description="Cursor of the last edge; null when the page is empty.",
            extensions={ROLE: PageInfoPart("endCursor")},
        ),
    },
    description="Where a page lies in the whole list (Relay cursor connections).",
)


def connection_args(ctx: BuildContext, entity: EntityDef) -> dict[str, GraphQLArgument]:
    """The arguments of every connection of ``entity`` records (root list and nested)."""
    found = ctx.connection_args.get(entity.id)
    if found is None:
        found = _connection_args(ctx.registry, entity)
        ctx.connection_args[entity.id] = found
    return found


def _connection_args(registry: TypeRegistry, entity: EntityDef) -> dict[str, GraphQLArgument]:
    return {
        "where": GraphQLArgument(
            registry.input(names.where(entity)),
            description="Only records matching this filter (all records when omitted).",
        ),
        "orderBy": GraphQLArgument(
            GraphQLList(GraphQLNonNull(registry.input(names.order_by(entity)))),
            description="Sort keys in order, e.g. `[{startDate: DESC}]`; the id breaks ties. "
            "Default: by id.",
        ),
        "first": GraphQLArgument(
            GraphQLInt,
            description=f"Page forward: at most this many records (0 to {MAX_PAGE_SIZE}). "
            f"Default: {DEFAULT_PAGE_SIZE} when neither `first` nor `last` is given.",
        ),
        "after": GraphQLArgument(
            GraphQLString, description="Start after the record with this cursor."
        ),
        "last": GraphQLArgument(
            GraphQLInt,
            description=f"Page backward: at most this many records before `before` (or the "
            f"end), 0 to {MAX_PAGE_SIZE}. Use either `first` or `last`, not both.",
        ),
        "before": GraphQLArgument(
            GraphQLString, description="End before the record with this cursor."
        ),
    }


def generate(ctx: BuildContext) -> None:
    registry = ctx.registry
    registry.add(PAGE_INFO, origin="kernel")
    for entity in ctx.model:
        registry.add(_edge(registry, entity), origin=entity.id)
        registry.add(_connection(registry, entity), origin=entity.id)


def _edge(registry: TypeRegistry, entity: EntityDef) -> GraphQLObjectType:
    return GraphQLObjectType(
        names.edge_type(entity),
        lambda: {
            "cursor": GraphQLField(
                GraphQLNonNull(GraphQLString),
                description="Opaque position of this record; pass it as `after` or `before`.",
                extensions={ROLE: EdgePart("cursor")},
            ),
            "node": GraphQLField(
                GraphQLNonNull(registry.object(entity.type_name)),
                extensions={ROLE: EdgePart("node")},
            ),
        },
        description=f"One {entity.type_name} in a page, with its cursor.",
    )


def _connection(registry: TypeRegistry, entity: EntityDef) -> GraphQLObjectType:
    return GraphQLObjectType(
        names.connection_type(entity),
        lambda: {
            "edges": GraphQLField(
                GraphQLNonNull(
                    GraphQLList(GraphQLNonNull(registry.object(names.edge_type(entity))))
                ),
                description="The records of this page, in order.",
                extensions={ROLE: ConnectionPart("edges")},
            ),
            "pageInfo": GraphQLField(
                GraphQLNonNull(PAGE_INFO), extensions={ROLE: ConnectionPart("pageInfo")}
            ),
            "totalCount": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                description="Records matching `where` in all pages (counted only when asked).",
                extensions={ROLE: ConnectionPart("totalCount")},
            ),
        },
        description=f"A page of {entity.type_name} records (Relay cursor connection).",
    )
