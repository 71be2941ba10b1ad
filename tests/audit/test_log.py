"""append_entry: one entry per call, in the caller's transaction, chained and checkpointed per
log; the logs of two tenants share no lock."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from rapport.audit.checkpoints import CheckpointSigner
from rapport.audit.log import append_entry
from rapport.audit.merkle import frontier_root, root
from rapport.audit.verify import verify_log
from rapport.db.catalog import migrate
from rapport.db.database import Connection, Database

SIGNER = CheckpointSigner(bytes(range(32)), interval=5)


@pytest.fixture(scope="module", autouse=True)
async def migrated(database: Database) -> None:
    await migrate(database)


async def test_entries_get_consecutive_numbers_in_commit_order(database: Database) -> None:
    # given: ten concurrent transactions, each appending one entry
    async def one(i: int) -> int:
        async with database.transaction() as conn:
            return await append_entry(
                conn,
                tenant_id=None,
                actor=f"user{i}",
                action="auth.login",
                signer=SIGNER,
                data={"i": i, "amount": 1.5},
            )

    # when
    seqs = await asyncio.gather(*(one(i) for i in range(10)))

    # then: no gaps, no duplicates, and the chain verifies
    rows = await database.fetch(
        "SELECT tenant_seq, data FROM rapport.audit_entries WHERE tenant_id IS NULL "
        "ORDER BY tenant_seq"
    )
    assert sorted(seqs) == [r["tenant_seq"] for r in rows][-10:]
    assert json.loads(rows[-1]["data"])["amount"] == "1.5"  # floats are stored as exact text
    async with database.acquire() as conn:
        report = await verify_log(conn, SIGNER)
    assert report.intact, report.problems


async def test_a_rolled_back_append_leaves_no_gap(database: Database) -> None:
    # given
    before = await database.fetchval(
        "SELECT seq FROM rapport.audit_tenant_heads WHERE tenant_id IS NULL"
    )
    with pytest.raises(RuntimeError):
        async with database.transaction() as conn:
            await append_entry(conn, tenant_id=None, actor="x", action="auth.login", signer=SIGNER)
            raise RuntimeError("the change failed")

    # when
    async with database.transaction() as conn:
        seq = await append_entry(
            conn, tenant_id=None, actor="y", action="auth.logout", signer=SIGNER
        )

    # then
    assert seq == before + 1


async def test_checkpoints_are_signed_at_the_interval_and_match_the_root(
    database: Database,
) -> None:
    # given: the log has more than one interval of entries
    async with database.transaction() as conn:
        for _ in range(5):
            await append_entry(conn, tenant_id=None, actor="x", action="auth.login", signer=SIGNER)

    # when
    rows = await database.fetch(
        "SELECT * FROM rapport.audit_checkpoints WHERE tenant_id IS NULL ORDER BY tree_size"
    )
    leaves = [
        bytes(r["leaf_hash"])
        for r in await database.fetch(
            "SELECT leaf_hash FROM rapport.audit_entries WHERE tenant_id IS NULL "
            "ORDER BY tenant_seq"
        )
    ]
    head = await database.fetchrow(
        "SELECT frontier FROM rapport.audit_tenant_heads WHERE tenant_id IS NULL"
    )

    # then
    assert [r["tree_size"] % 5 for r in rows] == [0] * len(rows) and rows
    for row in rows:
        assert bytes(row["root_hash"]) == root(leaves[: row["tree_size"]])
    assert frontier_root([bytes(f) for f in head["frontier"]]) == root(leaves)


async def test_the_table_refuses_update_delete_and_truncate(database: Database) -> None:
    # given / when / then: the trigger refuses, with a message that says why
    for sql in (
        "UPDATE rapport.audit_entries SET actor = 'mallory'",
        "DELETE FROM rapport.audit_entries",
        "TRUNCATE rapport.audit_entries",
        "DELETE FROM rapport.audit_checkpoints",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await database.execute(sql)


async def test_an_application_role_cannot_change_entries(database: Database) -> None:
    # given: an application role with the privileges the migration grants
    async with database.acquire() as conn:
        await conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rapport_app_test')"
            " THEN CREATE ROLE rapport_app_test; END IF; END $$"
        )
        await conn.execute("GRANT USAGE ON SCHEMA rapport TO rapport_app_test")
        await conn.execute("GRANT SELECT, INSERT ON rapport.audit_entries TO rapport_app_test")
        async with conn.raw.transaction():
            await conn.execute("SET LOCAL ROLE rapport_app_test")
            # when / then: no UPDATE privilege at all (REVOKE ... FROM PUBLIC)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("UPDATE rapport.audit_entries SET actor = 'mallory'")


async def test_each_tenant_numbers_its_entries_without_gaps_from_other_tenants(
    database: Database,
) -> None:
    # given: two tenants whose events interleave, concurrently, with a rolled-back append
    one, two = str(uuid.uuid4()), str(uuid.uuid4())  # audit_entries keeps no tenant foreign key

    async def event(tenant_id: str, i: int) -> None:
        async with database.transaction() as conn:
            await append_entry(
                conn,
                tenant_id=tenant_id,
                actor="u",
                action="auth.login",
                signer=SIGNER,
                data={"i": i},
            )

    # when
    await asyncio.gather(*(event(one if i % 3 else two, i) for i in range(30)))
    with pytest.raises(RuntimeError):
        async with database.transaction() as conn:
            await append_entry(conn, tenant_id=one, actor="x", action="auth.login", signer=SIGNER)
            raise RuntimeError("rolled back")
    await event(one, 99)

    # then: each tenant sees 1..n in log order, whatever the other did; the chain verifies
    for tenant_id, count in ((one, 21), (two, 10)):
        rows = await database.fetch(
            "SELECT tenant_seq FROM rapport.audit_entries WHERE tenant_id = $1::uuid "
            "ORDER BY tenant_seq",
            tenant_id,
        )
        assert [r["tenant_seq"] for r in rows] == list(range(1, count + 1))
    async with database.acquire() as conn:
        report = await verify_log(conn, SIGNER)
    assert report.intact, report.problems


async def _append(conn: Connection, tenant_id: str, actor: str) -> int:
    return await append_entry(
        conn, tenant_id=tenant_id, actor=actor, action="record.update", signer=SIGNER
    )


async def test_an_open_append_of_one_tenant_does_not_block_another_tenant(
    database: Database,
) -> None:
    # given: tenant A's append, its transaction still open (its log head locked)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    async with database.transaction() as holding:
        await _append(holding, a, "first")

        # when: tenant B appends and commits meanwhile, and so tries a second writer of A
        async def other(tenant_id: str) -> int:
            async with database.transaction() as conn:
                return await _append(conn, tenant_id, "second")

        b_seq = await asyncio.wait_for(other(b), timeout=5)
        blocked = asyncio.ensure_future(other(a))
        done, _ = await asyncio.wait({blocked}, timeout=1)

        # then: B did not wait; A's second writer waits for A's head until the first commits
        assert b_seq == 1
        assert not done
    assert await asyncio.wait_for(blocked, timeout=5) == 2
    async with database.acquire() as conn:
        report = await verify_log(conn, SIGNER, tenant_ids=[a, b])
    assert report.intact and report.entries == 3, report.problems


async def test_an_entry_hash_covers_its_tenant_and_number(database: Database) -> None:
    # given: the same event appended to two tenants' logs
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    async with database.transaction() as conn:
        await _append(conn, a, "same")
        await _append(conn, b, "same")
        await _append(conn, a, "same")
    # when
    rows = await database.fetch(
        "SELECT tenant_id::text AS tenant_id, tenant_seq, leaf_hash FROM rapport.audit_entries "
        "WHERE tenant_id IN ($1::uuid, $2::uuid)",
        a,
        b,
    )
    # then: every entry starts or continues its own chain, and no two hash alike
    assert sorted((r["tenant_id"] == a, r["tenant_seq"]) for r in rows) == [
        (False, 1),
        (True, 1),
        (True, 2),
    ]
    assert len({bytes(r["leaf_hash"]) for r in rows}) == 3
