"""A deliberately naive reference executor for the differential test.

The same tenant schema, run by graphql-core's ordinary ``execute`` with one resolver per field
role: every record is loaded by its own ``SELECT … WHERE id = $1``, lists load every row of the
table, filters run in Python (``rapport.expr.evaluate``), ordering and Relay slicing happen in
Python, aggregates too. Nothing here shares code with the compiler except the schema, the
expression parser/evaluator and the cursor *decoder* (cursors are opaque; the reference builds
its own and the test compares them decoded).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    execute,
    get_named_type,
    parse,
    validate,
)

from rapport.crypto.cipher import key_id_of
from rapport.crypto.fields import open_value
from rapport.crypto.keys import default_keyring
from rapport.db.database import Database
from rapport.errors import FieldError, RapportError, ValidationFailed
from rapport.expr import evaluate, parse_where
from rapport.expr.ast import And, Compare, Expr, Not, Or, Related
from rapport.expr.variables import variables_for
from rapport.graphql.executor import TenantApi
from rapport.graphql.scalars import format_datetime
from rapport.graphql.types.aggregates import groupable_fields
from rapport.graphql.types.ordering import sortable_fields
from rapport.graphql.types.roles import (
    ROLE,
    AggregatePart,
    AggregateRoot,
    AggregateValue,
    ColumnValue,
    ComputedValue,
    ConnectionPart,
    EdgePart,
    FilePart,
    FileValue,
    GroupKeyValue,
    ListRoot,
    ManyToManyConnection,
    PageInfoPart,
    ReverseConnection,
    SingleRoot,
    ToOne,
)
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind, Model, thaw_json
from rapport.naming import qualified, quote_ident
from rapport.principal import Principal
from rapport.sql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_cursor

__all__ = ["reference_execute"]

_JSON_KINDS = (FieldKind.JSON, FieldKind.FILE)


@dataclass
class Context:
    db: Database
    schema: str
    model: Model
    variables: dict[str, Any]
    tenant_id: str = ""  # whose data keys open sensitive values


@dataclass
class Record:
    entity: EntityDef
    row: dict[str, Any]  # by column


@dataclass
class Page:
    records: list[Record]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total: int


@dataclass
class Group:
    entity: EntityDef
    records: list[Record]
    key: dict[str, Any]  # column -> value (grouped columns only)


# -- loading -------------------------------------------------------------------------------------


async def _rows(ctx: Context, entity: EntityDef, where: str = "", *args: Any) -> list[Record]:
    sql = f"SELECT * FROM {qualified(ctx.schema, entity.table)} {where}"
    rows = [_decode(entity, dict(r)) for r in await ctx.db.fetch(sql, *args)]
    return [Record(entity, await _opened(ctx, entity, row)) for row in rows]


async def _opened(ctx: Context, entity: EntityDef, row: dict[str, Any]) -> dict[str, Any]:
    """Sensitive columns hold sealed bytes; the reference reads their plaintext."""
    for field in entity.fields:
        raw = row.get(field.column) if field.sensitive and field.column else None
        if raw is None or field.column is None:
            continue
        async with ctx.db.acquire() as conn:
            keys = await default_keyring().for_read(conn, ctx.tenant_id, [key_id_of(raw)])
        value = json.loads(open_value(keys, raw, str(row["id"]), field.name))
        decimal = field.kind in (FieldKind.DECIMAL, FieldKind.MONEY)
        row[field.column] = Decimal(value) if decimal else value
    return row


async def _by_id(ctx: Context, entity: EntityDef, id: Any) -> Record | None:
    found = await _rows(ctx, entity, f"WHERE {quote_ident('id')} = $1", id)
    return found[0] if found else None


def _decode(entity: EntityDef, row: dict[str, Any]) -> dict[str, Any]:
    for field in entity.fields:
        if field.kind in _JSON_KINDS and field.column and isinstance(row.get(field.column), str):
            row[field.column] = json.loads(row[field.column])
    return row


async def _evaluation_record(ctx: Context, record: Record, expr: Expr) -> dict[str, Any]:
    """The record as ``evaluate`` reads it, with the relations ``expr`` needs loaded."""
    entity, row = record.entity, record.row
    data: dict[str, Any] = {s.name: row[s.column] for s in SYSTEM_FIELDS}
    for field in entity.fields:
        if field.column is not None:
            data[field.graphql_input_name if field.kind is FieldKind.RELATION else field.name] = (
                row[field.column]
            )
    for related in _related_nodes(expr):
        if related.field in data and related.relation != "many_to_one":
            continue
        target = ctx.model.entity(related.target)
        items: list[Record]
        if related.relation == "many_to_one":
            column = entity.field(related.field).column
            assert column is not None
            one = await _by_id(ctx, target, row[column]) if row[column] is not None else None
            data[related.field] = (
                None if one is None else await _evaluation_record(ctx, one, related.inner)
            )
            continue
        items = await _related_records(ctx, entity, related.field, row["id"])
        data[related.field] = [await _evaluation_record(ctx, i, related.inner) for i in items]
    return data


def _related_nodes(expr: Expr) -> list[Related]:
    if isinstance(expr, And | Or):
        return [r for item in expr.items for r in _related_nodes(item)]
    if isinstance(expr, Not):
        return _related_nodes(expr.item)
    if isinstance(expr, Compare):
        return []
    return [expr]


async def _related_records(
    ctx: Context, entity: EntityDef, field_name: str, parent_id: Any
) -> list[Record]:
    for reverse in entity.reverse_relations:
        if reverse.name == field_name:
            source = ctx.model.entity(reverse.source)
            column = source.field(reverse.source_field).column
            return await _rows(ctx, source, f"WHERE {quote_ident(column or '')} = $1", parent_id)
    m2m = entity.field(field_name).many_to_many
    assert m2m is not None
    link = ctx.model.entity(m2m.through)
    source_column = link.field(m2m.source_field).column or ""
    target_column = link.field(m2m.target_field).column or ""
    links = await _rows(ctx, link, f"WHERE {quote_ident(source_column)} = $1", parent_id)
    target = ctx.model.entity(m2m.target)
    result: list[Record] = []
    seen: set[Any] = set()
    for link_record in links:
        target_id = link_record.row[target_column]
        if target_id in seen:
            continue
        seen.add(target_id)
        found = await _by_id(ctx, target, target_id)
        if found is not None:
            result.append(found)
    return result


async def _matching(
    ctx: Context,
    entity: EntityDef,
    records: list[Record],
    where: Mapping[str, Any] | None,
    path: tuple[Any, ...],
) -> list[Record]:
    if not where:
        return records
    expr = parse_where(where, entity, ctx.model, path=(*path, "where"))
    return [
        r for r in records if evaluate(expr, await _evaluation_record(ctx, r, expr), ctx.variables)
    ]


# -- ordering and pages --------------------------------------------------------------------------


def _order(
    entity: EntityDef, order_by: Sequence[Mapping[str, Any]] | None
) -> list[tuple[str, FieldKind, bool]]:
    sortable = {name: (column, kind) for name, column, kind, _ in sortable_fields(entity)}
    keys: list[tuple[str, FieldKind, bool]] = []
    seen: set[str] = set()
    for element in order_by or ():
        for name, direction in element.items():
            if direction is None or name in seen:
                continue
            seen.add(name)
            column, kind = sortable[name]
            keys.append((column, kind, direction == "DESC"))
            if name == "id":
                return keys
    if "id" not in seen:
        keys.append(("id", FieldKind.UUID, False))
    return keys


async def _ranks(ctx: Context, values: set[str]) -> dict[str, int]:
    """Each text's rank in the database's collation (the order ``orderBy`` sorts text in)."""
    rows = await ctx.db.fetch("SELECT s FROM unnest($1::text[]) AS s ORDER BY s", list(values))
    ranks: dict[str, int] = {}
    for row in rows:
        ranks.setdefault(row["s"], len(ranks))
    return ranks


def _ranked(position: tuple[Any, ...], ranks: Mapping[str, int]) -> tuple[Any, ...]:
    return tuple(ranks[v] if isinstance(v, str) else v for v in position)


def _compare_values(a: Any, b: Any, descending: bool) -> int:
    # ASC: NULL is larger than every value (NULLS LAST); DESC is the exact reverse.
    if a is None and b is None:
        result = 0
    elif a is None:
        result = 1
    elif b is None:
        result = -1
    else:
        result = (a > b) - (a < b)
    return -result if descending else result


def _position(record: Record, keys: list[tuple[str, FieldKind, bool]]) -> tuple[Any, ...]:
    return tuple(record.row[column] for column, _kind, _desc in keys)


def _compare_positions(
    a: tuple[Any, ...], b: tuple[Any, ...], keys: list[tuple[str, FieldKind, bool]]
) -> int:
    for (_column, _kind, descending), x, y in zip(keys, a, b, strict=True):
        result = _compare_values(x, y, descending)
        if result:
            return result
    return 0


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return json.dumps(format_datetime(value))
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    return json.dumps(str(value), ensure_ascii=False)


def _cursor(position: tuple[Any, ...]) -> str:
    text = "[" + ", ".join(_literal(v) for v in position) + "]"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _check_size(value: Any, path: tuple[Any, ...]) -> int:
    if not 0 <= value <= MAX_PAGE_SIZE:
        raise ValidationFailed(
            [
                FieldError(
                    path, f"must be between 0 and {MAX_PAGE_SIZE}, got {value}", "OUT_OF_RANGE"
                )
            ],
            hint=f"Ask for at most {MAX_PAGE_SIZE} records per page and follow "
            "pageInfo.endCursor for more.",
        )
    return int(value)


async def _page(
    ctx: Context,
    records: list[Record],
    entity: EntityDef,
    args: Mapping[str, Any],
    path: tuple[Any, ...],
) -> Page:
    first, last = args.get("first"), args.get("last")
    if first is not None and last is not None:
        raise ValidationFailed(
            [FieldError((*path, "last"), "cannot be combined with first", "FIRST_AND_LAST")],
            hint="Page forward with first/after or backward with last/before.",
        )
    if last is not None:
        last = _check_size(last, (*path, "last"))
    elif first is not None:
        first = _check_size(first, (*path, "first"))
    else:
        first = DEFAULT_PAGE_SIZE
    keys = _order(entity, args.get("orderBy"))
    kinds = [kind for _c, kind, _d in keys]
    after = before = None
    if args.get("after") is not None:
        after = decode_cursor(args["after"], kinds, (*path, "after"))
    if args.get("before") is not None:
        before = decode_cursor(args["before"], kinds, (*path, "before"))
    matching = await _matching(ctx, entity, records, args.get("where"), path)
    texts = {v for r in matching for v in _position(r, keys) if isinstance(v, str)}
    texts |= {v for c in (after, before) if c for v in c if isinstance(v, str)}
    ranks = await _ranks(ctx, texts)

    def position(record: Record) -> tuple[Any, ...]:
        return _ranked(_position(record, keys), ranks)

    ordered = sorted(
        matching,
        key=functools.cmp_to_key(lambda a, b: _compare_positions(position(a), position(b), keys)),
    )
    window = ordered
    if after is not None:
        after = _ranked(after, ranks)
        window = [r for r in window if _compare_positions(position(r), after, keys) > 0]
    if before is not None:
        before = _ranked(before, ranks)
        window = [r for r in window if _compare_positions(position(r), before, keys) < 0]
    if last is not None:
        page = window[len(window) - last :] if last else []
        has_previous = len(window) > last
        has_next = before is not None and any(
            _compare_positions(position(r), before, keys) >= 0 for r in ordered
        )
    else:
        assert first is not None
        page = window[:first]
        has_next = len(window) > first
        has_previous = after is not None and any(
            _compare_positions(position(r), after, keys) <= 0 for r in ordered
        )
    return Page(
        records=page,
        cursors=[_cursor(_position(r, keys)) for r in page],
        has_next=has_next,
        has_previous=has_previous,
        total=len(matching),
    )


# -- aggregates ----------------------------------------------------------------------------------


def _aggregate(function: str, values: list[Any], kind: FieldKind) -> Any:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if function == "sum":
        return sum(present[1:], present[0])
    if function == "avg":
        if kind is FieldKind.FLOAT:
            return sum(present) / len(present)
        return float(sum(Decimal(v) for v in present) / len(present))
    return min(present) if function == "min" else max(present)


async def _groups(
    ctx: Context, entity: EntityDef, records: list[Record], columns: list[str]
) -> list[Group]:
    kinds = {c: k for _n, c, k in groupable_fields(entity)}
    buckets: dict[tuple[Any, ...], list[Record]] = {}
    for record in records:
        buckets.setdefault(tuple(record.row[c] for c in columns), []).append(record)
    keys = [(c, kinds[c], False) for c in columns]
    ranks = await _ranks(ctx, {v for k in buckets for v in k if isinstance(v, str)})
    ordered = sorted(
        buckets,
        key=functools.cmp_to_key(
            lambda a, b: _compare_positions(_ranked(a, ranks), _ranked(b, ranks), keys)
        ),
    )
    if not columns:
        ordered = [()]
        buckets.setdefault((), [])
    return [Group(entity, buckets[k], dict(zip(columns, k, strict=True))) for k in ordered]


# -- the resolver --------------------------------------------------------------------------------


def _public(value: Any, kind: FieldKind) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def _resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    ctx: Context = info.context
    field = info.parent_type.fields[info.field_name]
    role = field.extensions.get(ROLE) if field.extensions else None
    if role is None:
        if isinstance(source, Mapping):
            return source.get(info.field_name)
        return getattr(source, info.field_name, None)
    path = tuple(k for k in info.path.as_list() if isinstance(k, str))[1:]
    if isinstance(role, SingleRoot):
        entity = ctx.model.entity(role.entity)
        try:
            record_id = uuid.UUID(args["id"])
        except ValueError:
            raise ValidationFailed(
                [FieldError(("id",), f"is not a record id (a UUID): {args['id']!r}", "INVALID_ID")],
                hint="Pass the `id` of a record as returned by the API, e.g. "
                "123e4567-e89b-12d3-a456-426614174000.",
            ) from None
        return await _by_id(ctx, entity, record_id)
    if isinstance(role, ListRoot):
        entity = ctx.model.entity(role.entity)
        return await _page(ctx, await _rows(ctx, entity), entity, args, ())
    if isinstance(role, AggregateRoot):
        entity = ctx.model.entity(role.entity)
        records = await _matching(ctx, entity, await _rows(ctx, entity), args.get("where"), ())
        groupable = {n: c for n, c, _k in groupable_fields(entity)}
        columns = list(dict.fromkeys(groupable[n] for n in args.get("groupBy") or ()))
        return {"records": records, "entity": entity, "columns": columns}
    if isinstance(role, ColumnValue):
        return _public(source.row[role.column], role.kind)
    if isinstance(role, FileValue):
        value = source.row[role.column]
        return value if isinstance(value, Mapping) else None
    if isinstance(role, FilePart):
        return source.get(role.name)
    if isinstance(role, ComputedValue):
        entity = ctx.model.entity(role.entity)
        expr = parse_where(thaw_json(entity.field(role.field).computed), entity, ctx.model)
        return evaluate(expr, await _evaluation_record(ctx, source, expr), ctx.variables)
    if isinstance(role, ToOne):
        relation = source.entity.field(role.field)
        assert relation.relation is not None and relation.column is not None
        target_id = source.row[relation.column]
        if target_id is None:
            return None
        return await _by_id(ctx, ctx.model.entity(relation.relation.target), target_id)
    if isinstance(role, ReverseConnection | ManyToManyConnection):
        name = info.field_name
        records = await _related_records(ctx, source.entity, name, source.row["id"])
        target = get_named_type(field.type)
        entity = next(e for e in ctx.model if f"{e.type_name}Connection" == target.name)
        return await _page(ctx, records, entity, args, path)
    if isinstance(role, ConnectionPart):
        if role.name == "totalCount":
            return source.total
        if role.name == "pageInfo":
            return source
        return list(zip(source.cursors, source.records, strict=True))
    if isinstance(role, EdgePart):
        return source[0] if role.name == "cursor" else source[1]
    if isinstance(role, PageInfoPart):
        return {
            "hasNextPage": source.has_next,
            "hasPreviousPage": source.has_previous,
            "startCursor": source.cursors[0] if source.cursors else None,
            "endCursor": source.cursors[-1] if source.cursors else None,
        }[role.name]
    if isinstance(role, AggregatePart):
        if isinstance(source, Group):
            records, entity = source.records, source.entity
        else:
            records, entity = source["records"], source["entity"]
        if role.name == "count":
            return len(records)
        if role.name == "groups":
            return await _groups(ctx, entity, records, source["columns"])
        if role.name == "key":
            return source.key
        return {"function": role.name, "records": records}
    if isinstance(role, AggregateValue):
        values = [r.row[role.column] for r in source["records"]]
        return _aggregate(source["function"], values, role.kind)
    if isinstance(role, GroupKeyValue):
        return _public(source.get(role.column), role.kind)
    raise TypeError(f"no reference resolver for {role!r}")


def _formatted(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, RapportError):
        error = GraphQLError(
            original.message, error.nodes, path=error.path, extensions=original.extensions()
        )
    return dict(error.formatted)


async def reference_execute(
    api: TenantApi,
    db: Database,
    query: str,
    variables: Mapping[str, Any] | None,
    principal: Principal,
) -> dict[str, Any]:
    """``{"data": …, "errors": […]}`` as the naive path answers ``query``."""
    document = parse(query)
    problems = validate(api.schema, document)
    if problems:
        return {"errors": [dict(p.formatted) for p in problems]}
    ctx = Context(
        db=db,
        schema=api.tenant.schema,
        model=api.model,
        variables=variables_for(principal, now=dt.datetime.now(dt.UTC)),
        tenant_id=api.tenant.id,
    )
    result = execute(
        api.schema,
        document,
        context_value=ctx,
        variable_values=dict(variables or {}),
        field_resolver=_resolve,
    )
    if not isinstance(result, ExecutionResult):
        result = await result
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_formatted(e) for e in result.errors]
    # Through JSON, as a client sees it.
    decoded: dict[str, Any] = json.loads(json.dumps(body, default=str, ensure_ascii=False))
    return decoded
