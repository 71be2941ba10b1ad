"""The query compiler: one root field's read plan → ONE SQL statement returning its JSON text.

``compile_root`` is the entry point. The statement's result is a single ``text`` value — the
field's complete JSON as PostgreSQL built it — or NULL for a missing single record; the executor
splices those bytes into the response without decoding them. Parameters that vary per request
(page sizes, cursors, ids from variables) stay :class:`~rapport.sql.plan.Deferred` in
``Statement.params`` so one compiled statement serves every request of the same shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rapport.expr.ast import Expr
from rapport.expr.variables import variables_in
from rapport.metadata.ir import Model
from rapport.naming import quote_ident
from rapport.sql import plan
from rapport.sql.aggregate import aggregate_sql
from rapport.sql.json_select import Compiler, col, connection_json, object_json
from rapport.sql.params import resolve_params

__all__ = ["Statement", "compile_root", "expression_variables"]


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    params: tuple[plan.Param, ...]
    checks: tuple[plan.Deferred, ...] = ()  # validated per request, not bound

    def arguments(self, values: plan.RequestValues) -> list[Any]:
        """The bind arguments for one request (raises what a deferred value raises)."""
        for check in self.checks:
            check.resolve(values)
        return resolve_params(list(self.params), values)


def compile_root(
    root: plan.RootPlan, *, schema: str, model: Model, variables: Mapping[str, Any]
) -> Statement:
    """Compile ``root`` for tenant ``schema``; ``variables`` are the expression variables
    (``user.id``, ``now``…) of the plan's filters and computed fields, bound as parameters."""
    c = Compiler(schema=schema, model=model, variables=variables)
    if isinstance(root, plan.SingleQuery):
        r = c.alias()
        id_param = c.params.add(root.id, "uuid")
        rule = f" AND {c.expr(root.where, r)}" if root.where is not None else ""
        sql = (
            f"SELECT {object_json(root.selection, r, c)}::text FROM "
            f"{c.table(root.entity.table)} AS {quote_ident(r)} "
            f"WHERE {col(r, 'id')} = {id_param}{rule}"
        )
    elif isinstance(root, plan.ListQuery):
        sql = f"SELECT {connection_json(root.connection, None, c)}::text"
    elif isinstance(root, plan.AggregateQuery):
        sql = aggregate_sql(root.aggregate, c)
    else:
        r, ids = c.alias(), c.alias()
        ids_param = c.params.add(root.ids, "uuid[]")
        rule = f" WHERE {c.expr(root.where, r)}" if root.where is not None else ""
        sql = (
            f"SELECT COALESCE(json_agg({object_json(root.selection, r, c)} "
            f"ORDER BY {quote_ident(ids)}.ord), '[]'::json)::text "
            f"FROM unnest({ids_param}) WITH ORDINALITY AS {quote_ident(ids)}(id, ord) "
            f"JOIN {c.table(root.entity.table)} AS {quote_ident(r)} "
            f"ON {col(r, 'id')} = {quote_ident(ids)}.id{rule}"
        )
    return Statement(sql=sql, params=tuple(c.params.values), checks=tuple(c.checks))


def expression_variables(root: plan.RootPlan) -> frozenset[str]:
    """The expression variables (``now``, ``user.id``…) the plan's filters and computed fields
    use. A plan without any compiles to the same statement for every principal."""
    return frozenset().union(*(variables_in(e) for e in _expressions(root)))


def _expressions(root: plan.RootPlan) -> Iterator[Expr]:
    if isinstance(root, plan.AggregateQuery):
        if root.aggregate.where is not None:
            yield root.aggregate.where
    elif isinstance(root, plan.ListQuery):
        yield from _connection_expressions(root.connection)
    else:
        if root.where is not None:
            yield root.where
        yield from _selection_expressions(root.selection)


def _selection_expressions(selection: tuple[plan.Node, ...]) -> Iterator[Expr]:
    for node in selection:
        if isinstance(node, plan.Guarded):
            yield node.clear
            if node.masked is not None:
                yield node.masked
            node = node.node
        if isinstance(node, plan.Computed):
            yield node.expr
        elif isinstance(node, plan.ToOne):
            if node.where is not None:
                yield node.where
            yield from _selection_expressions(node.selection)
        elif isinstance(node, plan.Connection):
            yield from _connection_expressions(node)


def _connection_expressions(conn: plan.Connection) -> Iterator[Expr]:
    if conn.page.where is not None:
        yield conn.page.where
    for key in conn.page.order:
        if key.visible is not None:
            yield key.visible
    if isinstance(conn.source, plan.LinkedRows) and conn.source.link_where is not None:
        yield conn.source.link_where
    for part in conn.parts:
        if isinstance(part, plan.Edges):
            for edge_part in part.parts:
                if isinstance(edge_part, plan.EdgeNode):
                    yield from _selection_expressions(edge_part.selection)
