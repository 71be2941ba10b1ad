"""RecordWriter lets participants see, adjust, refuse and follow every write, in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Connection, Database
from rapport.errors import Forbidden, NotFound, ValidationFailed
from rapport.metadata.documents import read_folder
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal
from rapport.records.change import Action, Change, PendingChange, WriteParticipant
from rapport.records.writer import RecordWriter

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"
ALICE = Principal(tenant="writes", subject="alice", roles=frozenset({"admin"}))


class Recorder(WriteParticipant):
    """Records what it sees; upper-cases trainee names; refuses the name 'forbidden'."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Action, str | None, str | None, tuple[str, ...]]] = []

    async def before_write(self, conn: Connection, change: PendingChange) -> PendingChange:
        name = change.input.get("name")
        if name == "forbidden":
            raise Forbidden("That name is not allowed.")
        if isinstance(name, str):
            return change.with_input({**change.input, "name": name.upper()})
        return change

    async def after_write(self, conn: Connection, change: Change) -> None:
        before = change.before["name"] if change.before else None
        after = change.after["name"] if change.after else None
        self.seen.append((change.via, change.action, before, after, change.changed_fields))
        if after == "ROLLBACK":
            raise Forbidden("The changed record breaks a rule.")


@pytest.fixture(scope="module")
async def writer(database: Database) -> AsyncIterator[tuple[RecordWriter, Recorder]]:
    await migrate(database)
    await create_tenant(database, "writes")
    await publish(database, "writes", read_folder(FIXTURES), actor="test")
    tenant, metadata = await load_published(database, "writes")
    recorder = Recorder()
    yield (
        RecordWriter(tenant, metadata, participants=[recorder], sealers=KeyRingSealers()),
        recorder,
    )


async def test_participants_see_and_adjust_each_change(
    database: Database, writer: tuple[RecordWriter, Recorder]
) -> None:
    records, recorder = writer
    trainee = records.metadata.model.entity("training/trainee")
    recorder.seen.clear()
    async with database.transaction() as conn:
        record_id = await records.create(conn, trainee, {"name": "ada"}, principal=ALICE)
        await records.update(
            conn, trainee, record_id, {"department": "HR"}, expected_version=1, principal=ALICE
        )
        await records.delete(conn, trainee, record_id, principal=ALICE, via="import")
    assert recorder.seen == [
        ("graphql", Action.CREATE, None, "ADA", ("name",)),
        ("graphql", Action.UPDATE, "ADA", "ADA", ("department",)),
        ("import", Action.DELETE, "ADA", None, ("department", "name")),
    ]


async def test_a_refusal_before_or_after_the_write_leaves_nothing(
    database: Database, writer: tuple[RecordWriter, Recorder]
) -> None:
    records, _ = writer
    trainee = records.metadata.model.entity("training/trainee")
    count = f'SELECT count(*) FROM "{records.tenant.schema}".training_trainee'
    before = await database.fetchval(count)
    for name in ("forbidden", "rollback"):
        with pytest.raises(Forbidden):
            async with database.transaction() as conn:
                await records.create_many(
                    conn,
                    trainee,
                    [{"name": "fine"}, {"name": name}],
                    principal=ALICE,
                    paths=[("inputs", 0), ("inputs", 1)],
                )
    assert await database.fetchval(count) == before


async def test_upsert_tells_participants_whether_it_created_or_updated(
    database: Database, writer: tuple[RecordWriter, Recorder]
) -> None:
    records, recorder = writer
    trainer = records.metadata.model.entity("training/trainer")
    recorder.seen.clear()
    async with database.transaction() as conn:
        for name in ("Wang", "Li"):
            await records.upsert(
                conn,
                trainer,
                {"name": name, "email": "t@example.com"},
                key="email",
                principal=ALICE,
            )
    assert [(action, before, after) for _, action, before, after, _ in recorder.seen] == [
        (Action.CREATE, None, "WANG"),
        (Action.UPDATE, "WANG", "LI"),
    ]


async def test_errors_of_the_sql_layer_keep_their_paths(
    database: Database, writer: tuple[RecordWriter, Recorder]
) -> None:
    records, _ = writer
    trainee = records.metadata.model.entity("training/trainee")
    async with database.transaction() as conn:
        with pytest.raises(NotFound):
            await records.update(
                conn,
                trainee,
                "00000000-0000-0000-0000-000000000000",
                {"name": "x"},
                expected_version=None,
                principal=ALICE,
            )
    async with database.transaction() as conn:
        with pytest.raises(ValidationFailed) as caught:
            await records.delete(conn, trainee, "not-a-uuid", principal=ALICE)
    assert caught.value.errors[0].path == ("id",)
