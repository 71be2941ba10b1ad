"""The expression AST: what a parsed ``where`` document is, for SQL and for Python alike.

Nodes are frozen dataclasses, built only by :func:`rapport.expr.parse.parse_where`, which has
already checked every field, operator and value against the entity. Both back ends
(:mod:`rapport.expr.sql` and :mod:`rapport.expr.evaluate`) read the same nodes, so they cannot
drift apart on what a filter means.

``TRUE`` is ``And(())`` and ``FALSE`` is ``Or(())``: an empty ``where`` (or ``_and: []``) matches
every record, ``_or: []`` matches none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from typing import Literal as TypingLiteral

from rapport.metadata.ir import FieldKind

__all__ = [
    "FALSE",
    "OPERATORS",
    "TRUE",
    "And",
    "Compare",
    "Descendants",
    "Expr",
    "Literal",
    "Not",
    "Or",
    "Quantifier",
    "Related",
    "RelationKind",
    "Value",
    "Variable",
]

RelationKind = TypingLiteral["many_to_one", "reverse", "many_to_many"]
Quantifier = TypingLiteral["some", "none", "every"]

# Every comparison operator, in the order messages list them.
OPERATORS: tuple[str, ...] = (
    "_eq",
    "_neq",
    "_gt",
    "_gte",
    "_lt",
    "_lte",
    "_in",
    "_nin",
    "_is_null",
    "_like",
    "_ilike",
    "_starts_with",
    "_contains",
    "_between",
)


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant operand, already coerced to the field's Python type.

    Scalars are ``str`` (also uuids, in canonical lowercase form), ``int``, ``float``,
    ``decimal.Decimal``, ``bool``, ``datetime.date`` or tz-aware ``datetime.datetime``; ``_in``,
    ``_nin``, ``_between`` and multi-enum ``_contains`` hold a ``tuple`` of those; json
    ``_contains`` holds the plain JSON value (dicts and lists).
    """

    value: Any


@dataclass(frozen=True, slots=True)
class Variable:
    """A value known only when the expression runs: ``user.id``, ``user.<attribute>``, ``now``."""

    name: str


Value = Literal | Variable


@dataclass(frozen=True, slots=True)
class Compare:
    """``<field> <op> <value>`` on one stored column of the current record."""

    field: str  # GraphQL name as the record holds it ("capacity", "trainerId", "createdAt")
    column: str  # SQL column ("capacity", "trainer_id", "created_at")
    kind: FieldKind  # drives casts, collation and Python coercion
    op: str  # one of OPERATORS
    value: Value


@dataclass(frozen=True, slots=True)
class Related:
    """A condition on records reached through a relation field of entity ``source``.

    ``many_to_one`` (``trainer``) always has quantifier ``some``: the related record exists and
    matches. ``reverse`` (``courses`` on a trainer) and ``many_to_many`` (``trainees`` on a
    course) range over a set: ``some`` — at least one matches, ``none`` — none matches,
    ``every`` — all match (true for an empty set).
    """

    field: str  # relation field name on `source` ("trainer", "courses", "trainees")
    relation: RelationKind
    target: str  # entity id of the related records; `inner` is about them
    quantifier: Quantifier
    inner: Expr
    # The entity holding `field`; the SQL back end looks the join columns up through it.
    source: str = dataclasses.field(kw_only=True)
    # many_to_many only: which link rows count, a condition on the link entity's row (the
    # principal's row and field rules on it). Python evaluation takes the record's list of
    # related records as already holding only those.
    link: Expr | None = dataclasses.field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Descendants:
    """``_descendants_of``: the record's tree node is one of the ``value`` nodes or below one.

    ``field``/``column`` hold the node id on the current record (``departmentId`` /
    ``department_id`` for a relation into the tree, ``id`` / ``id`` on the tree entity itself).
    The tree is entity ``tree`` linked through its self-relation ``edge`` (child → parent,
    column ``edge_column``). ``value`` resolves to a list of uuids (a single id is a one-element
    list, null is the empty list, which matches nothing).
    """

    field: str
    column: str
    tree: str
    edge: str
    edge_column: str
    value: Value


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = And | Or | Not | Compare | Related | Descendants

TRUE: Expr = And(())
FALSE: Expr = Or(())
