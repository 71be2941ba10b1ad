"""Held anonymous entries join each tenant's own log the next day, numbered after it."""

from __future__ import annotations

import datetime as dt

from rapport.audit.checkpoints import default_signer
from rapport.audit.held import hold_entry, release_held
from rapport.audit.log import append_entry
from rapport.audit.verify import verify_log
from rapport.db.catalog import migrate
from rapport.db.database import Database


async def _tenant(db: Database, slug: str) -> str:
    return str(
        await db.fetchval(
            "INSERT INTO rapport.tenants (slug, name, schema_name) VALUES ($1, $1, $1) "
            "RETURNING id::text",
            slug,
        )
    )


async def test_held_entries_of_two_tenants_join_their_own_logs(database: Database) -> None:
    # given: tenant one logged an event, then both tenants' anonymous writes were held
    await migrate(database)
    one, two = await _tenant(database, "held_one"), await _tenant(database, "held_two")
    async with database.transaction() as conn:
        await append_entry(conn, tenant_id=one, actor="alice", action="auth.login")
        for tenant_id in (one, two, one, two, two):
            await hold_entry(
                conn,
                tenant_id=tenant_id,
                action="record.create",
                entity="c",
                record_id=None,
                data={"via": "anonymous"},
            )
    today = dt.datetime.now(dt.UTC).date()

    # when
    released = await release_held(database, today=today + dt.timedelta(days=1))

    # then: each tenant's log numbers its own entries on, at the day's midnight
    assert released == 5
    midnight = dt.datetime.combine(today, dt.time(), dt.UTC)
    for tenant_id, numbers in ((one, [2, 3]), (two, [1, 2, 3])):
        rows = await database.fetch(
            "SELECT tenant_seq, at, actor FROM rapport.audit_entries "
            "WHERE tenant_id = $1::uuid AND action = 'record.create' ORDER BY tenant_seq",
            tenant_id,
        )
        assert [r["tenant_seq"] for r in rows] == numbers
        assert {(r["at"], r["actor"]) for r in rows} == {(midnight, None)}
    async with database.acquire() as conn:
        report = await verify_log(conn, default_signer(), tenant_ids=[one, two])
    assert report.intact and report.entries == 6, report.problems
