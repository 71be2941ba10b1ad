"""The plan of one operation: per root field a read, a write, a constant or a delegated field.

Plans are built and cached by :class:`~rapport.graphql.executor.TenantApi` and run by
:mod:`rapport.graphql.run`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from graphql import (
    FieldNode,
    GraphQLField,
)

from rapport.errors import RapportError
from rapport.graphql.prepared import Lru
from rapport.graphql.types.roles import MutationRoot
from rapport.sql import plan
from rapport.sql.query import Statement

__all__ = [
    "Constant",
    "Delegated",
    "Entry",
    "OperationPlan",
    "Read",
    "UserStatements",
    "Write",
]

# Statements of plans whose expressions use $user: compiled once per distinct set of values.
USER_STATEMENT_CACHE_SIZE = 64


class UserStatements:
    """Statements of one plan whose expressions use $user/$now, by the variables' values."""

    __slots__ = ("by_values", "used")

    def __init__(self) -> None:
        self.used: list[str] | None = None  # the variables the plan uses, sorted
        self.by_values: Lru[str, Statement] = Lru(USER_STATEMENT_CACHE_SIZE)


@dataclass(frozen=True, slots=True)
class Read:
    """A query root field compiled to one statement (``statement`` None: compile per request,
    because its filters use ``$user``/``$now``; ``error`` set: its arguments are invalid)."""

    key: str
    node: FieldNode
    non_null: bool
    root: plan.RootPlan | None
    statement: Statement | None
    error: RapportError | None
    statements: UserStatements = dataclasses.field(
        default_factory=lambda: UserStatements(), compare=False
    )


@dataclass(frozen=True, slots=True)
class Write:
    key: str
    node: FieldNode
    non_null: bool
    field: GraphQLField
    role: MutationRoot
    read: plan.RootPlan | None  # reads the written record(s) back; None for delete
    statement: Statement | None
    error: RapportError | None
    statements: UserStatements = dataclasses.field(
        default_factory=lambda: UserStatements(), compare=False
    )


@dataclass(frozen=True, slots=True)
class Constant:
    key: str
    json: bytes


@dataclass(frozen=True, slots=True)
class Delegated:
    """Executed by graphql-core: introspection and fields with Python resolvers."""

    key: str
    nodes: tuple[FieldNode, ...]


Entry = Read | Write | Constant | Delegated


@dataclass(frozen=True, slots=True)
class OperationPlan:
    entries: tuple[Entry, ...]
