"""Which GraphQL scalar each field kind reads and writes as, and which kinds sort, group, sum."""

from __future__ import annotations

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLScalarType,
    GraphQLString,
)

from rapport.graphql.scalars import DATE, DATETIME, DECIMAL, JSON
from rapport.metadata.ir import FieldKind

__all__ = [
    "GROUPABLE_KINDS",
    "NUMERIC_KINDS",
    "RANGE_KINDS",
    "SORTABLE_KINDS",
    "STRING_KINDS",
    "scalar_for",
]

STRING_KINDS = frozenset(
    {FieldKind.STRING, FieldKind.TEXT, FieldKind.EMAIL, FieldKind.PHONE, FieldKind.URL}
)

_SCALARS: dict[FieldKind, GraphQLScalarType] = {
    **dict.fromkeys(STRING_KINDS, GraphQLString),
    FieldKind.INTEGER: GraphQLInt,
    FieldKind.RATING: GraphQLInt,
    FieldKind.DECIMAL: DECIMAL,
    FieldKind.MONEY: DECIMAL,
    FieldKind.FLOAT: GraphQLFloat,
    FieldKind.BOOLEAN: GraphQLBoolean,
    FieldKind.DATE: DATE,
    FieldKind.DATETIME: DATETIME,
    FieldKind.JSON: JSON,
    FieldKind.UUID: GraphQLID,
    FieldKind.RELATION: GraphQLID,  # as `<name>Id`
}

# Kinds `orderBy` accepts (relations sort by their id column, `trainerId`).
SORTABLE_KINDS = frozenset(
    {
        *STRING_KINDS,
        FieldKind.INTEGER,
        FieldKind.RATING,
        FieldKind.DECIMAL,
        FieldKind.MONEY,
        FieldKind.FLOAT,
        FieldKind.BOOLEAN,
        FieldKind.DATE,
        FieldKind.DATETIME,
        FieldKind.ENUM,
        FieldKind.UUID,
        FieldKind.RELATION,
    }
)
# Kinds `groupBy` accepts: long text would make one group per record.
GROUPABLE_KINDS = SORTABLE_KINDS - {FieldKind.TEXT}
# Kinds `sum`/`avg` accept.
NUMERIC_KINDS = frozenset(
    {FieldKind.INTEGER, FieldKind.RATING, FieldKind.DECIMAL, FieldKind.MONEY, FieldKind.FLOAT}
)
# Kinds `min`/`max` accept.
RANGE_KINDS = NUMERIC_KINDS | {FieldKind.DATE, FieldKind.DATETIME}


def scalar_for(kind: FieldKind) -> GraphQLScalarType | None:
    """The scalar of a plain field of ``kind``; None for enum, file, relations and computed."""
    return _SCALARS.get(kind)
