"""Held anonymous records (rapport.plugins.held): a batch waits until it holds its minimum or
its deadline passes, then its records are written in one transaction, as the principal
anonymous, day-coarse, and the held rows are gone."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.documents import DocumentKind, documents_from_json
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.plugins.held import held_count, hold_anonymous, release_anonymous, release_now
from rapport.records.writer import RecordWriter

NOTE = {"$id": "box/note", "type": "object", "properties": {"text": {"type": "string"}}}
GRANT = {
    "$id": "box/anonymous-note",
    "title": "the anonymous path writes notes",
    "role": "anonymous",
    "entity": "box/note",
    "actions": ["create"],
    "fields": {"read": ["id"], "write": ["text"]},
}


@pytest.fixture
async def writer(database: Database) -> RecordWriter:
    await migrate(database)
    slug = f"held_{secrets.token_hex(3)}"
    await create_tenant(database, slug, "Held")
    documents = documents_from_json([NOTE, {"kind": DocumentKind.PERMISSION.value, "body": GRANT}])
    await publish(database, slug, documents, actor="test")
    tenant, metadata = await load_published(database, slug)
    return RecordWriter(
        tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )


async def _hold(db: Database, writer: RecordWriter, text: str, batch: str, by: dt.datetime) -> None:
    entity = writer.metadata.model.entity("box/note")
    async with db.transaction() as conn:
        await hold_anonymous(
            conn, writer, entity, {"text": text}, batch=batch, minimum=3, release_by=by
        )


async def _notes(db: Database, writer: RecordWriter) -> list[dict[str, object]]:
    rows = await db.fetch(
        f'SELECT text, created_by, created_at, xmin::text AS x FROM "{writer.tenant.schema}".box_note'
    )
    return [dict(r) for r in rows]


async def test_a_batch_waits_for_its_minimum_then_goes_out_in_one_transaction(
    database: Database, writer: RecordWriter
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    # given two of a batch of minimum three are held
    for text in ("a", "b"):
        await _hold(database, writer, text, "wave:1", later)
    # then a release writes nothing yet
    assert await release_anonymous(database, participants=KERNEL.participants) == 0
    assert await _notes(database, writer) == []
    # when the third arrives, the three are written together
    await _hold(database, writer, "c", "wave:1", later)
    assert await release_anonymous(database, participants=KERNEL.participants) == 3
    notes = await _notes(database, writer)
    assert sorted(str(n["text"]) for n in notes) == ["a", "b", "c"]
    assert {n["created_by"] for n in notes} == {"anonymous"}
    assert len({n["x"] for n in notes}) == 1
    assert all(
        isinstance(n["created_at"], dt.datetime) and n["created_at"].time() == dt.time()
        for n in notes
    )
    async with database.transaction() as conn:
        assert await held_count(conn, writer.tenant.id, "box/note", "wave:1") == 0


async def test_a_batch_past_its_deadline_or_let_go_goes_out_whatever_its_size(
    database: Database, writer: RecordWriter
) -> None:
    now = dt.datetime.now(dt.UTC)
    await _hold(database, writer, "late", "wave:2", now - dt.timedelta(minutes=1))
    await _hold(database, writer, "early", "wave:3", now + dt.timedelta(days=1))
    assert await release_anonymous(database, participants=KERNEL.participants) == 1
    assert [n["text"] for n in await _notes(database, writer)] == ["late"]
    # when the other wave closes early, its one answer need not wait for the deadline
    async with database.transaction() as conn:
        await release_now(conn, writer.tenant.id, "box/note", "wave:3")
    assert await release_anonymous(database, participants=KERNEL.participants) == 1


async def test_a_held_input_the_writer_refuses_rolls_its_batch_back(
    database: Database, writer: RecordWriter
) -> None:
    # given a held input with a field the anonymous path may not write
    entity = writer.metadata.model.entity("box/note")
    async with database.transaction() as conn:
        await hold_anonymous(
            conn,
            writer,
            entity,
            {"text": 1},
            batch="wave:4",
            minimum=1,
            release_by=dt.datetime.now(dt.UTC),
        )
    # then the release fails loudly (the cron job is retried) and nothing is lost
    with pytest.raises(Exception, match="text"):
        await release_anonymous(database, participants=KERNEL.participants)
    async with database.transaction() as conn:
        assert await held_count(conn, writer.tenant.id, "box/note", "wave:4") == 1
    await database.execute("DELETE FROM rapport.anonymous_held WHERE batch = 'wave:4'")
