"""SQL expressions that build a record's JSON, and connections of records, inside one statement.

``object_json`` is ``json_build_object('<response key>', <value>, …)`` over one aliased row;
a many-to-one relation is a correlated scalar subquery, a connection (reverse relation,
many-to-many, or a root list) is a correlated subquery that pages with ``LIMIT size + 1`` and
aggregates its edges with ``json_agg``. However deep the selection, it stays one statement.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.expr.ast import FALSE, Expr
from rapport.expr.sql import ParamList, SqlContext, compile_sql
from rapport.metadata.ir import FieldKind, Model
from rapport.naming import qualified, quote_ident
from rapport.sql import plan
from rapport.sql.pagination import (
    SQL_TYPES,
    CursorValue,
    cursor_sql,
    keyset_sql,
    order_sql,
)
from rapport.sql.sealed import SEALED_MARKER

__all__ = [
    "Compiler",
    "col",
    "connection_json",
    "json_object",
    "literal",
    "object_json",
    "value_json",
]

_KEY = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
# PostgreSQL functions take at most 100 arguments: json_build_object at most 50 pairs.
_MAX_PAIRS = 50
_DECIMAL_KINDS = frozenset({FieldKind.DECIMAL, FieldKind.MONEY})
_SEALED_ENTITY = re.compile(r"[A-Za-z0-9_/-]+")
# The page's own columns beside the row's: names no field can have (GraphQL keeps "__" to itself).
_ROW = '"__row"'
_CURSOR = '"__cursor"'


@dataclass(slots=True)
class Compiler:
    """State of one statement being compiled: its parameters and table aliases."""

    schema: str
    model: Model
    variables: Mapping[str, Any]  # expression variables ($user.*, $now)
    params: ParamList = field(default_factory=ParamList)
    # Deferred values to validate per request although the statement does not read them
    # (a page size or cursor of a connection that only selects totalCount).
    checks: list[plan.Deferred] = field(default_factory=list)
    # Row aliases whose to-one relations become LEFT JOIN LATERALs of the FROM that reads
    # them (the page of a connection), rather than a correlated subquery per row.
    laterals: dict[str, list[str]] = field(default_factory=dict)
    _aliases: Iterator[int] = field(default_factory=lambda: itertools.count())

    def alias(self) -> str:
        """A table alias unique in the statement (the expression compiler uses ``_e…``)."""
        return f"r{next(self._aliases)}"

    def table(self, table: str) -> str:
        return qualified(self.schema, table)

    def expr(self, expr: Expr, alias: str) -> str:
        ctx = SqlContext(self.schema, alias, self.params, self.variables, self.model)
        return compile_sql(expr, ctx)


def literal(text: str) -> str:
    """A response key or type name as a SQL string literal; both are GraphQL names."""
    if not _KEY.fullmatch(text):
        raise ValueError(f"not a GraphQL name: {text!r}")
    return f"'{text}'"


def col(alias: str, column: str) -> str:
    return f"{quote_ident(alias)}.{quote_ident(column)}"


def json_object(pairs: Sequence[tuple[str, str]]) -> str:
    """``json_build_object`` with literal keys, in order; split past PostgreSQL's 100 arguments."""
    chunks = [pairs[i : i + _MAX_PAIRS] for i in range(0, len(pairs), _MAX_PAIRS)] or [[]]
    built = [
        "json_build_object(" + ", ".join(f"{literal(k)}, {v}" for k, v in chunk) + ")"
        for chunk in chunks
    ]
    if len(built) == 1:
        return built[0]
    # Glue the objects' texts: drop each inner "}" / "{" and join with commas.
    texts = [f"left({built[0]}::text, -1)"]
    texts += [f"substr(left({b}::text, -1), 2)" for b in built[1:-1]]
    texts.append(f"substr({built[-1]}::text, 2)")
    return "(" + " || ',' || ".join(texts) + ")::json"


def value_json(kind: FieldKind, sql: str) -> str:
    """A column value as its GraphQL wire form: decimals become exact strings."""
    return f"({sql})::text" if kind in _DECIMAL_KINDS else sql


def sealed_json(sealed: tuple[str, str], alias: str, column: str) -> str:
    """A sensitive column as ``<marker><entity>|<field>|<record id>|<base64>`` (NULL stays
    NULL): the executor finds the markers in the JSON text and splices the opened values in."""
    entity, name = sealed
    if not _SEALED_ENTITY.fullmatch(entity) or not _KEY.fullmatch(name):
        raise ValueError(f"not a sealed field: {entity!r}, {name!r}")
    prefix = f"{SEALED_MARKER}{entity}|{name}|"
    return (
        f"('{prefix}' || {col(alias, 'id')}::text || '|' || "
        f"translate(encode({col(alias, column)}, 'base64'), E'\\n', ''))"
    )


# -- one record ----------------------------------------------------------------------------------


def object_json(selection: Sequence[plan.Node], alias: str, c: Compiler) -> str:
    return json_object([(node.key, _node(node, alias, c)) for node in selection])


def _node(node: plan.Node, alias: str, c: Compiler) -> str:
    if isinstance(node, plan.Constant):
        return _constant(node)
    if isinstance(node, plan.Column):
        if node.sealed is not None:
            return sealed_json(node.sealed, alias, node.column)
        return value_json(node.kind, col(alias, node.column))
    if isinstance(node, plan.Computed):
        return f"COALESCE({c.expr(node.expr, alias)}, false)"
    if isinstance(node, plan.File):
        return _file(node, alias)
    if isinstance(node, plan.ToOne):
        r = c.alias()
        rule = f" AND {c.expr(node.where, r)}" if node.where is not None else ""
        found = (
            f"SELECT {object_json(node.selection, r, c)} AS j FROM {c.table(node.target.table)} "
            f"AS {quote_ident(r)} WHERE {col(r, 'id')} = {col(alias, node.column)}{rule}"
        )
        joins = c.laterals.get(alias)
        if joins is None:
            return f"({found})"
        # At most one row (by id): the join adds no rows, and PostgreSQL can hash it.
        joined = c.alias()
        joins.append(f"LEFT JOIN LATERAL ({found}) AS {quote_ident(joined)} ON true")
        return f"{quote_ident(joined)}.j"
    if isinstance(node, plan.Guarded):
        return _guarded(node, alias, c)
    return connection_json(node, alias, c)


def _guarded(node: plan.Guarded, alias: str, c: Compiler) -> str:
    """``CASE WHEN <clear> THEN <value> [WHEN <masked> THEN '***'] END``: a permission's
    field rule, decided by PostgreSQL row by row inside the statement."""
    branches = []
    if node.clear != FALSE:
        branches.append(
            f"WHEN COALESCE({c.expr(node.clear, alias)}, false) THEN {_node(node.node, alias, c)}"
        )
    if node.masked is not None and node.masked != FALSE and node.mask is not None:
        value = _node(node.node, alias, c)
        branches.append(
            f"WHEN COALESCE({c.expr(node.masked, alias)}, false) AND {value} IS NOT NULL "
            f"THEN {c.params.add(node.mask, 'text')}"
        )
    if not branches:
        return "NULL"
    return f"(CASE {' '.join(branches)} END)"


def _file(node: plan.File, alias: str) -> str:
    column = col(alias, node.column)
    pairs = [
        (p.key, _constant(p))
        if isinstance(p, plan.Constant)
        else (p.key, f"{column} -> {literal(p.name)}")
        for p in node.parts
    ]
    return f"CASE WHEN jsonb_typeof({column}) = 'object' THEN {json_object(pairs)} END"


# -- connections ---------------------------------------------------------------------------------


def _source_condition(source: plan.Source, alias: str, parent: str | None, c: Compiler) -> str:
    if isinstance(source, plan.AllRows):
        return ""
    if parent is None:
        raise ValueError("a nested connection needs the parent row's alias")
    if isinstance(source, plan.ReverseRows):
        return f"{col(alias, source.column)} = {col(parent, 'id')}"
    link = c.alias()
    rule = f" AND {c.expr(source.link_where, link)}" if source.link_where is not None else ""
    return (
        f"EXISTS (SELECT 1 FROM {c.table(source.link.table)} AS {quote_ident(link)} "
        f"WHERE {col(link, source.source_column)} = {col(parent, 'id')} "
        f"AND {col(link, source.target_column)} = {col(alias, 'id')}{rule})"
    )


def _cursor_params(cursor: plan.CursorArgument, page: plan.Page, c: Compiler) -> list[str]:
    """One ``$n`` per order key for the cursor's values (cast to the key's type)."""
    kinds = tuple(k.kind for k in page.order)
    return [
        c.params.add(CursorValue(cursor.source, i, kinds, cursor.path), SQL_TYPES[k.kind])
        for i, k in enumerate(page.order)
    ]


def _check_page(page: plan.Page, c: Compiler) -> None:
    """Validate the page arguments a connection does not use, as if it used them."""
    if isinstance(page.size, plan.Deferred):
        c.checks.append(page.size)
    kinds = tuple(k.kind for k in page.order)
    for cursor in (page.after, page.before):
        if cursor is not None:
            c.checks.append(CursorValue(cursor.source, 0, kinds, cursor.path))


def connection_json(conn: plan.Connection, parent: str | None, c: Compiler) -> str:
    """The JSON of a connection of records (correlated with ``parent`` when nested)."""
    page = conn.page
    table = c.table(conn.source.entity.table)
    r = c.alias()
    r_q = quote_ident(r)
    base = [s for s in (_source_condition(conn.source, r, parent, c),) if s]
    if page.where is not None:
        base.append(c.expr(page.where, r))
    base_sql = " AND ".join(base) or "true"

    edges = [p for p in conn.parts if isinstance(p, plan.Edges)]
    infos = [p for p in conn.parts if isinstance(p, plan.PageInfo)]
    info_names = {f.name for i in infos for f in i.parts if isinstance(f, plan.PageInfoField)}
    if not edges and not info_names:  # only totalCount / __typename: no page to read
        _check_page(page, c)
        return json_object([(part.key, _unpaged(part, table, r, base_sql)) for part in conn.parts])

    size = c.params.add(page.size, "integer")
    after = _cursor_params(page.after, page, c) if page.after is not None else None
    before = _cursor_params(page.before, page, c) if page.before is not None else None
    columns = _order_columns(page, r, c)
    range_sql = [base_sql]
    if after is not None:
        range_sql.append(keyset_sql(r, page.order, after, after=True, columns=columns))
    if before is not None:
        range_sql.append(keyset_sql(r, page.order, before, after=False, columns=columns))

    p = c.alias()
    p_q = quote_ident(p)
    order = order_sql(r, page.order, reverse=page.backward, columns=columns)
    output_order = "DESC" if page.backward else "ASC"
    in_page = f"FILTER (WHERE {p_q}.{_ROW} <= {size})"

    # The page holds the rows themselves; their JSON (relations, counts, nested connections)
    # is built after the LIMIT, from the page's alias, so only the rows sent are worked on.
    select = [f"row_number() OVER (ORDER BY {order}) AS {_ROW}", f"{r_q}.*"]
    if any(isinstance(e, plan.Cursor) for edge in edges for e in edge.parts) or (
        info_names & {"startCursor", "endCursor"}
    ):
        select.append(f"{cursor_sql(r, page.order, columns=columns)} AS {_CURSOR}")
    joins: list[str] = []
    c.laterals[p] = joins
    node_json: dict[int, str] = {}
    for edge in edges:
        for edge_part in edge.parts:
            if isinstance(edge_part, plan.EdgeNode):
                node_json[id(edge_part)] = object_json(edge_part.selection, p, c)
    del c.laterals[p]

    def edge_json(edge: plan.Edges) -> str:
        pairs = []
        for part in edge.parts:
            if isinstance(part, plan.Cursor):
                pairs.append((part.key, f"{p_q}.{_CURSOR}"))
            elif isinstance(part, plan.EdgeNode):
                pairs.append((part.key, node_json[id(part)]))
            else:
                pairs.append((part.key, _constant(part)))
        return (
            f"COALESCE(json_agg({json_object(pairs)} ORDER BY {p_q}.{_ROW} {output_order}) "
            f"{in_page}, '[]'::json)"
        )

    def exists_outside(cursor: list[str] | None, *, after_cursor: bool) -> str:
        if cursor is None:
            return "false"
        beyond = keyset_sql(r, page.order, cursor, after=after_cursor, columns=columns)
        return f"EXISTS (SELECT 1 FROM {table} AS {r_q} WHERE {base_sql} AND NOT {beyond})"

    more = f"(count(*) > {size})"
    info_sql = {
        "hasNextPage": exists_outside(before, after_cursor=False) if page.backward else more,
        "hasPreviousPage": more if page.backward else exists_outside(after, after_cursor=True),
        "startCursor": f"(array_agg({p_q}.{_CURSOR} ORDER BY {p_q}.{_ROW} {output_order}) "
        f"{in_page})[1]",
        "endCursor": f"(array_agg({p_q}.{_CURSOR} ORDER BY {p_q}.{_ROW} "
        f"{'ASC' if page.backward else 'DESC'}) {in_page})[1]",
    }

    pairs: list[tuple[str, str]] = []
    for part in conn.parts:
        if isinstance(part, plan.Edges):
            pairs.append((part.key, edge_json(part)))
        elif isinstance(part, plan.PageInfo):
            pairs.append(
                (
                    part.key,
                    json_object(
                        [
                            (f.key, _constant(f))
                            if isinstance(f, plan.Constant)
                            else (f.key, info_sql[f.name])
                            for f in part.parts
                        ]
                    ),
                )
            )
        else:
            pairs.append((part.key, _unpaged(part, table, r, base_sql)))
    page_sql = (
        f"SELECT {', '.join(select)} FROM {table} AS {r_q} WHERE {' AND '.join(range_sql)} "
        f"ORDER BY {order} LIMIT {size} + 1"
    )
    from_sql = " ".join([f"({page_sql}) AS {p_q}", *joins])
    return f"(SELECT {json_object(pairs)} FROM {from_sql})"


def _order_columns(page: plan.Page, alias: str, c: Compiler) -> list[str] | None:
    """The sort expressions of the page's keys when a permission guards one (None: the plain
    columns). Compiled once; every use refers to the same parameters."""
    if all(key.visible is None for key in page.order):
        return None
    columns = []
    for key in page.order:
        column = col(alias, key.column)
        if key.visible is not None:
            column = f"(CASE WHEN COALESCE({c.expr(key.visible, alias)}, false) THEN {column} END)"
        columns.append(column)
    return columns


def _constant(part: plan.Constant) -> str:
    return f"{literal(part.value)}::text"


def _unpaged(part: plan.ConnectionPart, table: str, alias: str, base_sql: str) -> str:
    """The parts of a connection that do not depend on the page."""
    if isinstance(part, plan.TotalCount):
        return f"(SELECT count(*) FROM {table} AS {quote_ident(alias)} WHERE {base_sql})"
    if isinstance(part, plan.Constant):
        return _constant(part)
    if isinstance(part, plan.PageInfo):  # only __typename selected in it
        return json_object(
            [(f.key, _constant(f)) for f in part.parts if isinstance(f, plan.Constant)]
        )
    raise TypeError(f"{part!r} needs the page")  # pragma: no cover - callers check
