"""The query compiler below GraphQL: plans → one statement, keyset predicates, cursors,
wide JSON objects and deferred parameters — against a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from typing import Any

import pytest

from rapport.db.database import Database
from rapport.errors import ValidationFailed
from rapport.expr import parse_where
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.ir import EntityDef, FieldKind, Model
from rapport.naming import qualified, quote_ident
from rapport.sql import plan
from rapport.sql.json_select import json_object
from rapport.sql.pagination import (
    SQL_TYPES,
    CursorValue,
    PageSize,
    cursor_sql,
    decode_cursor,
    encode_cursor,
    keyset_sql,
    order_sql,
)
from rapport.sql.params import RecordId, RecordIds, VariableValue
from rapport.sql.query import compile_root, expression_variables
from tests.sql.irfactory import entity, field, model, relation

SCHEMA = "tenant_querytest"

ITEM = entity(
    "shop/item",
    field("name", FieldKind.STRING),
    field("rank", FieldKind.INTEGER),
    field("price", FieldKind.DECIMAL),
    field("weight", FieldKind.FLOAT),
    field("day", FieldKind.DATE),
    field("at", FieldKind.DATETIME),
    field("ok", FieldKind.BOOLEAN),
    field("ref", FieldKind.UUID),
    relation("owner", "shop/owner"),
)
OWNER = entity("shop/owner", field("name", FieldKind.STRING))
MODEL: Model = model(ITEM, OWNER)


def _item() -> EntityDef:
    return MODEL.entity("shop/item")


NAMES = ["b", "a", None, "a", "B", "é", "b"]
RANKS = [2, None, 1, 2, None, 1, 3]
ROWS: list[dict[str, Any]] = [
    {
        "id": uuid.UUID(int=i + 1),
        "name": NAMES[i],
        "rank": RANKS[i],
        "price": [Decimal("1.10"), None, Decimal("12345678901234567890.123456789"), Decimal("1.1")][
            i % 4
        ],
        "weight": [0.1, None, 1e20, -2.5][i % 4],
        "day": [dt.date(2026, 1, 2), None, dt.date(1999, 12, 31)][i % 3],
        "at": [dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC), None][i % 2],
        "ok": [True, False, None][i % 3],
        "ref": [uuid.UUID(int=99), None][i % 2],
    }
    for i in range(len(NAMES))
]


@pytest.fixture(scope="module")
async def db(database: Database) -> Database:
    await database.execute(f"CREATE SCHEMA {quote_ident(SCHEMA)}")
    for statement in create_model_ddl(SCHEMA, MODEL):
        await database.execute(statement)
    table = qualified(SCHEMA, _item().table)
    for row in ROWS:
        columns = ", ".join(quote_ident(c) for c in row)
        values = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await database.execute(f"INSERT INTO {table} ({columns}) VALUES ({values})", *row.values())
    return database


def _key(column: str, kind: FieldKind, descending: bool, nullable: bool = True) -> plan.OrderKey:
    return plan.OrderKey(column, kind, descending=descending, nullable=nullable)


ID_KEY = _key("id", FieldKind.UUID, False, nullable=False)


async def _ordered_ids(db: Database, keys: list[plan.OrderKey]) -> list[uuid.UUID]:
    sql = (
        f"SELECT r.id FROM {qualified(SCHEMA, _item().table)} AS r ORDER BY {order_sql('r', keys)}"
    )
    return [row["id"] for row in await db.fetch(sql)]


@pytest.mark.parametrize(
    "columns",
    [
        [("name", FieldKind.STRING)],
        [("rank", FieldKind.INTEGER), ("name", FieldKind.STRING)],
        [("price", FieldKind.DECIMAL)],
        [("weight", FieldKind.FLOAT), ("ok", FieldKind.BOOLEAN)],
        [("day", FieldKind.DATE), ("at", FieldKind.DATETIME)],
        [("ref", FieldKind.UUID)],
    ],
)
async def test_keyset_resumes_exactly_after_and_before_every_row(
    db: Database, columns: list[tuple[str, FieldKind]]
) -> None:
    table = qualified(SCHEMA, _item().table)
    for directions in itertools.product((False, True), repeat=len(columns)):
        keys = [_key(c, k, d) for (c, k), d in zip(columns, directions, strict=True)] + [ID_KEY]
        ordered = await _ordered_ids(db, keys)
        kinds = tuple(k.kind for k in keys)
        cursors = await db.fetch(f"SELECT r.id, {cursor_sql('r', keys)} AS c FROM {table} AS r")
        for row in cursors:
            values = decode_cursor(row["c"], kinds, ("after",))
            placeholders = [f"${i + 1}::{SQL_TYPES[k.kind]}" for i, k in enumerate(keys)]
            position = ordered.index(row["id"])
            for after in (True, False):
                predicate = keyset_sql("r", keys, placeholders, after=after)
                sql = (
                    f"SELECT r.id FROM {table} AS r WHERE {predicate} "
                    f"ORDER BY {order_sql('r', keys)}"
                )
                found = [r["id"] for r in await db.fetch(sql, *values)]
                expected = ordered[position + 1 :] if after else ordered[:position]
                assert found == expected, (keys, row["id"], after)


async def test_cursor_values_round_trip_exactly(db: Database) -> None:
    keys = [
        _key("price", FieldKind.DECIMAL, False),
        _key("at", FieldKind.DATETIME, False),
        _key("weight", FieldKind.FLOAT, False),
        _key("day", FieldKind.DATE, False),
        _key("name", FieldKind.STRING, False),
        ID_KEY,
    ]
    table = qualified(SCHEMA, _item().table)
    row = await db.fetchrow(
        f"SELECT {cursor_sql('r', keys)} AS c FROM {table} AS r WHERE r.id = $1", uuid.UUID(int=3)
    )
    assert row is not None
    cursor = row["c"]
    assert "=" not in cursor and "\n" not in cursor and "+" not in cursor and "/" not in cursor
    values = decode_cursor(cursor, [k.kind for k in keys], ("after",))
    assert values == (
        Decimal("12345678901234567890.123456789"),
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
        1e20,
        dt.date(1999, 12, 31),
        None,
        uuid.UUID(int=3),
    )


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        encode_cursor("not json"),
        encode_cursor('{"a": 1}'),
        encode_cursor("[1]"),
        encode_cursor('["x", "00000000-0000-0000-0000-000000000001"]'),
        encode_cursor('[1, "not-a-uuid"]'),
        encode_cursor("[true, null]"),
        12,
    ],
)
def test_malformed_cursors_are_validation_errors(cursor: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(cursor, [FieldKind.INTEGER, FieldKind.UUID], ("edges", "node", "after"))
    assert raised.value.errors[0].path == ("edges", "node", "after")
    assert raised.value.errors[0].code == "INVALID_CURSOR"


def test_deferred_parameters_validate_per_request() -> None:
    values = plan.RequestValues({"n": 5, "big": 1001, "id": "nope", "ids": [str(uuid.UUID(int=1))]})
    assert PageSize(VariableValue("n"), ("first",)).resolve(values) == 5
    assert PageSize(0, ("first",)).resolve(values) == 0
    with pytest.raises(ValidationFailed) as raised:
        PageSize(VariableValue("big"), ("last",)).resolve(values)
    assert raised.value.errors[0].path == ("last",)
    with pytest.raises(ValidationFailed):
        RecordId(VariableValue("id"), ("id",)).resolve(values)
    assert RecordIds(VariableValue("ids"), ("ids",)).resolve(values) == [uuid.UUID(int=1)]
    # a cursor is decoded once per request, whatever the number of its parameters
    cursor = encode_cursor('[7, "00000000-0000-0000-0000-000000000002"]')
    kinds = (FieldKind.INTEGER, FieldKind.UUID)
    first = CursorValue(cursor, 0, kinds, ("after",))
    second = CursorValue(cursor, 1, kinds, ("after",))
    assert (first.resolve(values), second.resolve(values)) == (7, uuid.UUID(int=2))
    assert len(values.memo) == 1


async def test_json_object_past_one_hundred_arguments(db: Database) -> None:
    pairs = [(f"k{i}", f"{i}") for i in range(123)]
    text = await db.fetchval(f"SELECT {json_object(pairs)}::text")
    import json

    decoded = json.loads(text)
    assert list(decoded) == [f"k{i}" for i in range(123)]
    assert decoded["k122"] == 122
    assert await db.fetchval(f"SELECT {json_object([])}::text") == "{}"


def _page(**overrides: Any) -> plan.Page:
    values: dict[str, Any] = {
        "where": None,
        "order": (ID_KEY,),
        "size": 100,
        "backward": False,
        "after": None,
        "before": None,
    }
    values.update(overrides)
    return plan.Page(**values)


async def test_values_never_reach_the_sql_text(db: Database) -> None:
    # given a filter with a hostile string and a variable page size
    item = _item()
    hostile = "x'); DROP TABLE items; --"
    where = parse_where({"name": {"_eq": hostile}}, item, MODEL)
    connection = plan.Connection(
        "items",
        plan.AllRows(item),
        _page(where=where, size=PageSize(VariableValue("n"), ("first",))),
        (
            plan.TotalCount("total"),
            plan.Edges(
                "edges", (plan.EdgeNode("node", (plan.Column("name", "name", FieldKind.STRING),)),)
            ),
        ),
    )
    # when
    statement = compile_root(plan.ListQuery(connection), schema=SCHEMA, model=MODEL, variables={})
    # then
    assert hostile not in statement.sql
    assert hostile in statement.params
    arguments = statement.arguments(plan.RequestValues({"n": 3}))
    text = await db.fetchval(statement.sql, *arguments)
    assert text is not None
    assert '"total" : 0' in text


async def test_single_and_records_by_id(db: Database) -> None:
    item = _item()
    selection: tuple[plan.Node, ...] = (
        plan.Column("name", "name", FieldKind.STRING),
        plan.Column("price", "price", FieldKind.DECIMAL),
        plan.Constant("__typename", "Item"),
    )
    single = compile_root(
        plan.SingleQuery(item, RecordId(VariableValue("id"), ("id",)), selection),
        schema=SCHEMA,
        model=MODEL,
        variables={},
    )
    import json

    found = await db.fetchval(
        single.sql, *single.arguments(plan.RequestValues({"id": str(uuid.UUID(int=3))}))
    )
    assert json.loads(found) == {
        "name": None,
        "price": "12345678901234567890.123456789",
        "__typename": "Item",
    }
    missing = await db.fetchval(
        single.sql, *single.arguments(plan.RequestValues({"id": str(uuid.UUID(int=77))}))
    )
    assert missing is None
    many = compile_root(
        plan.RecordsById(item, RecordIds(VariableValue("ids"), ("ids",)), selection[:1]),
        schema=SCHEMA,
        model=MODEL,
        variables={},
    )
    ids = [str(uuid.UUID(int=n)) for n in (2, 1, 77, 4)]
    text = await db.fetchval(many.sql, *many.arguments(plan.RequestValues({"ids": ids})))
    assert json.loads(text) == [{"name": "a"}, {"name": "b"}, {"name": "a"}]


def test_expression_variables_are_detected() -> None:
    item = _item()
    where = parse_where({"name": {"_eq": "$user.id"}}, item, MODEL)
    connection = plan.Connection(
        "items", plan.AllRows(item), _page(where=where), (plan.TotalCount("t"),)
    )
    assert expression_variables(plan.ListQuery(connection)) == frozenset({"user.id"})
    plain = plan.Connection("items", plan.AllRows(item), _page(), (plan.TotalCount("t"),))
    assert expression_variables(plan.ListQuery(plain)) == frozenset()


async def test_aggregate_groups_in_one_statement(db: Database) -> None:
    item = _item()
    aggregate = plan.Aggregate(
        entity=item,
        where=None,
        group_by=("ok",),
        parts=(
            plan.Count("count"),
            plan.AggregateFunctions(
                "sum", "sum", (plan.AggregateValue("price", "price", FieldKind.DECIMAL),)
            ),
            plan.Groups(
                "groups",
                (
                    plan.GroupKey(
                        "key",
                        (
                            plan.GroupKeyField("ok", "ok", FieldKind.BOOLEAN),
                            plan.GroupKeyField("name", "name", FieldKind.STRING),
                        ),
                    ),
                    plan.Count("n"),
                ),
            ),
        ),
    )
    statement = compile_root(
        plan.AggregateQuery(aggregate), schema=SCHEMA, model=MODEL, variables={}
    )
    import json

    result = json.loads(
        await db.fetchval(statement.sql, *statement.arguments(plan.RequestValues({})))
    )
    assert result["count"] == 7
    assert result["sum"] == {"price": "24691357802469135783.546913578"}
    assert result["groups"] == [
        {"key": {"ok": False, "name": None}, "n": 2},
        {"key": {"ok": True, "name": None}, "n": 3},
        {"key": {"ok": None, "name": None}, "n": 2},
    ]
