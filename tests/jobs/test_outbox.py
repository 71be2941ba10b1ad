"""enqueue: a row in the caller's transaction, a NOTIFY at commit, dedupe, refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import ValidationFailed
from rapport.jobs.outbox import CHANNEL, enqueue, load_row


class _Rollback(Exception):
    pass


async def test_the_row_exists_exactly_when_the_transaction_commits(
    database: Database, tenant: Tenant
) -> None:
    # given a listener on the outbox channel
    listener = await asyncpg.connect(database.dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    try:
        # when one transaction rolls back and another commits
        with pytest.raises(_Rollback):
            async with database.transaction() as conn:
                lost = await enqueue(
                    conn, tenant_id=tenant.id, topic="entity.create", payload={"n": 1}
                )
                raise _Rollback
        async with database.transaction() as conn:
            kept = await enqueue(
                conn,
                tenant_id=tenant.id,
                topic="entity.create",
                payload={"n": 2, "at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
            # then nothing is announced before the commit
            await asyncio.sleep(0.1)
            assert heard.empty()
        # then only the committed row exists, and it is announced once committed
        assert await load_row(database, lost) is None
        row = await load_row(database, kept)
        assert row is not None
        assert (row.topic, row.tenant_id, dict(row.payload)) == (
            "entity.create",
            tenant.id,
            {"n": 2, "at": "2026-01-01T00:00:00+00:00"},
        )
        assert await asyncio.wait_for(heard.get(), 5) == kept
    finally:
        await listener.close()


async def test_a_dedupe_key_makes_the_second_enqueue_a_no_op(
    database: Database, tenant: Tenant
) -> None:
    # given / when the same effect enqueued twice
    async with database.transaction() as conn:
        first = await enqueue(
            conn, tenant_id=tenant.id, topic="webhook.deliver", payload={}, dedupe_key="k1"
        )
        second = await enqueue(
            conn, tenant_id=tenant.id, topic="webhook.deliver", payload={}, dedupe_key="k1"
        )
    # then one row
    assert first == second
    count = await database.fetchval("SELECT count(*) FROM rapport.outbox WHERE dedupe_key = 'k1'")
    assert count == 1


async def test_a_future_job_is_not_announced(database: Database, tenant: Tenant) -> None:
    # given a listener
    listener = await asyncpg.connect(database.dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    try:
        # when a job is due in two days
        later = datetime.now(UTC) + timedelta(days=2)
        async with database.transaction() as conn:
            outbox_id = await enqueue(
                conn, tenant_id=tenant.id, topic="entity.update", payload={}, not_before=later
            )
        await asyncio.sleep(0.2)
        # then it waits in the table, unannounced
        assert heard.empty()
        row = await load_row(database, outbox_id)
        assert row is not None and row.not_before == later
    finally:
        await listener.close()


async def test_unknown_topics_and_naive_times_are_refused(
    database: Database, tenant: Tenant
) -> None:
    async with database.transaction() as conn:
        # when a topic has no handler
        with pytest.raises(ValidationFailed, match="no job handler is registered") as caught:
            await enqueue(conn, tenant_id=tenant.id, topic="entity.crate", payload={})
        # then the hint lists the registered topics
        assert "entity.create" in caught.value.hint
        # when the time has no zone
        with pytest.raises(ValidationFailed, match="timezone-aware"):
            await enqueue(
                conn,
                tenant_id=tenant.id,
                topic="entity.create",
                payload={},
                not_before=datetime(2030, 1, 1),
            )
