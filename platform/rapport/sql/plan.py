"""The read plan: what one root field reads, free of GraphQL syntax.

The planner (``rapport.graphql.planner``) turns a selection set — fragments merged, directives
applied, aliases resolved — into these frozen nodes; the compiler (``rapport.sql.query``) turns
them into ONE SQL statement whose result is the field's JSON. Every node carries the response
key it is written under, so the SQL builds the response shape with literal keys.

Values that change from request to request without changing the statement (page sizes, cursors,
ids from variables) are :class:`Deferred`: the compiled statement keeps them as ``$n``
parameters and :meth:`Deferred.resolve` produces the value for each request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rapport.expr.ast import Expr
from rapport.metadata.ir import EntityDef, FieldKind

__all__ = [
    "Aggregate",
    "AggregateFunctions",
    "AggregatePart",
    "AggregateQuery",
    "AggregateValue",
    "AllRows",
    "Column",
    "Computed",
    "Connection",
    "ConnectionPart",
    "Constant",
    "Count",
    "Cursor",
    "CursorArgument",
    "Deferred",
    "EdgeNode",
    "EdgePart",
    "Edges",
    "File",
    "FileProperty",
    "GroupKey",
    "GroupKeyField",
    "Groups",
    "Guarded",
    "LinkedRows",
    "ListQuery",
    "Node",
    "OrderKey",
    "Page",
    "PageInfo",
    "PageInfoField",
    "Param",
    "RecordsById",
    "RequestValues",
    "ReverseRows",
    "RootPlan",
    "SingleQuery",
    "Source",
    "ToOne",
    "TotalCount",
]


@dataclass(slots=True)
class RequestValues:
    """What deferred parameters read: the request's coerced GraphQL variables."""

    variables: Mapping[str, Any]
    memo: dict[object, Any] = field(default_factory=dict)  # e.g. decoded cursors


class Deferred:
    """A parameter value known only per request (subclasses are frozen dataclasses)."""

    __slots__ = ()

    def resolve(self, values: RequestValues) -> Any:
        raise NotImplementedError


# A parameter: a constant, or a Deferred resolved per request.
Param = Any


# -- fields of one record ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Constant:
    """A constant string under ``key`` (``__typename``)."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    column: str
    kind: FieldKind
    # (entity id, field name) of a sensitive field: the column holds a sealed value that the
    # statement returns as a marked string for the executor to open (rapport.crypto.reading).
    sealed: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Computed:
    key: str
    expr: Expr


@dataclass(frozen=True, slots=True)
class FileProperty:
    key: str
    name: str  # property of the stored FileRef object


@dataclass(frozen=True, slots=True)
class File:
    key: str
    column: str
    parts: tuple[FileProperty | Constant, ...]


@dataclass(frozen=True, slots=True)
class ToOne:
    """A many-to-one relation: the related record, or null."""

    key: str
    target: EntityDef
    column: str  # the foreign-key column on the current record
    selection: tuple[Node, ...]
    where: Expr | None = None  # the target's row rule: a related record outside it is null


# -- connections ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllRows:
    entity: EntityDef


@dataclass(frozen=True, slots=True)
class ReverseRows:
    """Records of ``entity`` whose ``column`` points at the current record."""

    entity: EntityDef
    column: str


@dataclass(frozen=True, slots=True)
class LinkedRows:
    """Records of ``entity`` linked to the current record through rows of ``link``."""

    entity: EntityDef
    link: EntityDef
    source_column: str  # link column pointing at the current record
    target_column: str  # link column pointing at `entity`
    link_where: Expr | None = None  # which link rows count (the link entity's row rule)


Source = AllRows | ReverseRows | LinkedRows


@dataclass(frozen=True, slots=True)
class OrderKey:
    column: str
    kind: FieldKind
    descending: bool
    nullable: bool = True
    # A permission shows the column only where this holds: sort (and build cursors) by the
    # shown value, null elsewhere, so neither the order nor a cursor reveals a hidden value.
    visible: Expr | None = None


@dataclass(frozen=True, slots=True)
class CursorArgument:
    """An ``after``/``before`` argument: where its value comes from, and its error path."""

    source: Param
    path: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Page:
    """Which records of the source a connection shows (arguments already checked for shape)."""

    where: Expr | None
    order: tuple[OrderKey, ...]  # ends with the id key
    size: Param  # page size (resolves to 0..MAX_PAGE_SIZE)
    backward: bool  # `last` given: the page ends at `before` (or the end)
    after: CursorArgument | None  # None: argument absent
    before: CursorArgument | None


@dataclass(frozen=True, slots=True)
class TotalCount:
    key: str


@dataclass(frozen=True, slots=True)
class PageInfoField:
    key: str
    name: Literal["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]


@dataclass(frozen=True, slots=True)
class PageInfo:
    key: str
    parts: tuple[PageInfoField | Constant, ...]


@dataclass(frozen=True, slots=True)
class Cursor:
    key: str


@dataclass(frozen=True, slots=True)
class EdgeNode:
    key: str
    selection: tuple[Node, ...]


EdgePart = Cursor | EdgeNode | Constant


@dataclass(frozen=True, slots=True)
class Edges:
    key: str
    parts: tuple[EdgePart, ...]


ConnectionPart = TotalCount | PageInfo | Edges | Constant


@dataclass(frozen=True, slots=True)
class Connection:
    key: str
    source: Source
    page: Page
    parts: tuple[ConnectionPart, ...]


@dataclass(frozen=True, slots=True)
class Guarded:
    """A field a permission rule shows only on some rows: ``node``'s value where ``clear``
    holds, ``mask`` (a constant string) where ``masked`` holds and the value is not null,
    null elsewhere. ``clear`` FALSE and no mask: always null."""

    key: str
    node: Column | Computed | File | ToOne
    clear: Expr
    masked: Expr | None = None
    mask: str | None = None


Node = Constant | Column | Computed | File | ToOne | Connection | Guarded


# -- aggregates ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Count:
    key: str


@dataclass(frozen=True, slots=True)
class AggregateValue:
    key: str
    column: str
    kind: FieldKind


@dataclass(frozen=True, slots=True)
class AggregateFunctions:
    key: str
    function: Literal["sum", "avg", "min", "max"]
    parts: tuple[AggregateValue | Constant, ...]


@dataclass(frozen=True, slots=True)
class GroupKeyField:
    key: str
    column: str
    kind: FieldKind


@dataclass(frozen=True, slots=True)
class GroupKey:
    key: str
    parts: tuple[GroupKeyField | Constant, ...]


@dataclass(frozen=True, slots=True)
class Groups:
    key: str
    parts: tuple[AggregatePart, ...]


# `key` appears only inside `groups`, `groups` only at the top; the schema guarantees it.
AggregatePart = Count | AggregateFunctions | Groups | GroupKey | Constant


@dataclass(frozen=True, slots=True)
class Aggregate:
    entity: EntityDef
    where: Expr | None
    group_by: tuple[str, ...]  # columns, in the order given
    parts: tuple[AggregatePart, ...]


# -- root fields ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SingleQuery:
    """``course(id:)``: one record or null."""

    entity: EntityDef
    id: Param
    selection: tuple[Node, ...]
    where: Expr | None = None  # the row rule: a record outside it reads as missing (null)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """``courses(…)``: a connection over all records."""

    connection: Connection


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    aggregate: Aggregate


@dataclass(frozen=True, slots=True)
class RecordsById:
    """A JSON array of records in the order of ``ids`` (the read-back of ``createCourses``)."""

    entity: EntityDef
    ids: Param  # a list of uuids
    selection: tuple[Node, ...]
    where: Expr | None = None  # the row rule: records outside it are left out


RootPlan = SingleQuery | ListQuery | AggregateQuery | RecordsById
