from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from rapport.db.database import Connection, Database
from rapport.errors import (
    ConstraintViolation,
    FieldError,
    NotFound,
    ValidationFailed,
    VersionConflict,
)
from rapport.metadata.builder import compile_model
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import read_folder
from rapport.metadata.ir import EntityDef, Model
from rapport.metadata.validation import Validators
from rapport.naming import qualified
from rapport.sql import mutations
from rapport.sql.mutations import (
    delete_record,
    insert_record,
    insert_records,
    update_record,
    upsert_record,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "metadata"
SCHEMA = "tenant_writes"
CST = timezone(timedelta(hours=8))
ACTOR = "user:alice"


@pytest.fixture(scope="module")
def model() -> Model:
    return compile_model(read_folder(FIXTURES))


@pytest.fixture(scope="module")
def validators(model: Model) -> Validators:
    return Validators(model)


@pytest.fixture(scope="module")
async def db(database: Database, model: Model) -> AsyncIterator[Database]:
    async with database.transaction() as conn:
        await conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        for statement in create_model_ddl(SCHEMA, model):
            await conn.execute(statement)
    yield database


@pytest.fixture(scope="module")
def course(model: Model) -> EntityDef:
    return model.entity("training/course")


@pytest.fixture(scope="module")
def trainer(model: Model) -> EntityDef:
    return model.entity("training/trainer")


async def _row(db: Database, entity: EntityDef, record_id: str) -> asyncpg.Record:
    row = await db.fetchrow(
        f"SELECT * FROM {qualified(SCHEMA, entity.table)} WHERE id = $1", uuid.UUID(record_id)
    )
    assert row is not None
    return row


async def _count(db: Database, entity: EntityDef) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {qualified(SCHEMA, entity.table)}"))


def _errors(exc: ValidationFailed) -> dict[tuple[Any, ...], str]:
    return {e.path: e.code for e in exc.errors}


def _code() -> str:
    """A fresh course code matching ^[A-Z]{2,4}-[0-9]{3}$."""
    n = uuid.uuid4().int
    letters = "".join(chr(65 + (n >> (5 * i)) % 26) for i in range(4))
    return f"{letters}-{n % 1000:03d}"


async def _new_trainer(db: Database, trainer: EntityDef, **fields: Any) -> str:
    async with db.acquire() as conn:
        return await insert_record(conn, SCHEMA, trainer, {"name": "T", **fields}, actor=ACTOR)


# --- create: every kind stored and read back exactly -------------------------------------------


async def test_every_kind_is_stored_and_read_back_exactly(
    db: Database, course: EntityDef, trainer: EntityDef, validators: Validators
) -> None:
    # given
    trainer_id = await _new_trainer(db, trainer)
    starts = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=CST)
    material = {
        "key": "uploads/1",
        "name": "课件.pdf",
        "size": 1024,
        "contentType": "application/pdf",
        "sha256": "a" * 64,
    }
    data = {
        "title": "消防安全培训：第一期",
        "code": _code(),
        "level": "intermediate",
        "tags": ["safety", "law"],
        "startDate": date(2026, 3, 1),
        "startsAt": starts,
        "capacity": 20,
        "price": Decimal("12.50"),
        "score": 4.25,
        "syllabus": {"周": [1, 2], "note": "含实操", "nested": {"ok": True, "n": None}},
        "material": material,
        "website": "https://example.com/courses/1?lang=zh",
        "online": True,
        "trainerId": trainer_id,
    }
    # when
    async with db.acquire() as conn:
        record_id = await insert_record(
            conn, SCHEMA, course, data, actor=ACTOR, validators=validators
        )
    # then
    row = await _row(db, course, record_id)
    assert row["title"] == "消防安全培训：第一期"
    assert row["code"] == data["code"]
    assert row["level"] == "intermediate"
    assert row["tags"] == ["safety", "law"]
    assert row["start_date"] == date(2026, 3, 1)
    assert row["starts_at"] == starts
    assert row["capacity"] == 20
    assert str(row["price"]) == "12.50"
    assert row["score"] == 4.25
    assert json.loads(row["syllabus"]) == data["syllabus"]
    assert json.loads(row["material"]) == material
    assert row["website"] == "https://example.com/courses/1?lang=zh"
    assert row["online"] is True
    assert str(row["trainer_id"]) == trainer_id
    assert row["created_by"] == ACTOR
    assert row["version"] == 1


async def test_decimal_keeps_every_digit(db: Database, course: EntityDef) -> None:
    exact = Decimal("123456789012345678901234567890.123456789012345678901")
    async with db.acquire() as conn:
        record_id = await insert_record(
            conn, SCHEMA, course, {"title": "t", "level": "beginner", "price": exact}, actor=None
        )
    assert (await _row(db, course, record_id))["price"] == exact
    assert str((await _row(db, course, record_id))["price"]) == str(exact)


async def test_money_is_stored_in_cents_and_never_rounded(db: Database, trainer: EntityDef) -> None:
    # given / when
    async with db.acquire() as conn:
        ids = await insert_records(
            conn,
            SCHEMA,
            trainer,
            [
                {"name": "a", "hourlyRate": Decimal("12.5")},
                {"name": "b", "hourlyRate": Decimal("0.07")},
                {"name": "c", "hourlyRate": 99},
                {"name": "d", "hourlyRate": Decimal("9999999999999999.99")},
            ],
            actor=ACTOR,
        )
        # then
        rates = [str((await _row(db, trainer, i))["hourly_rate"]) for i in ids]
        assert rates == ["12.50", "0.07", "99.00", "9999999999999999.99"]

        with pytest.raises(ValidationFailed) as third_decimal:
            await insert_record(
                conn, SCHEMA, trainer, {"name": "e", "hourlyRate": Decimal("12.505")}, actor=None
            )
        assert _errors(third_decimal.value) == {("hourlyRate",): "PRECISION"}

        with pytest.raises(ValidationFailed) as too_big:
            await insert_record(
                conn, SCHEMA, trainer, {"name": "f", "hourlyRate": Decimal("1E16")}, actor=None
            )
        assert _errors(too_big.value) == {("hourlyRate",): "RANGE"}


async def test_datetimes_keep_the_instant_and_naive_ones_are_refused(
    db: Database, course: EntityDef
) -> None:
    async with db.acquire() as conn:
        record_id = await insert_record(
            conn,
            SCHEMA,
            course,
            {"title": "t", "level": "beginner", "startsAt": "2026-03-01T09:00:00+08:00"},
            actor=None,
        )
        assert (await _row(db, course, record_id))["starts_at"] == datetime(
            2026, 3, 1, 1, 0, tzinfo=UTC
        )
        with pytest.raises(ValidationFailed) as naive:
            await insert_record(
                conn,
                SCHEMA,
                course,
                {"title": "t", "level": "beginner", "startsAt": datetime(2026, 3, 1, 9)},
                actor=None,
                path_prefix=("input",),
            )
    assert _errors(naive.value) == {("input", "startsAt"): "FORMAT"}


async def test_omitted_fields_get_their_default_and_explicit_null_stores_null(
    db: Database, course: EntityDef, trainer: EntityDef
) -> None:
    async with db.acquire() as conn:
        omitted = await insert_record(
            conn, SCHEMA, course, {"title": "t", "level": "beginner"}, actor=None
        )
        nulled = await insert_record(
            conn, SCHEMA, course, {"title": "t", "level": "beginner", "online": None}, actor=None
        )
        active = await insert_record(conn, SCHEMA, trainer, {"name": "n"}, actor=None)

    assert (await _row(db, course, omitted))["online"] is False
    assert (await _row(db, course, nulled))["online"] is None
    assert (await _row(db, trainer, active))["active"] is True
    assert (await _row(db, course, omitted))["created_by"] is None


# --- create: failure paths -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"level": "beginner"}, {("input", "title"): "REQUIRED"}),
        ({"title": "x" * 201, "level": "beginner"}, {("input", "title"): "TOO_LONG"}),
        ({"title": "t", "level": "expert"}, {("input", "level"): "NOT_IN_ENUM"}),
        (
            {"title": "t", "level": "beginner", "startDate": "2026-02-30"},
            {("input", "startDate"): "FORMAT"},
        ),
        ({"title": "t", "level": "beginner", "website": "nope"}, {("input", "website"): "FORMAT"}),
        (
            {"title": "t", "level": "beginner", "colour": "red"},
            {("input", "colour"): "UNKNOWN_FIELD"},
        ),
        (
            {"title": "t", "level": "beginner", "trainerId": "abc"},
            {("input", "trainerId"): "FORMAT"},
        ),
        ({"title": "t", "level": "beginner", "capacity": 2**40}, {("input", "capacity"): "RANGE"}),
        ({"title": "a\x00b", "level": "beginner"}, {("input", "title"): "INVALID"}),
        (
            {"title": "t", "level": "beginner", "material": {"key": "k"}},
            {
                ("input", "material", "name"): "REQUIRED",
                ("input", "material", "size"): "REQUIRED",
                ("input", "material", "contentType"): "REQUIRED",
            },
        ),
    ],
)
async def test_invalid_input_writes_nothing(
    db: Database, course: EntityDef, data: dict[str, Any], errors: dict[Any, str]
) -> None:
    before = await _count(db, course)
    async with db.acquire() as conn:
        with pytest.raises(ValidationFailed) as caught:
            await insert_record(conn, SCHEMA, course, data, actor=None, path_prefix=("input",))
    assert _errors(caught.value) == errors
    assert caught.value.extensions()["code"] == "VALIDATION_FAILED"
    assert await _count(db, course) == before


async def test_email_format_and_unique_email(db: Database, trainer: EntityDef) -> None:
    async with db.acquire() as conn:
        with pytest.raises(ValidationFailed) as bad:
            await insert_record(conn, SCHEMA, trainer, {"name": "n", "email": "nope"}, actor=None)
        assert _errors(bad.value) == {("email",): "FORMAT"}

        await insert_record(
            conn, SCHEMA, trainer, {"name": "n", "email": "wang@example.com"}, actor=None
        )
        with pytest.raises(ConstraintViolation) as taken:
            await insert_record(
                conn,
                SCHEMA,
                trainer,
                {"name": "m", "email": "wang@example.com"},
                actor=None,
                path_prefix=("input",),
            )
    error = taken.value
    assert error.message == "Another Trainer already has this email."
    assert error.path == ("input", "email")
    assert error.details["fields"] == ["email"]
    assert "upsertTrainer" in error.hint
    assert "wang@example.com" not in str(error)
    assert "duplicate key" not in str(error)


async def test_reference_to_a_missing_record(db: Database, course: EntityDef) -> None:
    before = await _count(db, course)
    async with db.acquire() as conn:
        with pytest.raises(ValidationFailed) as caught:
            await insert_record(
                conn,
                SCHEMA,
                course,
                {"title": "t", "level": "beginner", "trainerId": str(uuid.uuid4())},
                actor=None,
                path_prefix=("input",),
            )
    assert caught.value.errors == (
        FieldError(("input", "trainerId"), "no Trainer with this id", "UNKNOWN_REFERENCE"),
    )
    assert "foreign key" not in str(caught.value)
    assert await _count(db, course) == before


# --- bulk create ---------------------------------------------------------------------------------


async def test_bulk_create_returns_ids_in_input_order(db: Database, course: EntityDef) -> None:
    titles = [f"bulk {i}" for i in range(5)]
    inputs: list[dict[str, Any]] = [{"title": t, "level": "beginner"} for t in titles]
    inputs[2]["online"] = True  # rows need not set the same fields
    async with db.acquire() as conn:
        ids = await insert_records(conn, SCHEMA, course, inputs, actor=ACTOR)
    assert [(await _row(db, course, i))["title"] for i in ids] == titles
    assert [(await _row(db, course, i))["online"] for i in ids] == [
        False,
        False,
        True,
        False,
        False,
    ]


async def test_bulk_create_is_all_or_nothing_and_reports_every_bad_input(
    db: Database, course: EntityDef
) -> None:
    before = await _count(db, course)
    inputs = [
        {"title": "ok", "level": "beginner"},
        {"title": "ok too", "level": "advanced"},
        {"title": "x" * 300, "level": "beginner"},
        {"level": "expert"},
    ]
    async with db.acquire() as conn:
        with pytest.raises(ValidationFailed) as caught:
            await insert_records(conn, SCHEMA, course, inputs, actor=None)
        # the same with the prefixes createCourses passes
        with pytest.raises(ValidationFailed) as prefixed:
            await insert_records(
                conn,
                SCHEMA,
                course,
                inputs,
                actor=None,
                path_prefixes=[("inputs", i) for i in range(len(inputs))],
            )
    assert _errors(caught.value) == {
        (2, "title"): "TOO_LONG",
        (3, "title"): "REQUIRED",
        (3, "level"): "NOT_IN_ENUM",
    }
    assert set(_errors(prefixed.value)) == {
        ("inputs", 2, "title"),
        ("inputs", 3, "title"),
        ("inputs", 3, "level"),
    }
    assert await _count(db, course) == before


async def test_bulk_database_errors_point_at_the_input_at_fault(
    db: Database, course: EntityDef, trainer: EntityDef
) -> None:
    trainer_id = await _new_trainer(db, trainer)
    missing = str(uuid.uuid4())
    taken = _code()
    before = await _count(db, course)
    async with db.acquire() as conn:
        await insert_record(
            conn, SCHEMA, course, {"title": "t", "level": "beginner", "code": taken}, actor=None
        )
        with pytest.raises(ValidationFailed) as fk:
            await insert_records(
                conn,
                SCHEMA,
                course,
                [
                    {"title": "a", "level": "beginner", "trainerId": trainer_id},
                    {"title": "b", "level": "beginner", "trainerId": missing},
                    {"title": "c", "level": "beginner"},
                ],
                actor=None,
            )
        with pytest.raises(ConstraintViolation) as unique:
            await insert_records(
                conn,
                SCHEMA,
                course,
                [
                    {"title": "a", "level": "beginner", "code": _code()},
                    {"title": "b", "level": "beginner", "code": taken},
                ],
                actor=None,
            )
    assert _errors(fk.value) == {(1, "trainerId"): "UNKNOWN_REFERENCE"}
    assert unique.value.path == (1, "code")
    assert await _count(db, course) == before + 1


async def test_a_bulk_create_too_big_for_one_statement_is_still_all_or_nothing(
    db: Database, model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a parameter limit that forces one INSERT per 3 rows
    monkeypatch.setattr(mutations, "MAX_PARAMETERS", 10)
    employee = model.entity("org/employee")
    numbers = [f"E{uuid.uuid4().hex[:8]}-{i}" for i in range(7)]
    async with db.acquire() as conn:
        # when: all rows fit
        ids = await insert_records(
            conn, SCHEMA, employee, [{"name": n, "employeeNo": n} for n in numbers], actor=None
        )
        # then
        assert [(await _row(db, employee, i))["employee_no"] for i in ids] == numbers

        # when: the last chunk fails
        before = await _count(db, employee)
        fresh = [f"F{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]
        with pytest.raises(ConstraintViolation) as caught:
            await insert_records(
                conn,
                SCHEMA,
                employee,
                [{"name": n, "employeeNo": n} for n in [*fresh, numbers[0]]],
                actor=None,
            )
    # then: the earlier chunks were rolled back too
    assert caught.value.path == (6, "employeeNo")
    assert await _count(db, employee) == before


async def test_bulk_create_of_nothing(db: Database, course: EntityDef) -> None:
    async with db.acquire() as conn:
        assert await insert_records(conn, SCHEMA, course, [], actor=None) == []


# --- update --------------------------------------------------------------------------------------


async def _course(db: Database, course: EntityDef, **fields: Any) -> str:
    async with db.acquire() as conn:
        return await insert_record(
            conn, SCHEMA, course, {"title": "t", "level": "beginner", **fields}, actor=ACTOR
        )


async def test_update_changes_only_the_given_fields(db: Database, course: EntityDef) -> None:
    # given
    record_id = await _course(db, course, capacity=10, tags=["law"], code=_code())
    before = await _row(db, course, record_id)
    # when
    async with db.acquire() as conn:
        returned = await update_record(
            conn,
            SCHEMA,
            course,
            record_id,
            {"title": "新标题", "tags": None, "price": Decimal("1.10")},
            expected_version=1,
            actor="user:bob",
        )
    # then
    after = await _row(db, course, record_id)
    assert returned == record_id
    assert after["title"] == "新标题"
    assert after["tags"] is None
    assert str(after["price"]) == "1.10"
    assert after["capacity"] == 10
    assert after["code"] == before["code"]
    assert after["version"] == 2
    assert after["updated_at"] > before["updated_at"]
    assert after["created_at"] == before["created_at"]
    assert after["created_by"] == ACTOR


async def test_update_without_expected_version_always_applies(
    db: Database, course: EntityDef
) -> None:
    record_id = await _course(db, course)
    async with db.acquire() as conn:
        for _ in range(3):
            await update_record(
                conn, SCHEMA, course, record_id, {"capacity": 5}, expected_version=None, actor=None
            )
    assert (await _row(db, course, record_id))["version"] == 4


async def test_update_failure_paths(db: Database, course: EntityDef) -> None:
    record_id = await _course(db, course)
    async with db.acquire() as conn:
        with pytest.raises(ValidationFailed) as required_null:
            await update_record(
                conn,
                SCHEMA,
                course,
                record_id,
                {"title": None},
                expected_version=1,
                actor=None,
                path_prefix=("input",),
            )
        assert _errors(required_null.value) == {("input", "title"): "REQUIRED"}

        with pytest.raises(ValidationFailed) as empty:
            await update_record(conn, SCHEMA, course, record_id, {}, expected_version=1, actor=None)
        assert _errors(empty.value) == {(): "EMPTY"}

        with pytest.raises(ValidationFailed) as bad_fk:
            await update_record(
                conn,
                SCHEMA,
                course,
                record_id,
                {"trainerId": str(uuid.uuid4())},
                expected_version=1,
                actor=None,
            )
        assert _errors(bad_fk.value) == {("trainerId",): "UNKNOWN_REFERENCE"}

        with pytest.raises(VersionConflict) as stale:
            await update_record(
                conn, SCHEMA, course, record_id, {"title": "x"}, expected_version=7, actor=None
            )
        assert stale.value.details == {"currentVersion": 1, "expectedVersion": 7}
        assert "version 1" in stale.value.message
        assert stale.value.hint == "Reload the record and apply your change again."

        with pytest.raises(NotFound):
            await update_record(
                conn,
                SCHEMA,
                course,
                str(uuid.uuid4()),
                {"title": "x"},
                expected_version=1,
                actor=None,
            )
        with pytest.raises(NotFound):
            await update_record(
                conn,
                SCHEMA,
                course,
                str(uuid.uuid4()),
                {"title": "x"},
                expected_version=None,
                actor=None,
            )
        with pytest.raises(ValidationFailed) as bad_id:
            await update_record(
                conn, SCHEMA, course, "nope", {"title": "x"}, expected_version=None, actor=None
            )
        assert _errors(bad_id.value) == {("id",): "FORMAT"}
    row = await _row(db, course, record_id)
    assert (row["title"], row["version"]) == ("t", 1)


async def test_update_to_a_taken_unique_value(db: Database, course: EntityDef) -> None:
    taken = _code()
    await _course(db, course, code=taken)
    record_id = await _course(db, course)
    async with db.acquire() as conn:
        with pytest.raises(ConstraintViolation) as caught:
            await update_record(
                conn,
                SCHEMA,
                course,
                record_id,
                {"code": taken},
                expected_version=1,
                actor=None,
                path_prefix=("input",),
            )
    assert caught.value.path == ("input", "code")
    assert caught.value.extensions()["code"] == "CONSTRAINT_VIOLATION"


async def test_concurrent_updates_from_the_same_version_one_wins(
    db: Database, course: EntityDef
) -> None:
    for attempt in range(5):
        record_id = await _course(db, course)

        async def change(title: str, record_id: str = record_id) -> str:
            async with db.acquire() as conn:
                return await update_record(
                    conn,
                    SCHEMA,
                    course,
                    record_id,
                    {"title": title},
                    expected_version=1,
                    actor=None,
                )

        results = await asyncio.gather(change("a"), change("b"), return_exceptions=True)
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, VersionConflict)]
        assert len(winners) == 1 and len(losers) == 1, (attempt, results)
        assert (await _row(db, course, record_id))["version"] == 2


async def test_an_update_waiting_on_a_lock_sees_the_committed_version(
    db: Database, course: EntityDef
) -> None:
    # given: A updates from version 1 inside an open transaction
    record_id = await _course(db, course)
    async with db.acquire() as a, db.acquire() as b:
        tx = a.raw.transaction()
        await tx.start()
        try:
            await update_record(
                a, SCHEMA, course, record_id, {"title": "A"}, expected_version=1, actor=None
            )
            # when: B tries the same version and blocks on A's row lock
            blocked = asyncio.create_task(
                update_record(
                    b, SCHEMA, course, record_id, {"title": "B"}, expected_version=1, actor=None
                )
            )
            await _wait_for_lock(db, b)
            await tx.commit()
        except BaseException:
            await tx.rollback()
            raise
        # then
        with pytest.raises(VersionConflict) as caught:
            await blocked
    assert caught.value.details["currentVersion"] == 2
    assert (await _row(db, course, record_id))["title"] == "A"


async def _wait_for_lock(db: Database, conn: Connection) -> None:
    pid = conn.raw.get_server_pid()
    for _ in range(200):
        waiting = await db.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second update never waited for the row lock")


# --- delete --------------------------------------------------------------------------------------


async def test_delete(db: Database, course: EntityDef) -> None:
    record_id = await _course(db, course)
    async with db.acquire() as conn:
        assert await delete_record(conn, SCHEMA, course, record_id) == record_id
        with pytest.raises(NotFound) as again:
            await delete_record(conn, SCHEMA, course, record_id)
        with pytest.raises(ValidationFailed):
            await delete_record(conn, SCHEMA, course, "not-an-id")
    assert again.value.extensions()["code"] == "NOT_FOUND"


async def test_delete_blocked_by_a_restrict_relation(db: Database, model: Model) -> None:
    employee = model.entity("org/employee")
    complaint = model.entity("complaints/complaint")
    async with db.acquire() as conn:
        employee_id = await insert_record(conn, SCHEMA, employee, {"name": "李"}, actor=None)
        await insert_record(
            conn,
            SCHEMA,
            complaint,
            {"title": "t", "category": "pay", "submitterId": employee_id},
            actor=None,
        )
        with pytest.raises(ConstraintViolation) as caught:
            await delete_record(conn, SCHEMA, employee, employee_id)
    error = caught.value
    assert "Complaint" in error.message and "submitter" in error.message
    assert error.details["referencedBy"] == {"entity": "complaints/complaint", "field": "submitter"}
    assert error.hint.startswith("Delete those Complaint records or reassign their submitter")
    assert "foreign key" not in str(error)
    assert await _row(db, employee, employee_id)


async def test_delete_cascades_and_sets_null(
    db: Database, model: Model, course: EntityDef, trainer: EntityDef
) -> None:
    trainee = model.entity("training/trainee")
    enrollment = model.entity("training/enrollment")
    trainer_id = await _new_trainer(db, trainer)
    course_id = await _course(db, course, trainerId=trainer_id)
    async with db.acquire() as conn:
        trainee_id = await insert_record(conn, SCHEMA, trainee, {"name": "n"}, actor=None)
        enrollment_id = await insert_record(
            conn, SCHEMA, enrollment, {"courseId": course_id, "traineeId": trainee_id}, actor=None
        )
        with pytest.raises(ConstraintViolation) as twice:
            await insert_record(
                conn,
                SCHEMA,
                enrollment,
                {"courseId": course_id, "traineeId": trainee_id},
                actor=None,
            )
        assert twice.value.details["fields"] == ["courseId", "traineeId"]
        assert "upsert" not in twice.value.hint

        await delete_record(conn, SCHEMA, trainer, trainer_id)
        assert (await _row(db, course, course_id))["trainer_id"] is None
        await delete_record(conn, SCHEMA, course, course_id)
        with pytest.raises(NotFound):
            await delete_record(conn, SCHEMA, enrollment, enrollment_id)


# --- upsert --------------------------------------------------------------------------------------


async def test_upsert_inserts_then_updates(db: Database, course: EntityDef) -> None:
    code = _code()
    async with db.acquire() as conn:
        # when: nothing has the code yet
        first = await upsert_record(
            conn,
            SCHEMA,
            course,
            {"title": "v1", "level": "beginner", "code": code, "capacity": 3},
            key="code",
            actor=ACTOR,
        )
        # then
        row = await _row(db, course, first)
        assert (row["title"], row["version"], row["created_by"], row["online"]) == (
            "v1",
            1,
            ACTOR,
            False,
        )
        # when: again with the same code
        second = await upsert_record(
            conn,
            SCHEMA,
            course,
            {"title": "v2", "level": "advanced", "code": code},
            key="code",
            actor="user:bob",
        )
    # then
    assert second == first
    row = await _row(db, course, first)
    assert (row["title"], row["level"], row["version"], row["capacity"], row["created_by"]) == (
        "v2",
        "advanced",
        2,
        3,
        ACTOR,
    )
    assert row["updated_at"] >= row["created_at"]


async def test_upsert_failure_paths(db: Database, course: EntityDef) -> None:
    before = await _count(db, course)
    async with db.acquire() as conn:
        with pytest.raises(ValidationFailed) as not_unique:
            await upsert_record(
                conn, SCHEMA, course, {"title": "t", "level": "beginner"}, key="title", actor=None
            )
        assert _errors(not_unique.value) == {("key",): "NOT_IN_ENUM"}
        assert "one of code" in not_unique.value.errors[0].message

        with pytest.raises(ValidationFailed) as no_key:
            await upsert_record(
                conn,
                SCHEMA,
                course,
                {"title": "t", "level": "beginner"},
                key="code",
                actor=None,
                path_prefix=("input",),
            )
        assert _errors(no_key.value) == {("input", "code"): "REQUIRED"}

        with pytest.raises(ValidationFailed) as invalid:
            await upsert_record(
                conn, SCHEMA, course, {"title": "t", "code": "bad"}, key="code", actor=None
            )
        assert _errors(invalid.value) == {("level",): "REQUIRED", ("code",): "PATTERN"}
    assert await _count(db, course) == before


async def test_upsert_on_a_relation_key_by_input_name(db: Database, model: Model) -> None:
    employee = model.entity("org/employee")
    async with db.acquire() as conn:
        first = await upsert_record(
            conn,
            SCHEMA,
            employee,
            {"name": "a", "employeeNo": "U-1"},
            key="employeeNo",
            actor=None,
        )
        second = await upsert_record(
            conn,
            SCHEMA,
            employee,
            {"name": "b", "employeeNo": "U-1"},
            key="employeeNo",
            actor=None,
        )
    assert first == second
    assert (await _row(db, employee, first))["name"] == "b"


async def test_writes_join_the_callers_transaction(db: Database, course: EntityDef) -> None:
    before = await _count(db, course)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await insert_record(
                conn, SCHEMA, course, {"title": "t", "level": "beginner"}, actor=None
            )
            raise RuntimeError("the audit entry failed")
    assert await _count(db, course) == before
