"""Aggregates in one statement: ``count``, ``sum/avg/min/max { field }`` and ``groups``.

The top-level functions aggregate the filtered rows without GROUP BY (so there is always one
row, even for no records); ``groups`` is a subquery over the same rows grouped by the
``groupBy`` columns, ordered by them (nulls last, text in the database's collation, as ``orderBy`` sorts).
"""

from __future__ import annotations

from rapport.naming import quote_ident
from rapport.sql import plan
from rapport.sql.json_select import Compiler, col, json_object, literal, value_json

__all__ = ["aggregate_sql"]


def _function(function: str, value: plan.AggregateValue, alias: str) -> str:
    column = col(alias, value.column)
    if function == "avg":
        return f"avg({column})::double precision"
    return value_json(value.kind, f"{function}({column})")


def _parts(
    parts: tuple[
        plan.Count | plan.AggregateFunctions | plan.GroupKey | plan.Groups | plan.Constant, ...
    ],
    alias: str,
    grouped: frozenset[str],
    agg: plan.Aggregate,
    where_sql: str,
    c: Compiler,
) -> str:
    pairs: list[tuple[str, str]] = []
    for part in parts:
        if isinstance(part, plan.Count):
            pairs.append((part.key, "count(*)"))
        elif isinstance(part, plan.Constant):
            pairs.append((part.key, f"{literal(part.value)}::text"))
        elif isinstance(part, plan.AggregateFunctions):
            pairs.append(
                (
                    part.key,
                    json_object(
                        [
                            (v.key, f"{literal(v.value)}::text")
                            if isinstance(v, plan.Constant)
                            else (v.key, _function(part.function, v, alias))
                            for v in part.parts
                        ]
                    ),
                )
            )
        elif isinstance(part, plan.GroupKey):
            pairs.append((part.key, json_object([_key(f, alias, grouped) for f in part.parts])))
        else:
            pairs.append((part.key, _groups(part, agg, alias, where_sql, c)))
    return json_object(pairs)


def _key(
    field: plan.GroupKeyField | plan.Constant, alias: str, grouped: frozenset[str]
) -> tuple[str, str]:
    if isinstance(field, plan.Constant):
        return field.key, f"{literal(field.value)}::text"
    if field.column not in grouped:
        return field.key, "NULL"
    return field.key, value_json(field.kind, col(alias, field.column))


def _groups(groups: plan.Groups, agg: plan.Aggregate, r: str, where_sql: str, c: Compiler) -> str:
    # The subquery names its rows with the outer alias `r` (shadowing it), so the filter
    # compiled once for the outer query reads the same here.
    g = quote_ident(c.alias())
    body = _parts(groups.parts, r, frozenset(agg.group_by), agg, where_sql, c)
    select = [f"{body} AS j"]
    order = []
    for i, column in enumerate(agg.group_by):
        select.append(f"{col(r, column)} AS k{i}")
        order.append(f"{g}.k{i} ASC NULLS LAST")
    group_by = (
        f" GROUP BY {', '.join(col(r, column) for column in agg.group_by)}" if agg.group_by else ""
    )
    order_by = f" ORDER BY {', '.join(order)}" if order else ""
    return (
        f"(SELECT COALESCE(json_agg({g}.j{order_by}), '[]'::json) FROM "
        f"(SELECT {', '.join(select)} FROM {c.table(agg.entity.table)} AS {quote_ident(r)} "
        f"WHERE {where_sql}{group_by}) AS {g})"
    )


def aggregate_sql(agg: plan.Aggregate, c: Compiler) -> str:
    """``SELECT <aggregate JSON>::text FROM <table> WHERE <where>``."""
    r = c.alias()
    where_sql = c.expr(agg.where, r) if agg.where is not None else "true"
    body = _parts(agg.parts, r, frozenset(), agg, where_sql, c)
    return (
        f"SELECT {body}::text FROM {c.table(agg.entity.table)} AS {quote_ident(r)} "
        f"WHERE {where_sql}"
    )
