from __future__ import annotations

import asyncio
import copy
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.errors import (
    DestructiveChange,
    MetadataConflict,
    MetadataInvalid,
    NotFound,
    PublishFailed,
    TenantNotFound,
)
from rapport.metadata import lifecycle
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import (
    Document,
    documents_from_json,
    kernel_documents,
    read_folder,
    write_folder,
)
from rapport.metadata.lifecycle import (
    export,
    get_draft,
    load_published,
    plan,
    publish,
    rollback,
    save_draft,
    versions,
)
from rapport.metadata.tenants import create_tenant
from rapport.naming import qualified, table_name
from tests.db.fingerprint import schema_fingerprint

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"
Bodies = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
async def db(database: Database) -> AsyncIterator[Database]:
    await migrate(database)
    yield database


@pytest.fixture
async def slug(db: Database) -> str:
    name = f"lc_{secrets.token_hex(4)}"
    await create_tenant(db, name)
    return name


def bodies() -> Bodies:
    return {d.id: d.as_json() for d in read_folder(FIXTURES)}


def docs(b: Bodies) -> tuple[Document, ...]:
    return documents_from_json(list(b.values()))


def edited(edit: Callable[[Bodies], Any]) -> tuple[Document, ...]:
    b = copy.deepcopy(bodies())
    edit(b)
    return docs(b)


def course_props(b: Bodies) -> Any:
    return b["training/course"]["properties"]


async def state(db: Database, slug: str) -> tuple[int, str]:
    tenant = await get_tenant(db, slug)
    return tenant.metadata_version, await schema_fingerprint(db, tenant.schema)


async def table(db: Database, slug: str, entity_id: str) -> str:
    return qualified((await get_tenant(db, slug)).schema, table_name(entity_id))


async def columns(db: Database, slug: str, tbl: str) -> dict[str, tuple[str, bool, str | None]]:
    rows = await db.fetch(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid) AS default_expr
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        """,
        (await get_tenant(db, slug)).schema,
        tbl,
    )
    return {r["attname"]: (r["type"], r["attnotnull"], r["default_expr"]) for r in rows}


async def add_courses(db: Database, slug: str, n: int, **values: Any) -> None:
    course = await table(db, slug, "training/course")
    for i in range(n):
        cols = {"title": f"c{i}", "level": "beginner", **values}
        names = ", ".join(f'"{k}"' for k in cols)
        params = ", ".join(f"${i + 1}" for i in range(len(cols)))
        await db.execute(f"INSERT INTO {course} ({names}) VALUES ({params})", *cols.values())


# --- publish ------------------------------------------------------------------------------------


async def test_publish_builds_the_documented_schema(db: Database, slug: str) -> None:
    # when
    result = await publish(db, slug, docs(bodies()), actor="alice", note="training")
    # then
    assert result.changed and result.version == 2
    assert not result.plan.is_empty
    schema = (await get_tenant(db, slug)).schema
    course = await columns(db, slug, "training_course")
    assert course == {
        "id": ("uuid", True, "gen_random_uuid()"),
        "created_at": ("timestamp with time zone", True, "now()"),
        "updated_at": ("timestamp with time zone", True, "now()"),
        "created_by": ("text", False, None),
        "version": ("integer", True, "1"),
        "title": ("text", True, None),
        "code": ("text", False, None),
        "level": ("text", True, None),
        "tags": ("text[]", False, None),
        "start_date": ("date", False, None),
        "starts_at": ("timestamp with time zone", False, None),
        "capacity": ("integer", False, None),
        "price": ("numeric", False, None),
        "score": ("double precision", False, None),
        "syllabus": ("jsonb", False, None),
        "material": ("jsonb", False, None),
        "website": ("text", False, None),
        "online": ("boolean", False, "false"),
        "trainer_id": ("uuid", False, None),
    }
    trainer = await columns(db, slug, "training_trainer")
    assert trainer["hourly_rate"] == ("numeric(18,2)", False, None)
    assert trainer["rating"] == ("integer", False, None)
    assert trainer["active"] == ("boolean", False, "true")

    fks = await db.fetch(
        """
        SELECT c.conname, c.confdeltype::text AS confdeltype, r.relname AS target
          FROM pg_constraint c
          JOIN pg_class r ON r.oid = c.confrelid
          JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = $1 AND c.contype = 'f'
        """,
        schema,
    )
    assert {(r["conname"], r["confdeltype"], r["target"]) for r in fks} == {
        ("training_course_trainer_id_fkey", "n", "training_trainer"),
        ("training_enrollment_course_id_fkey", "c", "training_course"),
        ("training_enrollment_trainee_id_fkey", "c", "training_trainee"),
        ("complaints_complaint_submitter_id_fkey", "r", "org_employee"),
    }
    uniques = await db.fetch(
        """
        SELECT c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = $1 AND c.contype = 'u'
        """,
        schema,
    )
    assert {r["conname"] for r in uniques} == {
        "training_course_code_key",
        "training_trainer_email_key",
        "org_employee_employee_no_key",
    }
    indexes = {
        r["indexname"]: r["indexdef"]
        for r in await db.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1", schema
        )
    }
    assert (
        "UNIQUE INDEX training_enrollment_course_id_trainee_id_key"
        in (indexes["training_enrollment_course_id_trainee_id_key"])
    )
    assert indexes["training_course_level_start_date_idx"].endswith("(level, start_date)")
    for fk_index in (
        "training_course_trainer_id_idx",
        "training_enrollment_trainee_id_idx",
        "complaints_complaint_submitter_id_idx",
    ):
        assert fk_index in indexes
    assert "training_enrollment_course_id_idx" not in indexes  # the unique index leads with it

    # and the runtime reads the same model back
    tenant, metadata = await load_published(db, slug)
    assert tenant.metadata_version == 2
    assert {e.id for e in metadata.model} == {d.id for d in kernel_documents()} | set(bodies())
    history = await versions(db, slug)
    assert [(v.version, v.published_by, v.note) for v in history][-1] == (2, "alice", "training")


async def test_a_schema_built_by_plans_equals_one_built_in_one_go(db: Database, slug: str) -> None:
    # given a tenant built by two plans (kernel, then the fixtures)
    await publish(db, slug, docs(bodies()), actor="a")
    model = (await load_published(db, slug))[1].model
    # when the same model is built from nothing with create_model_ddl
    scratch = f"scratch_{secrets.token_hex(4)}"
    await db.execute(f'CREATE SCHEMA "{scratch}"')
    try:
        for statement in create_model_ddl(scratch, model):
            await db.execute(statement)
        # then both schemas are identical
        assert await schema_fingerprint(db, scratch) == (await state(db, slug))[1]
    finally:
        await db.execute(f'DROP SCHEMA "{scratch}" CASCADE')


async def test_identical_republish_creates_no_version(db: Database, slug: str) -> None:
    await publish(db, slug, docs(bodies()), actor="a")
    before = await state(db, slug)
    # when
    again = await publish(db, slug, docs(bodies()), actor="a")
    # then
    assert not again.changed
    assert again.version == before[0]
    assert again.plan.is_empty
    assert await state(db, slug) == before
    assert len(await versions(db, slug)) == before[0]


async def test_metadata_only_change_is_a_new_version_without_ddl(db: Database, slug: str) -> None:
    await publish(db, slug, docs(bodies()), actor="a")
    version, fingerprint = await state(db, slug)
    result = await publish(
        db,
        slug,
        edited(lambda b: b["training/course"].update({"description": "new words"})),
        actor="a",
    )
    assert result.changed and result.plan.is_empty
    assert await state(db, slug) == (version + 1, fingerprint)


async def test_plan_after_adding_a_field_is_one_safe_step(db: Database, slug: str) -> None:
    await publish(db, slug, docs(bodies()), actor="a")
    await add_courses(db, slug, 3)
    new = edited(lambda b: course_props(b).update(room={"type": "string", "maxLength": 20}))
    # when
    planned = await plan(db, slug, new)
    # then
    assert len(planned.steps) == 1
    assert not planned.destructive_steps
    assert planned.steps[0].sql.endswith('ADD COLUMN "room" text')
    assert (await get_tenant(db, slug)).metadata_version == 2  # planning changes nothing
    result = await publish(db, slug, new, actor="a")
    assert result.version == 3
    assert (await columns(db, slug, "training_course"))["room"] == ("text", False, None)


async def test_dropping_a_field_needs_allow_destructive(db: Database, slug: str) -> None:
    await publish(db, slug, docs(bodies()), actor="a")
    await add_courses(db, slug, 2, website="https://x")
    before = await state(db, slug)
    new = edited(lambda b: course_props(b).pop("website"))
    # when
    with pytest.raises(DestructiveChange) as caught:
        await publish(db, slug, new, actor="a")
    # then nothing changed
    assert caught.value.code == "DESTRUCTIVE_CHANGE"
    assert "drop column training_course.website" in caught.value.steps[0]
    assert "2 row(s)" in caught.value.steps[0]
    assert await state(db, slug) == before
    # and with the confirmation it is applied
    result = await publish(db, slug, new, actor="a", allow_destructive=True)
    assert result.version == before[0] + 1
    assert "website" not in await columns(db, slug, "training_course")
    assert (await versions(db, slug))[-1].destructive


async def test_not_null_without_default_on_a_filled_table_is_refused(
    db: Database, slug: str
) -> None:
    await publish(db, slug, docs(bodies()), actor="a")
    await add_courses(db, slug, 1)
    before = await state(db, slug)

    def edit(b: Bodies) -> None:
        course_props(b)["room"] = {"type": "string"}
        b["training/course"]["required"].append("room")

    with pytest.raises(PublishFailed) as caught:
        await publish(db, slug, edited(edit), actor="a", allow_destructive=True)
    assert caught.value.code == "PUBLISH_FAILED"
    assert "give the field a default or make it optional first" in caught.value.message
    assert await state(db, slug) == before


async def test_narrowing_type_change_is_flagged_and_converts_when_allowed(
    db: Database, slug: str
) -> None:
    await publish(db, slug, docs(bodies()), actor="a")
    await add_courses(db, slug, 1, price=12.5)
    new = edited(lambda b: course_props(b).update(price={"type": "integer"}))
    planned = await plan(db, slug, new)
    (step,) = planned.destructive_steps
    assert "narrowing" in step.reason
    with pytest.raises(DestructiveChange):
        await publish(db, slug, new, actor="a")
    await publish(db, slug, new, actor="a", allow_destructive=True)
    course = await table(db, slug, "training/course")
    assert await db.fetchval(f"SELECT price FROM {course}") == 13


async def test_a_failing_step_rolls_back_everything(db: Database, slug: str) -> None:
    # given duplicate values where a later step adds a unique constraint
    await publish(db, slug, docs(bodies()), actor="a")
    trainee = await table(db, slug, "training/trainee")
    await db.execute(f"INSERT INTO {trainee} (name, department) VALUES ('a', 'hr'), ('b', 'hr')")
    before = await state(db, slug)

    def edit(b: Bodies) -> None:
        course_props(b)["room"] = {"type": "string"}  # an earlier step that succeeds
        b["training/trainee"]["properties"]["department"]["x-unique"] = True

    # when
    with pytest.raises(PublishFailed) as caught:
        await publish(db, slug, edited(edit), actor="a")
    # then the error names the step and the database's reason, and nothing was applied
    assert "add unique constraint training_trainee_department_key" in caught.value.message
    assert caught.value.details["step"].startswith("add unique constraint")
    assert "databaseMessage" in caught.value.details
    assert "room" not in await columns(db, slug, "training_course")
    assert await state(db, slug) == before


async def test_a_busy_table_fails_the_publish_after_a_bounded_wait(
    db: Database, database_url: str, slug: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a long-running reader holding a lock on the table a step must alter
    await publish(db, slug, docs(bodies()), actor="a")
    before = await state(db, slug)
    monkeypatch.setattr(lifecycle, "DDL_LOCK_TIMEOUT", "200ms")
    reader = await asyncpg.connect(database_url)
    try:
        await reader.execute("BEGIN")
        await reader.execute(f"LOCK TABLE {await table(db, slug, 'training/course')} IN SHARE MODE")
        # when
        with pytest.raises(PublishFailed) as caught:
            await publish(
                db,
                slug,
                edited(lambda b: course_props(b).update(room={"type": "string"})),
                actor="a",
            )
        # then
        assert "busy" in caught.value.hint
        await reader.execute("ROLLBACK")
    finally:
        await reader.close()
    assert await state(db, slug) == before


async def test_publish_inside_a_callers_transaction_restores_its_lock_timeout(
    db: Database, slug: str
) -> None:
    async with db.transaction() as conn:
        await conn.execute("SET LOCAL lock_timeout = '3s'")
        await lifecycle.publish(conn, slug, docs(bodies()), actor="a")
        assert await conn.fetchval("SHOW lock_timeout") == "3s"
    assert (await get_tenant(db, slug)).metadata_version == 2


async def test_a_schema_changed_by_hand_is_reported(db: Database, slug: str) -> None:
    # given a table dropped behind Rapport's back
    await publish(db, slug, docs(bodies()), actor="a")
    await db.execute(f"DROP TABLE {await table(db, slug, 'training/enrollment')}")

    def edit(b: Bodies) -> None:
        del b["training/enrollment"]
        del course_props(b)["trainees"]

    # when a plan needs its rows
    with pytest.raises(PublishFailed) as caught:
        await publish(db, slug, edited(edit), actor="a", allow_destructive=True)
    # then
    assert "changed by hand" in caught.value.hint


async def test_invalid_documents_change_nothing(db: Database, slug: str) -> None:
    before = await state(db, slug)
    bad = edited(lambda b: course_props(b).update(trainer={"format": "uuid", "x-relation": {}}))
    with pytest.raises(MetadataInvalid):
        await publish(db, slug, bad, actor="a")
    assert await state(db, slug) == before


# --- versions -----------------------------------------------------------------------------------


async def test_rollback_reproduces_an_earlier_schema(db: Database, slug: str) -> None:
    # given version 2 and a different version 3
    await publish(db, slug, docs(bodies()), actor="a")
    v2 = await state(db, slug)

    def edit(b: Bodies) -> None:
        course_props(b).pop("website")
        course_props(b)["room"] = {"type": "string", "default": "A"}
        b["training/trainer"]["properties"]["email"].pop("x-unique")

    await publish(db, slug, edited(edit), actor="a", allow_destructive=True)
    assert (await state(db, slug))[1] != v2[1]
    # when rolling back to version 2
    with pytest.raises(DestructiveChange):
        await rollback(db, slug, 2, actor="bob")
    result = await rollback(db, slug, 2, actor="bob", allow_destructive=True)
    # then a new version holds version 2's schema and documents
    assert result.version == 4
    assert await state(db, slug) == (4, v2[1])
    assert await export(db, slug) == await export(db, slug, 2)
    assert (await versions(db, slug))[-1].note == "rollback to version 2"


async def test_unknown_versions_are_not_found(db: Database, slug: str) -> None:
    with pytest.raises(NotFound) as caught:
        await rollback(db, slug, 9, actor="a")
    assert "no metadata version 9" in caught.value.message
    with pytest.raises(NotFound):
        await export(db, slug, 0)
    with pytest.raises(TenantNotFound):
        await export(db, "no_such_tenant")


async def test_export_round_trip_reproduces_the_schema_in_another_tenant(
    db: Database, slug: str, tmp_path: Path
) -> None:
    # given a tenant at version 2
    await publish(db, slug, docs(bodies()), actor="a")
    assert await export(db, slug, 1) == ()
    # when its documents are exported to a folder and published into another tenant
    write_folder(await export(db, slug), tmp_path)
    other = f"lc_{secrets.token_hex(4)}"
    await create_tenant(db, other)
    await publish(db, other, read_folder(tmp_path), actor="a")
    # then both schemas are identical
    mine, theirs = await state(db, slug), await state(db, other)
    assert mine[1] == theirs[1]
    assert {d.id for d in await export(db, other)} == set(bodies())


async def test_concurrent_publishes_one_wins_and_a_stale_version_conflicts(
    db: Database, slug: str
) -> None:
    current = (await get_tenant(db, slug)).metadata_version
    first = docs(bodies())
    second = docs({k: v for k, v in bodies().items() if k.startswith("org/")})
    # when two admins publish against the same version at once
    results = await gather_outcomes(
        publish(db, slug, first, actor="a", expected_version=current),
        publish(db, slug, second, actor="b", expected_version=current),
    )
    # then exactly one succeeded and the other got a conflict naming the current version
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], MetadataConflict)
    assert losses[0].code == "METADATA_CONFLICT"
    assert losses[0].details["currentVersion"] == current + 1
    assert (await get_tenant(db, slug)).metadata_version == current + 1


async def gather_outcomes(*calls: Any) -> list[Any]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_listeners_hear_each_publish_and_nothing_else(
    db: Database, database_url: str, slug: str
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url)

    def on_notify(_: Any, __: int, channel: str, payload: str) -> None:
        heard.put_nowait(payload)

    await listener.add_listener("rapport_metadata", on_notify)
    try:
        # when a publish succeeds
        result = await publish(db, slug, docs(bodies()), actor="a")
        # then its version is announced
        payload = await asyncio.wait_for(heard.get(), timeout=5)
        assert payload == f"{slug}:{result.version}"
        # and a refused or unchanged publish announces nothing
        await add_courses(db, slug, 1)
        with pytest.raises(DestructiveChange):
            await publish(db, slug, edited(lambda b: course_props(b).pop("website")), actor="a")
        await publish(db, slug, docs(bodies()), actor="a")
        await asyncio.sleep(0.3)
        assert heard.empty()
    finally:
        await listener.close()


# --- drafts -------------------------------------------------------------------------------------


async def test_draft_is_saved_planned_and_consumed_by_publish(db: Database, slug: str) -> None:
    # given no draft
    assert await get_draft(db, slug) is None
    with pytest.raises(NotFound) as caught:
        await plan(db, slug)
    assert "no draft" in caught.value.message and caught.value.hint
    # when a draft is saved (twice: the second replaces the first)
    await save_draft(db, slug, docs({"org/employee": bodies()["org/employee"]}), actor="a")
    await save_draft(db, slug, docs(bodies()), actor="bob")
    # then it is read back, planned and published
    draft = await get_draft(db, slug)
    assert draft is not None
    assert [d.as_json() for d in draft] == [d.as_json() for d in docs(bodies())]
    assert any(
        s.summary.startswith("create table training_course") for s in (await plan(db, slug)).steps
    )
    result = await publish(db, slug, actor="bob")
    assert result.version == 2
    assert await get_draft(db, slug) is None
    with pytest.raises(NotFound):
        await publish(db, slug, actor="bob")


async def test_an_invalid_draft_is_not_saved(db: Database, slug: str) -> None:
    bad = edited(lambda b: course_props(b).update(trainer={"x-relation": {"entity": "no/such"}}))
    with pytest.raises(MetadataInvalid) as caught:
        await save_draft(db, slug, bad, actor="a")
    assert caught.value.problems
    assert await get_draft(db, slug) is None


async def test_stale_expected_version_is_a_conflict(db: Database, slug: str) -> None:
    with pytest.raises(MetadataConflict) as caught:
        await publish(db, slug, docs(bodies()), actor="a", expected_version=0)
    assert caught.value.hint
    assert (await get_tenant(db, slug)).metadata_version == 1


# --- speed --------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_publish_added_field_on_100k_rows(db: Database, slug: str) -> None:
    await publish(db, slug, docs(bodies()), actor="a")
    course = await table(db, slug, "training/course")
    await db.execute(
        f"INSERT INTO {course} (title, level, price) "
        "SELECT 'c' || g, 'beginner', g FROM generate_series(1, 100000) AS g"
    )
    new = edited(lambda b: course_props(b).update(room={"type": "string", "default": "A-1"}))
    started = time.perf_counter()
    result = await publish(db, slug, new, actor="a")
    elapsed = time.perf_counter() - started
    print(f"\npublish of an added field on 100,000 rows: {elapsed * 1000:.0f} ms")
    assert result.version == 3
    assert await db.fetchval(f"SELECT count(*) FROM {course} WHERE room = 'A-1'") == 100_000
    assert json.loads(json.dumps(result.plan.as_dict()))[0]["destructive"] is False


async def test_stored_documents_keep_their_field_order(db: Database, slug: str) -> None:
    # given an entity whose fields are not in alphabetical or length order
    body = {
        "$id": "order/item",
        "type": "object",
        "properties": {
            "zulu": {"type": "string"},
            "alpha": {"type": "string"},
            "mike": {"type": "integer"},
            "b": {"type": "boolean"},
        },
    }
    # when it is published and read back (the runtime's path) and exported
    await publish(db, slug, documents_from_json([body]), actor="test")
    _, metadata = await load_published(db, slug)
    # then field order is the document's
    fields = [f.name for f in metadata.model.entity("order/item").fields]
    assert fields == ["zulu", "alpha", "mike", "b"]
    exported = await export(db, slug)
    assert list(exported[0].as_json()["properties"]) == ["zulu", "alpha", "mike", "b"]
