"""The expression AST → a SQL boolean expression over one aliased row of the entity's table.

Values only ever travel as ``$n`` parameters (collected in a :class:`ParamList` the caller
shares with the rest of its statement) with explicit casts, so asyncpg knows every parameter's
type; identifiers only through :func:`rapport.naming.quote_ident` / ``qualified``.

Semantics match :func:`rapport.expr.evaluate.evaluate` exactly (the agreement tests check it):

* a comparison with NULL is "not true"; SQL's NULL only ever flows into ``AND``/``OR``, where
  treating it as false gives the same answer, and ``NOT`` is compiled as
  ``NOT COALESCE(…, false)`` so that ``_not`` negates the collapsed boolean;
* ``_neq`` is ``IS DISTINCT FROM`` and ``_nin`` is true for NULL, as in Python;
* string ordering and ``_ilike`` use ``COLLATE "C"``: code-point order and ASCII-only case
  folding, whatever the database's locale — Python does the same.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rapport.errors import RapportError
from rapport.expr.ast import And, Compare, Descendants, Expr, Not, Or, Related
from rapport.expr.matching import escape_like
from rapport.expr.operands import ORDER_OPERATORS, STRING_KINDS, resolve_operand
from rapport.metadata.ir import EntityDef, FieldKind, Model
from rapport.naming import qualified, quote_ident

__all__ = ["ParamList", "SqlContext", "compile_sql"]

# Parameter casts by field kind: with them asyncpg never has to guess a parameter's type.
_SQL_TYPES: dict[FieldKind, str] = {
    **dict.fromkeys(
        (*STRING_KINDS, FieldKind.ENUM, FieldKind.MULTI_ENUM, FieldKind.COMPUTED), "text"
    ),
    FieldKind.INTEGER: "integer",
    FieldKind.RATING: "integer",
    FieldKind.DECIMAL: "numeric",
    FieldKind.MONEY: "numeric",
    FieldKind.FLOAT: "double precision",
    FieldKind.BOOLEAN: "boolean",
    FieldKind.DATE: "date",
    FieldKind.DATETIME: "timestamptz",
    FieldKind.UUID: "uuid",
    FieldKind.JSON: "jsonb",
    FieldKind.FILE: "jsonb",
}
_COMPARISON = {"_eq": "=", "_gt": ">", "_gte": ">=", "_lt": "<", "_lte": "<="}
_ALIAS_PREFIX = "_e"


class ParamList:
    """The ``$n`` parameters of one statement; shared by everything that builds the statement.

    ``add`` appends a value and returns its placeholder, so numbering continues across pieces
    compiled separately. ``alias`` hands out table aliases unique within the statement
    (``_e1``, ``_e2``, …; don't use that prefix for your own aliases).
    """

    __slots__ = ("_aliases", "values")

    def __init__(self, values: list[Any] | None = None) -> None:
        self.values: list[Any] = values if values is not None else []
        self._aliases: Iterator[int] = itertools.count(1)

    def add(self, value: Any, sql_type: str | None = None) -> str:
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{sql_type}" if sql_type else placeholder

    def alias(self) -> str:
        return f"{_ALIAS_PREFIX}{next(self._aliases)}"


@dataclass(frozen=True, slots=True)
class SqlContext:
    """Where an expression is compiled: ``alias`` names the current row of the entity's table."""

    schema: str  # the tenant schema, e.g. "tenant_acme"
    alias: str  # SQL alias of the row the expression is about, e.g. "c"
    params: ParamList
    variables: Mapping[str, Any]  # "user.id", "user.roles", "now", … (see variables_for)
    model: Model  # the model the expression was parsed against


def compile_sql(expr: Expr, ctx: SqlContext) -> str:
    """A SQL boolean expression: true exactly for the rows :func:`evaluate` accepts."""
    if isinstance(expr, And):
        return _junction(expr.items, "AND", "true", ctx)
    if isinstance(expr, Or):
        return _junction(expr.items, "OR", "false", ctx)
    if isinstance(expr, Not):
        return f"NOT COALESCE({compile_sql(expr.item, ctx)}, false)"
    if isinstance(expr, Compare):
        return _compare(expr, ctx)
    if isinstance(expr, Descendants):
        return _descendants(expr, ctx)
    return _related(expr, ctx)


def _junction(items: tuple[Expr, ...], word: str, empty: str, ctx: SqlContext) -> str:
    if not items:
        return empty
    if len(items) == 1:
        return compile_sql(items[0], ctx)
    return "(" + f" {word} ".join(compile_sql(item, ctx) for item in items) + ")"


def _column(ctx: SqlContext, column: str) -> str:
    return f"{quote_ident(ctx.alias)}.{quote_ident(column)}"


def _compare(expr: Compare, ctx: SqlContext) -> str:
    kind, op = expr.kind, expr.op
    operand = resolve_operand(expr.value, kind, op, ctx.variables, field=expr.field)
    column = _column(ctx, expr.column)
    sql_type = _SQL_TYPES[kind]
    add = ctx.params.add
    if op == "_is_null":
        if kind in (FieldKind.JSON, FieldKind.FILE):
            # A JSON null stored in jsonb is null too: Python cannot tell it from SQL NULL.
            null = f"({column} IS NULL OR jsonb_typeof({column}) = 'null')"
            return null if operand else f"NOT {null}"
        return f"{column} IS {'' if operand else 'NOT '}NULL"
    if op == "_neq":
        return f"{column} IS DISTINCT FROM {add(operand, sql_type)}"
    if op == "_in":
        return f"{column} = ANY({add(list(operand), sql_type + '[]')})"
    if op == "_nin":
        # The list never holds NULL (see resolve_operand), so this is never NULL itself.
        return f"({column} IS NULL OR NOT ({column} = ANY({add(list(operand), sql_type + '[]')})))"
    if kind in STRING_KINDS and op in ORDER_OPERATORS:
        column = f'({column} COLLATE "C")'
    if op == "_between":
        low, high = operand
        return f"{column} BETWEEN {add(low, sql_type)} AND {add(high, sql_type)}"
    if op in _COMPARISON:
        return f"{column} {_COMPARISON[op]} {add(operand, sql_type)}"
    return _text_or_containment(kind, op, operand, column, add)


def _text_or_containment(
    kind: FieldKind, op: str, operand: Any, column: str, add: Callable[[Any, str], str]
) -> str:
    if op == "_contains" and kind is FieldKind.MULTI_ENUM:
        values = None if operand is None else list(operand)
        return f"{column} @> {add(values, 'text[]')}"
    if op == "_contains" and kind in (FieldKind.JSON, FieldKind.FILE):
        document = None if operand is None else json.dumps(operand)
        return f"{column} @> {add(document, 'jsonb')}"
    if op == "_like":
        return f"{column} LIKE {add(operand, 'text')}"
    if op == "_ilike":
        return f'({column} COLLATE "C") ILIKE {add(operand, "text")}'
    if op in ("_starts_with", "_contains"):
        if operand is None:
            pattern = None
        elif op == "_starts_with":
            pattern = escape_like(operand) + "%"
        else:
            pattern = "%" + escape_like(operand) + "%"
        return f"{column} LIKE {add(pattern, 'text')}"
    raise RapportError(f"operator {op} cannot be compiled for a {kind} field")


def _related(expr: Related, ctx: SqlContext) -> str:
    model = ctx.model
    source = _entity(model, expr.source)
    target = _entity(model, expr.target)
    alias = ctx.params.alias()
    inner_ctx = replace(ctx, alias=alias)
    outer_id = _column(ctx, "id")
    if expr.relation == "many_to_one":
        fk = source.field(expr.field).column
        if fk is None:
            raise RapportError(f"{expr.source}.{expr.field} is not a stored relation")
        frm = f"{qualified(ctx.schema, target.table)} AS {quote_ident(alias)}"
        join = f"{_column(inner_ctx, 'id')} = {_column(ctx, fk)}"
    elif expr.relation == "reverse":
        reverse = next(r for r in source.reverse_relations if r.name == expr.field)
        fk = _stored_column(target, reverse.source_field)
        frm = f"{qualified(ctx.schema, target.table)} AS {quote_ident(alias)}"
        join = f"{_column(inner_ctx, fk)} = {outer_id}"
    else:
        link_def = source.field(expr.field).many_to_many
        if link_def is None:
            raise RapportError(f"{expr.source}.{expr.field} is not a many-to-many field")
        link = _entity(model, link_def.through)
        link_alias = ctx.params.alias()
        link_ctx = replace(ctx, alias=link_alias)
        frm = (
            f"{qualified(ctx.schema, link.table)} AS {quote_ident(link_alias)} "
            f"JOIN {qualified(ctx.schema, target.table)} AS {quote_ident(alias)} "
            f"ON {_column(inner_ctx, 'id')} = "
            f"{_column(link_ctx, _stored_column(link, link_def.target_field))}"
        )
        join = f"{_column(link_ctx, _stored_column(link, link_def.source_field))} = {outer_id}"
        if expr.link is not None:
            join = f"{join} AND COALESCE({compile_sql(expr.link, link_ctx)}, false)"
    inner = compile_sql(expr.inner, inner_ctx)
    if expr.quantifier == "every":
        # every = no related row fails; a NULL (unknown) inner result counts as failing.
        return f"NOT EXISTS (SELECT 1 FROM {frm} WHERE {join} AND NOT COALESCE({inner}, false))"
    exists = f"EXISTS (SELECT 1 FROM {frm} WHERE {join} AND {inner})"
    return exists if expr.quantifier == "some" else f"NOT {exists}"


def _descendants(expr: Descendants, ctx: SqlContext) -> str:
    """The record's node is in the set reached from the given nodes down the tree edge.

    The subquery is not correlated, so PostgreSQL computes the set once per statement; UNION
    (not UNION ALL) keeps only new ids, which ends the recursion on a cycle.
    """
    roots = resolve_operand(expr.value, FieldKind.UUID, "_in", ctx.variables, field=expr.field)
    tree = _entity(ctx.model, expr.tree)
    node, found = ctx.params.alias(), ctx.params.alias()
    node_ctx, found_ctx = replace(ctx, alias=node), replace(ctx, alias=found)
    return (
        f"{_column(ctx, expr.column)} IN (WITH RECURSIVE {quote_ident(found)}(id) AS ("
        f"SELECT unnest({ctx.params.add(list(roots), 'uuid[]')}) UNION "
        f"SELECT {_column(node_ctx, 'id')} FROM {qualified(ctx.schema, tree.table)} AS "
        f"{quote_ident(node)} JOIN {quote_ident(found)} ON "
        f"{_column(node_ctx, expr.edge_column)} = {_column(found_ctx, 'id')}) "
        f"SELECT {_column(found_ctx, 'id')} FROM {quote_ident(found)})"
    )


def _entity(model: Model, entity_id: str) -> EntityDef:
    if not model.has_entity(entity_id):
        raise RapportError(
            f"the expression refers to entity {entity_id}, which the model does not have",
            hint="Compile the expression with the model it was parsed against.",
        )
    return model.entity(entity_id)


def _stored_column(entity: EntityDef, field_name: str) -> str:
    column = entity.field(field_name).column
    if column is None:
        raise RapportError(f"{entity.id}.{field_name} has no column to join on")
    return column
