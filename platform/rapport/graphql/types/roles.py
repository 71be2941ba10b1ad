"""What each generated GraphQL field means to the query compiler.

The schema generators attach one role to every field they create, under
``GraphQLField.extensions[ROLE]``. The planner walks a query's selection set, reads the role of
each selected field and turns it into a read-plan node; the differential test's reference
resolvers dispatch on the same roles. So the schema is the single place that says which column,
relation or aggregate a GraphQL field stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from graphql import GraphQLField, GraphQLObjectType

from rapport.metadata.ir import FieldKind

__all__ = [
    "ROLE",
    "AggregatePart",
    "AggregateRoot",
    "AggregateValue",
    "ColumnValue",
    "ComputedValue",
    "ConnectionPart",
    "EdgePart",
    "FilePart",
    "FileValue",
    "GroupKeyValue",
    "ListRoot",
    "ManyToManyConnection",
    "MutationAction",
    "MutationRoot",
    "PageInfoPart",
    "ReverseConnection",
    "Role",
    "SingleRoot",
    "ToOne",
    "role_of",
]

ROLE = "rapport"  # the key in GraphQLField.extensions


# -- fields of an entity's object type ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnValue:
    """A stored scalar (or multi-enum, JSON) column of the record, including system fields."""

    column: str
    kind: FieldKind


@dataclass(frozen=True, slots=True)
class FileValue:
    """A file field: a jsonb column read as a ``FileRef`` object."""

    column: str


@dataclass(frozen=True, slots=True)
class FilePart:
    """One property of a ``FileRef`` (``key``, ``name``, ``size``, ``contentType``, ``sha256``)."""

    name: str


@dataclass(frozen=True, slots=True)
class ComputedValue:
    """A computed Boolean: the field's ``x-computed`` expression evaluated on the record."""

    entity: str
    field: str


@dataclass(frozen=True, slots=True)
class ToOne:
    """A many-to-one relation field read as the related object (``trainer { … }``)."""

    entity: str  # entity holding the relation
    field: str  # relation field name


@dataclass(frozen=True, slots=True)
class ReverseConnection:
    """The one-to-many side of a relation, as a connection of the source entity's records."""

    source: str  # entity holding the relation
    source_field: str  # the relation field on `source`


@dataclass(frozen=True, slots=True)
class ManyToManyConnection:
    """A many-to-many field, as a connection of the far entity's records through the link."""

    entity: str
    field: str


# -- connections -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionPart:
    name: Literal["edges", "pageInfo", "totalCount"]


@dataclass(frozen=True, slots=True)
class EdgePart:
    name: Literal["cursor", "node"]


@dataclass(frozen=True, slots=True)
class PageInfoPart:
    name: Literal["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]


# -- aggregates ------------------------------------------------------------------------------

AggregateFunction = Literal["sum", "avg", "min", "max"]


@dataclass(frozen=True, slots=True)
class AggregatePart:
    """A field of ``<Type>Aggregate`` or of one of its ``groups``."""

    name: Literal["count", "sum", "avg", "min", "max", "groups", "key"]


@dataclass(frozen=True, slots=True)
class AggregateValue:
    """``sum { price }``: one aggregate function over one column."""

    function: AggregateFunction
    column: str
    kind: FieldKind


@dataclass(frozen=True, slots=True)
class GroupKeyValue:
    """``key { level }``: the value of one grouping column (null when not grouped by it)."""

    field: str  # GraphQL name, as in the GroupField enum
    column: str
    kind: FieldKind


# -- root fields -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SingleRoot:
    entity: str


@dataclass(frozen=True, slots=True)
class ListRoot:
    entity: str


@dataclass(frozen=True, slots=True)
class AggregateRoot:
    entity: str


MutationAction = Literal["create", "createMany", "update", "delete", "upsert"]


@dataclass(frozen=True, slots=True)
class MutationRoot:
    entity: str
    action: MutationAction


Role = (
    ColumnValue
    | FileValue
    | FilePart
    | ComputedValue
    | ToOne
    | ReverseConnection
    | ManyToManyConnection
    | ConnectionPart
    | EdgePart
    | PageInfoPart
    | AggregatePart
    | AggregateValue
    | GroupKeyValue
    | SingleRoot
    | ListRoot
    | AggregateRoot
    | MutationRoot
)


def role_of(parent: GraphQLObjectType, field_name: str) -> tuple[GraphQLField, Role | None]:
    """The field definition and its role (None for fields Rapport did not generate)."""
    field = parent.fields[field_name]
    role = field.extensions.get(ROLE) if field.extensions else None
    return field, role
