from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rapport.db.database import Database
from rapport.errors import MetadataInvalid
from rapport.metadata import ddl
from rapport.metadata.ir import OnDelete
from rapport.naming import PG_MAX_IDENTIFIER, qualified
from tests.sql.irfactory import entity, field, model, relation

TRICKY = [
    "plain",
    "O'Reilly",
    "back\\slash",
    "both ' and \\ and ''",
    "line\nbreak\ttab",
    "$$ dollar $$",
    "-- not a comment; DROP TABLE x;",
    "中文 ✓",
    "",
]


@pytest.fixture
async def schema(database: Database) -> AsyncIterator[str]:
    name = f"ddl_{secrets.token_hex(4)}"
    await database.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        await database.execute(f'DROP SCHEMA "{name}" CASCADE')


# --- literals and names -------------------------------------------------------------------------


def test_quote_literal_doubles_quotes_and_escapes_backslashes() -> None:
    assert ddl.quote_literal("abc") == "'abc'"
    assert ddl.quote_literal("O'Reilly") == "'O''Reilly'"
    assert ddl.quote_literal("a\\b") == "E'a\\\\b'"
    with pytest.raises(ValueError):
        ddl.quote_literal("nul\x00")


@pytest.mark.parametrize("conforming", ["on", "off"])
async def test_quote_literal_round_trips_through_postgres(
    database: Database, conforming: str
) -> None:
    # given a session with either setting of standard_conforming_strings
    async with database.acquire() as conn:
        await conn.execute(f"SET standard_conforming_strings = {conforming}")
        try:
            for text in TRICKY:
                # when the literal is read back by PostgreSQL
                value = await conn.fetchval(f"SELECT {ddl.quote_literal(text)}::text")
                # then it is exactly the original text
                assert value == text
        finally:
            await conn.execute("RESET standard_conforming_strings")


def test_object_name_is_short_deterministic_and_unique() -> None:
    assert ddl.object_name("training_course", "code", "key") == "training_course_code_key"
    long_a = ddl.object_name("t" * 40, "column_number_one" * 2, "idx")
    long_b = ddl.object_name("t" * 40, "column_number_two" * 2, "idx")
    assert len(long_a.encode()) <= PG_MAX_IDENTIFIER
    assert len(long_b.encode()) <= PG_MAX_IDENTIFIER
    assert long_a != long_b
    assert long_a == ddl.object_name("t" * 40, "column_number_one" * 2, "idx")


@pytest.mark.parametrize(
    ("kind", "sql_type"),
    [
        ("string", "text"),
        ("text", "text"),
        ("email", "text"),
        ("phone", "text"),
        ("url", "text"),
        ("enum", "text"),
        ("integer", "integer"),
        ("rating", "integer"),
        ("decimal", "numeric"),
        ("money", "numeric(18,2)"),
        ("float", "double precision"),
        ("boolean", "boolean"),
        ("date", "date"),
        ("datetime", "timestamptz"),
        ("multi-enum", "text[]"),
        ("json", "jsonb"),
        ("file", "jsonb"),
        ("uuid", "uuid"),
    ],
)
def test_column_type_by_kind(kind: str, sql_type: str) -> None:
    assert ddl.column_type(field("x", kind)) == sql_type


def test_no_column_type_for_computed_and_many_to_many() -> None:
    with pytest.raises(ValueError):
        ddl.column_type(field("x", "computed"))
    with pytest.raises(ValueError):
        ddl.column_type(field("x", "many-to-many"))


# --- defaults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expression"),
    [
        ("string", "it's", "'it''s'::text"),
        ("enum", "open", "'open'::text"),
        ("integer", 5, "'5'::integer"),
        ("integer", -3, "'-3'::integer"),
        ("decimal", 12.5, "'12.5'::numeric"),
        ("money", 10, "'10'::numeric(18,2)"),
        ("float", 0.25, "'0.25'::double precision"),
        ("boolean", False, "false"),
        ("date", "2024-02-29", "'2024-02-29'::date"),
        ("datetime", "2024-01-02T03:04:05+00:00", "'2024-01-02T03:04:05+00:00'::timestamptz"),
        (
            "uuid",
            "2f1c4f36-8f5e-4bb4-9d8b-1d0e5b0e2a11",
            "'2f1c4f36-8f5e-4bb4-9d8b-1d0e5b0e2a11'::uuid",
        ),
        ("multi-enum", ["a", "b'c"], "ARRAY['a', 'b''c']::text[]"),
        ("multi-enum", [], "'{}'::text[]"),
        ("json", {"b": [1, "x'"], "a": None}, '\'{"a":null,"b":[1,"x\'\'"]}\'::jsonb'),
    ],
)
def test_default_expression_renders_typed_literals(kind: str, value: Any, expression: str) -> None:
    f = field("x", kind, default=value)
    assert ddl.default_expression(entity("a/b", f), f) == expression


def test_no_default_and_null_default_render_nothing() -> None:
    plain = field("x", "string")
    null = field("y", "string", default=None)
    e = entity("a/b", plain, null)
    assert ddl.default_expression(e, plain) is None
    assert ddl.default_expression(e, null) is None


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("integer", True),
        ("integer", 1.5),
        ("integer", 2**40),
        ("decimal", "12"),
        ("decimal", float("nan")),
        ("boolean", 1),
        ("date", "tomorrow"),
        ("datetime", "now"),
        ("uuid", "not-a-uuid"),
        ("string", 7),
        ("multi-enum", "a"),
    ],
)
def test_default_that_does_not_fit_the_kind_is_reported(kind: str, value: Any) -> None:
    f = field("x", kind, default=value)
    with pytest.raises(MetadataInvalid) as caught:
        ddl.default_expression(entity("a/b", f), f)
    problem = caught.value.problems[0]
    assert problem.document == "a/b"
    assert problem.pointer == "/properties/x/default"
    assert problem.hint


# --- constraints and indexes --------------------------------------------------------------------


def test_foreign_key_columns_get_an_index_unless_an_index_leads_with_them() -> None:
    e = entity(
        "a/link",
        relation("left", "a/left"),
        relation("right", "a/right"),
        relation("owner", "a/owner"),
        field("code", "string", unique=True),
        indexes=((("left", "right"), True),),
    )
    names = {i.name: i for i in ddl.entity_indexes(e)}
    assert set(names) == {
        "a_link_left_id_right_id_key",
        "a_link_right_id_idx",
        "a_link_owner_id_idx",
    }
    assert names["a_link_left_id_right_id_key"].unique


def test_unique_index_on_an_x_unique_column_is_not_created_twice() -> None:
    e = entity("a/b", field("code", "string", unique=True), indexes=((("code",), True),))
    assert [u.name for u in ddl.entity_uniques(e)] == ["a_b_code_key"]
    assert ddl.entity_indexes(e) == ()


def test_create_table_lists_system_columns_fields_and_constraints() -> None:
    e = entity(
        "a/b",
        field("title", "string", required=True),
        field("level", "enum", required=True, default="low", enum_values=["low", "high"]),
        field("code", "string", unique=True),
        field("isBig", "computed"),
    )
    sql = ddl.create_table("tenant_x", e)
    assert sql.startswith('CREATE TABLE "tenant_x"."a_b" (')
    for part in (
        '"id" uuid NOT NULL DEFAULT gen_random_uuid()',
        '"version" integer NOT NULL DEFAULT 1',
        '"title" text NOT NULL',
        "\"level\" text NOT NULL DEFAULT 'low'::text",
        'CONSTRAINT "a_b_pkey" PRIMARY KEY ("id")',
        'CONSTRAINT "a_b_code_key" UNIQUE ("code")',
    ):
        assert part in sql
    assert "is_big" not in sql


# --- against PostgreSQL -------------------------------------------------------------------------


async def test_model_with_reference_cycles_builds_in_any_entity_order(
    database: Database, schema: str
) -> None:
    # given entities that reference each other and themselves
    person = entity(
        "org/person",
        field("name", "string", required=True),
        relation("team", "org/team", OnDelete.SET_NULL),
        relation("manager", "org/person", OnDelete.RESTRICT),
    )
    team = entity(
        "org/team",
        field("title", "string", default="it's a team"),
        relation("lead", "org/person", OnDelete.CASCADE),
    )
    # when the whole model is created
    for statement in ddl.create_model_ddl(schema, model(person, team)):
        await database.execute(statement)
    # then the foreign keys exist with their ON DELETE rules
    rows = await database.fetch(
        """
        SELECT tc.table_name, kcu.column_name, rc.delete_rule
          FROM information_schema.table_constraints tc
          JOIN information_schema.key_column_usage kcu
            ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
          JOIN information_schema.referential_constraints rc
            ON rc.constraint_name = tc.constraint_name AND rc.constraint_schema = tc.table_schema
         WHERE tc.table_schema = $1 AND tc.constraint_type = 'FOREIGN KEY'
        """,
        schema,
    )
    assert {(r["table_name"], r["column_name"], r["delete_rule"]) for r in rows} == {
        ("org_person", "team_id", "SET NULL"),
        ("org_person", "manager_id", "RESTRICT"),
        ("org_team", "lead_id", "CASCADE"),
    }
    # and defaults work on insert
    title = await database.fetchval(
        f"INSERT INTO {qualified(schema, 'org_team')} DEFAULT VALUES RETURNING title"
    )
    assert title == "it's a team"


async def test_every_default_kind_is_accepted_by_postgres(database: Database, schema: str) -> None:
    # given a field of every stored kind with a default, including tricky strings
    fields = [
        field("s", "string", default=TRICKY[3]),
        field("i", "integer", default=-7),
        field("d", "decimal", default=0.1),
        field("m", "money", default=12.345),
        field("f", "float", default=1.5),
        field("b", "boolean", default=True),
        field("dt", "date", default="2024-02-29"),
        field("ts", "datetime", default="2024-01-02T03:04:05Z"),
        field("tags", "multi-enum", default=["a", "b\\c"]),
        field("j", "json", default={"k": ["v'", 1]}),
        field("u", "uuid", default="2f1c4f36-8f5e-4bb4-9d8b-1d0e5b0e2a11"),
    ]
    e = entity("a/defaults", *fields)
    for statement in ddl.create_model_ddl(schema, model(e)):
        await database.execute(statement)
    # when a row takes every default
    row = await database.fetchrow(
        f"INSERT INTO {qualified(schema, 'a_defaults')} DEFAULT VALUES "
        "RETURNING s, i, d::text, m::text, f, b, dt::text, ts, tags, j::text, u::text"
    )
    # then each value is the JSON default
    assert row is not None
    assert row["s"] == TRICKY[3]
    assert row["i"] == -7
    assert row["d"] == "0.1"
    assert row["m"] == "12.35"
    assert row["f"] == 1.5
    assert row["b"] is True
    assert row["dt"] == "2024-02-29"
    assert row["ts"].isoformat() == "2024-01-02T03:04:05+00:00"
    assert row["tags"] == ["a", "b\\c"]
    assert row["j"] == '{"k": ["v\'", 1]}'
    assert row["u"] == "2f1c4f36-8f5e-4bb4-9d8b-1d0e5b0e2a11"


async def test_alter_type_converts_values_and_drops_the_old_default(
    database: Database, schema: str
) -> None:
    table = qualified(schema, "t")
    await database.execute(
        f"CREATE TABLE {table} (n numeric DEFAULT 1.5, s text, j text, b boolean)"
    )
    await database.execute(
        f"INSERT INTO {table} VALUES (2.4, 'x', 'hello', true), (NULL, NULL, NULL, NULL)"
    )
    for column, old, new in [
        ("n", "numeric", "integer"),
        ("s", "text", "text[]"),
        ("j", "text", "jsonb"),
        ("b", "boolean", "integer"),
    ]:
        await database.execute(
            ddl.alter_type(schema, "t", column, old, new, drop_default=column == "n")
        )
    rows = await database.fetch(f"SELECT n, s, j::text, b FROM {table} ORDER BY n NULLS LAST")
    assert [tuple(r) for r in rows] == [(2, ["x"], '"hello"', 1), (None, None, None, None)]


def test_statement_builders_quote_every_identifier() -> None:
    e = entity("a/b", field("weird", "integer", default=1))
    f = e.fields[0]
    assert ddl.add_column("s", e, f) == (
        'ALTER TABLE "s"."a_b" ADD COLUMN "weird" integer DEFAULT \'1\'::integer'
    )
    assert ddl.drop_column("s", "a_b", "weird") == 'ALTER TABLE "s"."a_b" DROP COLUMN "weird"'
    assert ddl.set_not_null("s", "a_b", "weird").endswith('ALTER COLUMN "weird" SET NOT NULL')
    assert ddl.drop_not_null("s", "a_b", "weird").endswith('ALTER COLUMN "weird" DROP NOT NULL')
    assert ddl.set_default("s", e, f).endswith("SET DEFAULT '1'::integer")
    assert ddl.drop_default("s", "a_b", "weird").endswith("DROP DEFAULT")
    assert ddl.drop_index("s", "a_b_idx") == 'DROP INDEX "s"."a_b_idx"'
    assert ddl.cast_expression("c", "uuid", "integer") == '"c"::text::integer'
    assert ddl.cast_expression("c", "integer", "numeric") == '"c"::numeric'
