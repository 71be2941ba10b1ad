"""One object type per entity: system fields, the document's fields, reverse relations.

Every field carries its role (see ``roles``), which is all the query compiler needs to read it.
"""

from __future__ import annotations

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLNullableOutputType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
)

from rapport.errors import ValidationFailed
from rapport.expr.parse import parse_where
from rapport.expr.reads import fields_read
from rapport.graphql.scalars import DATETIME, FILE_REF
from rapport.graphql.types import names
from rapport.graphql.types.connections import connection_args
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.describe import entity_text, field_text
from rapport.graphql.types.kinds import scalar_for
from rapport.graphql.types.roles import (
    ROLE,
    ColumnValue,
    ComputedValue,
    FileValue,
    ManyToManyConnection,
    ReverseConnection,
    ToOne,
)
from rapport.metadata.ir import EntityDef, FieldDef, FieldKind, thaw_json

__all__ = ["generate"]

_SYSTEM: tuple[tuple[str, str, FieldKind, GraphQLOutputType, str], ...] = (
    (
        "createdAt",
        "created_at",
        FieldKind.DATETIME,
        GraphQLNonNull(DATETIME),
        "When the record was created.",
    ),
    (
        "updatedAt",
        "updated_at",
        FieldKind.DATETIME,
        GraphQLNonNull(DATETIME),
        "When the record last changed.",
    ),
    (
        "createdBy",
        "created_by",
        FieldKind.STRING,
        GraphQLString,
        "Who created the record (user or API client id).",
    ),
    (
        "version",
        "version",
        FieldKind.INTEGER,
        GraphQLNonNull(GraphQLInt),
        "Starts at 1, +1 on every update; pass it as `expectedVersion` to update safely.",
    ),
)


def generate(ctx: BuildContext) -> None:
    for entity in ctx.model:
        ctx.registry.add(_object(ctx, entity), origin=entity.id)


def _object(ctx: BuildContext, entity: EntityDef) -> GraphQLObjectType:
    def fields() -> dict[str, GraphQLField]:
        result: dict[str, GraphQLField] = {
            "id": GraphQLField(
                GraphQLNonNull(GraphQLID),
                description="Record id (uuid).",
                extensions={ROLE: ColumnValue("id", FieldKind.UUID)},
            )
        }
        for field in entity.fields:
            for name, graphql_field in _document_field(ctx, entity, field):
                if name in result:
                    raise ValueError(f"{entity.type_name}.{name} is generated twice")
                result[name] = graphql_field
        for reverse in entity.reverse_relations:
            source = ctx.model.entity(reverse.source)
            result[reverse.name] = GraphQLField(
                GraphQLNonNull(ctx.registry.object(names.connection_type(source))),
                args=connection_args(ctx, source),
                description=f"{source.type_name} records whose `{reverse.source_field}` is this "
                f"{entity.type_name}.",
                extensions={ROLE: ReverseConnection(reverse.source, reverse.source_field)},
            )
        for name, column, kind, type_, text in _SYSTEM:
            result[name] = GraphQLField(
                type_, description=text or None, extensions={ROLE: ColumnValue(column, kind)}
            )
        return result

    return GraphQLObjectType(entity.type_name, fields, description=entity_text(entity))


def _computed_text(ctx: BuildContext, entity: EntityDef, field: FieldDef, text: str) -> str:
    """The computed field's description, with why it may read null: it is readable only
    where every field it reads is (permissions narrow it per role when they are compiled)."""
    try:
        reads = fields_read(parse_where(thaw_json(field.computed), entity, ctx.model))
    except ValidationFailed:  # pragma: no cover - the metadata checks refuse such expressions
        reads = ()
    reason = (
        "Readable only where the caller may read every field it is computed from ("
        + ", ".join(f"`{name}`" for name in reads)
        + "); null elsewhere."
        if reads
        else ""
    )
    return " ".join(part for part in (text, reason) if part)


def _nullable(field: FieldDef, type_: GraphQLNullableOutputType) -> GraphQLOutputType:
    return GraphQLNonNull(type_) if field.required else type_


def _document_field(
    ctx: BuildContext, entity: EntityDef, field: FieldDef
) -> list[tuple[str, GraphQLField]]:
    text = field_text(field)
    registry = ctx.registry
    if field.kind is FieldKind.RELATION and field.relation is not None and field.column:
        target = ctx.model.entity(field.relation.target)
        return [
            (
                field.name,
                GraphQLField(
                    _nullable(field, registry.object(target.type_name)),
                    description=text or None,
                    extensions={ROLE: ToOne(entity.id, field.name)},
                ),
            ),
            (
                f"{field.name}Id",
                GraphQLField(
                    _nullable(field, GraphQLID),
                    description=f"Id of the related {target.type_name}. {text}",
                    extensions={ROLE: ColumnValue(field.column, FieldKind.UUID)},
                ),
            ),
        ]
    if field.kind is FieldKind.MANY_TO_MANY and field.many_to_many is not None:
        target = ctx.model.entity(field.many_to_many.target)
        return [
            (
                field.name,
                GraphQLField(
                    GraphQLNonNull(registry.object(names.connection_type(target))),
                    args=connection_args(ctx, target),
                    description=text or None,
                    extensions={ROLE: ManyToManyConnection(entity.id, field.name)},
                ),
            )
        ]
    if field.kind is FieldKind.COMPUTED:
        return [
            (
                field.name,
                GraphQLField(
                    GraphQLBoolean,
                    description=_computed_text(ctx, entity, field, text),
                    extensions={ROLE: ComputedValue(entity.id, field.name)},
                ),
            )
        ]
    if field.column is None:  # pragma: no cover - every other kind is stored
        return []
    role: ColumnValue | FileValue
    if field.kind is FieldKind.FILE:
        type_: GraphQLNullableOutputType = FILE_REF
        role = FileValue(field.column)
    elif field.kind is FieldKind.ENUM:
        type_ = registry.enum(names.enum_type(entity, field))
        role = ColumnValue(field.column, field.kind)
    elif field.kind is FieldKind.MULTI_ENUM:
        type_ = GraphQLList(GraphQLNonNull(registry.enum(names.enum_type(entity, field))))
        role = ColumnValue(field.column, field.kind)
    else:
        scalar = scalar_for(field.kind)
        if scalar is None:  # pragma: no cover - covered by the branches above
            raise ValueError(f"no GraphQL type for {field.kind}")
        type_ = scalar
        role = ColumnValue(field.column, field.kind)
    return [
        (
            field.name,
            GraphQLField(
                _nullable(field, type_), description=text or None, extensions={ROLE: role}
            ),
        )
    ]
