"""Filter inputs: ``<Type>Where`` per entity, the shared per-kind operator inputs, and
``<Type>ListWhere`` (``_some``/``_none``/``_every``) for reverse and many-to-many fields.

Which operators a kind takes is decided by the expression language (``operators_for``), so the
schema offers exactly what ``parse_where`` accepts.
"""

from __future__ import annotations

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
)

from rapport.expr.operands import operators_for
from rapport.graphql.scalars import JSON
from rapport.graphql.types import names
from rapport.graphql.types.context import BuildContext
from rapport.graphql.types.describe import entity_text, field_text
from rapport.graphql.types.kinds import scalar_for
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind

__all__ = ["SCALAR_FILTERS", "generate"]

_OPERATOR_TEXT = {
    "_eq": "Equal to the value.",
    "_neq": "Not equal to the value.",
    "_gt": "Greater than the value.",
    "_gte": "Greater than or equal to the value.",
    "_lt": "Less than the value.",
    "_lte": "Less than or equal to the value.",
    "_in": "Equal to one of the values.",
    "_nin": "Equal to none of the values.",
    "_is_null": "true: has no value; false: has a value.",
    "_like": "Matches the SQL LIKE pattern (`%` any text, `_` one character), case-sensitive.",
    "_ilike": "Matches the SQL LIKE pattern, ignoring case.",
    "_starts_with": "Starts with the text.",
    "_contains": "Contains the text.",
    "_between": "Within `[low, high]`, both ends included.",
}
_TEXTUAL = frozenset({"_like", "_ilike", "_starts_with", "_contains"})
_LIST_OPERATORS = frozenset({"_in", "_nin", "_between"})


def _operator_fields(
    kind: FieldKind, operand: GraphQLInputType, *, skip: frozenset[str] = frozenset()
) -> dict[str, GraphQLInputField]:
    fields: dict[str, GraphQLInputField] = {}
    for op in operators_for(kind):
        if op in skip:
            continue
        description = _OPERATOR_TEXT[op]
        if op == "_is_null":
            type_: GraphQLInputType = GraphQLBoolean
        elif op == "_contains" and kind is FieldKind.MULTI_ENUM:
            type_ = GraphQLList(GraphQLNonNull(operand))
            description = "Holds every one of the listed values."
        elif op == "_contains" and kind in (FieldKind.JSON, FieldKind.FILE):
            type_ = JSON
            description = "Contains the given JSON (PostgreSQL `@>`)."
        elif op in _LIST_OPERATORS:
            type_ = GraphQLList(GraphQLNonNull(operand))
        else:
            type_ = operand
        fields[op] = GraphQLInputField(type_, description=description)
    return fields


def _scalar_filter(name: str, kind: FieldKind, what: str) -> GraphQLInputObjectType:
    operand = scalar_for(kind)
    if operand is None:  # pragma: no cover - every listed kind has a scalar
        raise ValueError(f"no scalar for {kind}")
    return GraphQLInputObjectType(
        name,
        lambda: _operator_fields(kind, operand),
        description=f"Conditions on a {what} field; several operators in one object must all hold.",
    )


# Shared by every tenant schema: they do not depend on the model.
SCALAR_FILTERS: dict[FieldKind, GraphQLInputObjectType] = {}
for _kind, _name, _what in (
    (FieldKind.STRING, "StringFilter", "text"),
    (FieldKind.INTEGER, "IntFilter", "whole-number"),
    (FieldKind.DECIMAL, "DecimalFilter", "exact decimal"),
    (FieldKind.FLOAT, "FloatFilter", "floating-point"),
    (FieldKind.BOOLEAN, "BooleanFilter", "true/false"),
    (FieldKind.DATE, "DateFilter", "date"),
    (FieldKind.DATETIME, "DateTimeFilter", "date-time"),
    (FieldKind.UUID, "IDFilter", "id"),
):
    SCALAR_FILTERS[_kind] = _scalar_filter(_name, _kind, _what)
SCALAR_FILTERS[FieldKind.JSON] = GraphQLInputObjectType(
    "JSONFilter",
    lambda: _operator_fields(FieldKind.JSON, JSON),
    description="Conditions on a JSON field.",
)
SCALAR_FILTERS[FieldKind.FILE] = GraphQLInputObjectType(
    "FileFilter",
    lambda: _operator_fields(FieldKind.FILE, JSON),
    description="Conditions on a file field (its FileRef object).",
)
SCALAR_FILTERS[FieldKind.COMPUTED] = GraphQLInputObjectType(
    "ComputedFilter",
    lambda: {
        "_eq": GraphQLInputField(
            GraphQLBoolean, description="true: the record satisfies the computed expression."
        )
    },
    description="Condition on a computed Boolean field.",
)
# The id filter of a tree (an entity with exactly one relation to itself, e.g. a department's
# `parent`): the id operators plus `_descendants_of`, for "my whole organisation".
TREE_ID_FILTER = GraphQLInputObjectType(
    "TreeIDFilter",
    lambda: {
        **_operator_fields(FieldKind.UUID, GraphQLID),
        "_descendants_of": GraphQLInputField(
            GraphQLList(GraphQLNonNull(GraphQLID)),
            description="The node is one of these nodes or below one of them in the tree "
            "(following the entity's relation to itself).",
        ),
    },
    description="Conditions on the id of a node of a tree (an entity with one relation to itself).",
)


def is_tree(entity: EntityDef) -> bool:
    """Whether ``entity`` has exactly one relation to itself (so `_descendants_of` needs no
    `_via` to know which edge to follow)."""
    edges = [
        f
        for f in entity.fields
        if f.kind is FieldKind.RELATION
        and f.relation is not None
        and f.relation.target == entity.id
    ]
    return len(edges) == 1


_ALIASES = {
    FieldKind.TEXT: FieldKind.STRING,
    FieldKind.EMAIL: FieldKind.STRING,
    FieldKind.PHONE: FieldKind.STRING,
    FieldKind.URL: FieldKind.STRING,
    FieldKind.RATING: FieldKind.INTEGER,
    FieldKind.MONEY: FieldKind.DECIMAL,
    FieldKind.RELATION: FieldKind.UUID,
}


def generate(ctx: BuildContext) -> None:
    registry = ctx.registry
    for filter_type in dict.fromkeys(SCALAR_FILTERS.values()):
        registry.add(filter_type, origin="kernel")
    if any(is_tree(entity) for entity in ctx.model):
        registry.add(TREE_ID_FILTER, origin="kernel")
    for entity in ctx.model:
        for field in entity.fields:
            if field.kind in (FieldKind.ENUM, FieldKind.MULTI_ENUM):
                enum = registry.enum(names.enum_type(entity, field))
                registry.add(_enum_filter(entity, field.name, field.kind, enum), origin=entity.id)
        registry.add(_where(ctx, entity), origin=entity.id)
        registry.add(_list_where(ctx, entity), origin=entity.id)


def _enum_filter(
    entity: EntityDef, field_name: str, kind: FieldKind, enum: GraphQLEnumType
) -> GraphQLInputObjectType:
    what = "multi-choice" if kind is FieldKind.MULTI_ENUM else "choice"
    return GraphQLInputObjectType(
        f"{enum.name}Filter",
        lambda: _operator_fields(
            kind, enum, skip=_TEXTUAL if kind is FieldKind.ENUM else frozenset()
        ),
        description=f"Conditions on the {what} field {entity.type_name}.{field_name}.",
    )


def _where(ctx: BuildContext, entity: EntityDef) -> GraphQLInputObjectType:
    registry = ctx.registry

    def fields() -> dict[str, GraphQLInputField]:
        me = registry.input(names.where(entity))
        result: dict[str, GraphQLInputField] = {
            "_and": GraphQLInputField(
                GraphQLList(GraphQLNonNull(me)), description="Every listed filter holds."
            ),
            "_or": GraphQLInputField(
                GraphQLList(GraphQLNonNull(me)), description="At least one listed filter holds."
            ),
            "_not": GraphQLInputField(me, description="The filter does not hold."),
        }
        for system in SYSTEM_FIELDS:
            result[system.name] = GraphQLInputField(SCALAR_FILTERS[system.kind])
        if is_tree(entity):
            result["id"] = GraphQLInputField(TREE_ID_FILTER)
        for field in entity.fields:
            text = field_text(field)
            if field.kind in (FieldKind.ENUM, FieldKind.MULTI_ENUM):
                result[field.name] = GraphQLInputField(
                    registry.input(names.enum_filter(entity, field)), description=text or None
                )
            elif field.kind is FieldKind.RELATION and field.relation is not None:
                target = ctx.model.entity(field.relation.target)
                result[field.name] = GraphQLInputField(
                    registry.input(names.where(target)),
                    description=f"The related {target.type_name} matches. {text}",
                )
                result[f"{field.name}Id"] = GraphQLInputField(
                    TREE_ID_FILTER if is_tree(target) else SCALAR_FILTERS[FieldKind.UUID],
                    description=f"Id of the related {target.type_name}.",
                )
            elif field.kind is FieldKind.MANY_TO_MANY and field.many_to_many is not None:
                target = ctx.model.entity(field.many_to_many.target)
                result[field.name] = GraphQLInputField(
                    registry.input(names.list_where(target)), description=text or None
                )
            else:
                kind = _ALIASES.get(field.kind, field.kind)
                result[field.name] = GraphQLInputField(
                    SCALAR_FILTERS[kind], description=text or None
                )
        for reverse in entity.reverse_relations:
            source = ctx.model.entity(reverse.source)
            result[reverse.name] = GraphQLInputField(
                registry.input(names.list_where(source)),
                description=f"{source.type_name} records whose `{reverse.source_field}` is this "
                f"{entity.type_name}.",
            )
        return result

    return GraphQLInputObjectType(
        names.where(entity),
        fields,
        description=entity_text(
            entity,
            f"Filter on {entity.type_name} records: every key given must hold "
            "(combine with `_and`, `_or`, `_not`).",
        ),
    )


def _list_where(ctx: BuildContext, entity: EntityDef) -> GraphQLInputObjectType:
    registry = ctx.registry

    def fields() -> dict[str, GraphQLInputField]:
        where = registry.input(names.where(entity))
        return {
            "_some": GraphQLInputField(where, description="At least one related record matches."),
            "_none": GraphQLInputField(where, description="No related record matches."),
            "_every": GraphQLInputField(
                where, description="Every related record matches (true when there are none)."
            ),
        }

    return GraphQLInputObjectType(
        names.list_where(entity),
        fields,
        description=f"Condition on a list of related {entity.type_name} records.",
    )
