"""PostgreSQL errors raised by real statements, mapped to Rapport errors.

The write path checks values before a statement runs, so most of these errors cannot be caused
through ``rapport.sql.mutations``; here the statements are written by hand to provoke them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from rapport.db.database import Database
from rapport.errors import ConstraintViolation, ValidationFailed
from rapport.metadata.builder import compile_model
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import read_folder
from rapport.metadata.ir import EntityDef, Model
from rapport.naming import qualified
from rapport.sql.write_errors import WrittenRow, delete_error, write_error

FIXTURES = Path(__file__).parents[1] / "fixtures" / "metadata"
SCHEMA = "tenant_write_errors"


@pytest.fixture(scope="module")
def model() -> Model:
    return compile_model(read_folder(FIXTURES))


@pytest.fixture(scope="module")
async def db(database: Database, model: Model) -> AsyncIterator[Database]:
    async with database.transaction() as conn:
        await conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        for statement in create_model_ddl(SCHEMA, model):
            await conn.execute(statement)
        course = qualified(SCHEMA, "training_course")
        # Constraints the DDL does not make, as an older or hand-tuned schema might have.
        await conn.execute(
            f"ALTER TABLE {course} ADD CONSTRAINT training_course_capacity_check "
            "CHECK (capacity < 400)"
        )
        await conn.execute(f"CREATE UNIQUE INDEX hand_made ON {course} (website)")
    yield database


@pytest.fixture(scope="module")
def course(model: Model) -> EntityDef:
    return model.entity("training/course")


async def _fail(db: Database, sql: str, *args: Any) -> asyncpg.PostgresError:
    try:
        await db.execute(sql, *args)
    except asyncpg.PostgresError as exc:
        return exc
    raise AssertionError("the statement did not fail")


def _table(entity: EntityDef) -> str:
    return qualified(SCHEMA, entity.table)


async def test_not_null_violation_is_required_at_the_field(db: Database, course: EntityDef) -> None:
    exc = await _fail(db, f"INSERT INTO {_table(course)} (title, level) VALUES (NULL, 'beginner')")
    rows = [
        WrittenRow(("inputs", 0), {"title": "a", "level": "beginner"}),
        WrittenRow(("inputs", 1), {"title": None, "level": "beginner"}),
    ]

    mapped = write_error(exc, course, rows)

    assert isinstance(mapped, ValidationFailed)
    assert [(e.path, e.code) for e in mapped.errors] == [(("inputs", 1, "title"), "REQUIRED")]


async def test_check_violation_is_invalid_at_the_field_named_by_the_constraint(
    db: Database, course: EntityDef
) -> None:
    exc = await _fail(
        db, f"INSERT INTO {_table(course)} (title, level, capacity) VALUES ('t', 'beginner', 450)"
    )

    mapped = write_error(exc, course, [WrittenRow(("input",), {"capacity": 450})])

    assert isinstance(mapped, ValidationFailed)
    assert [(e.path, e.code) for e in mapped.errors] == [(("input", "capacity"), "INVALID")]
    assert "check" not in mapped.message.lower()


async def test_a_unique_index_the_ddl_did_not_name_is_found_from_the_detail(
    db: Database, course: EntityDef
) -> None:
    insert = f"INSERT INTO {_table(course)} (title, level, website) VALUES ('t', 'beginner', $1)"
    await db.execute(insert, "https://example.com/a")
    exc = await _fail(db, insert, "https://example.com/a")

    mapped = write_error(
        exc,
        course,
        [
            WrittenRow((0,), {"website": "https://example.com/b"}),
            WrittenRow((1,), {"website": "https://example.com/a"}),
        ],
    )

    assert isinstance(mapped, ConstraintViolation)
    assert mapped.path == (1, "website")
    assert mapped.details["fields"] == ["website"]
    assert "example.com" not in str(mapped)


async def test_data_errors_are_validation_failures_without_sql(
    db: Database, course: EntityDef
) -> None:
    exc = await _fail(
        db,
        f"INSERT INTO {_table(course)} (title, level, capacity) VALUES ('t', 'beginner', $1)",
        2**40,
    )

    mapped = write_error(exc, course, [WrittenRow(("input",), {})])

    assert isinstance(mapped, ValidationFailed)
    assert [(e.path, e.code) for e in mapped.errors] == [(("input",), "INVALID")]


async def test_other_errors_are_not_mapped(db: Database, course: EntityDef) -> None:
    exc = await _fail(db, f"SELECT no_such_column FROM {_table(course)}")

    assert write_error(exc, course, []) is None
    assert delete_error(exc, course) is None


async def test_delete_blocked_from_a_table_no_relation_explains(db: Database, model: Model) -> None:
    # given: a table outside the model referencing employees
    employee = model.entity("org/employee")
    stray = qualified(SCHEMA, "stray")
    await db.execute(f"CREATE TABLE {stray} (employee_id uuid REFERENCES {_table(employee)} (id))")
    employee_id = await db.fetchval(
        f"INSERT INTO {_table(employee)} (name) VALUES ('n') RETURNING id"
    )
    await db.execute(f"INSERT INTO {stray} VALUES ($1)", employee_id)
    exc = await _fail(db, f"DELETE FROM {_table(employee)} WHERE id = $1", employee_id)

    mapped = delete_error(exc, employee)

    assert isinstance(mapped, ConstraintViolation)
    assert mapped.message == ("This Employee cannot be deleted: other records still reference it.")
