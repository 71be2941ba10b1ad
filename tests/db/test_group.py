"""Group commit: concurrent writes of one tenant share a transaction, each in a savepoint; a
unit returns only once the batch is committed; a failing unit takes only its own writes back."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from rapport.audit.checkpoints import CheckpointSigner
from rapport.audit.log import append_entry
from rapport.audit.verify import verify_log
from rapport.db.catalog import migrate
from rapport.db.database import Database

SIGNER = CheckpointSigner(bytes(range(32)), interval=4)


@pytest.fixture(scope="module", autouse=True)
async def migrated(database: Database) -> None:
    await migrate(database)
    await database.execute("CREATE TABLE grouped (tenant uuid, n int, txid bigint)")
    # Checked at commit: two units inserting the same n make their whole batch's commit fail.
    await database.execute(
        "CREATE TABLE deferred (n int UNIQUE DEFERRABLE INITIALLY DEFERRED, tenant uuid)"
    )


async def _audited_write(database: Database, tenant: str, n: int) -> int:
    async with database.grouped(tenant) as conn:
        await conn.execute("INSERT INTO grouped VALUES ($1::uuid, $2, txid_current())", tenant, n)
        return await append_entry(
            conn, tenant_id=tenant, actor="u", action="record.create", signer=SIGNER, data={"n": n}
        )


async def test_concurrent_writes_of_a_tenant_share_commits_and_chain_intact(
    database: Database,
) -> None:
    # given
    tenant = str(uuid.uuid4())

    # when: 40 writes at once
    numbers = await asyncio.gather(*(_audited_write(database, tenant, n) for n in range(40)))

    # then: all committed, numbered 1..40 without gaps, in fewer transactions than writes
    assert sorted(numbers) == list(range(1, 41))
    rows = await database.fetch("SELECT n, txid FROM grouped WHERE tenant = $1::uuid", tenant)
    assert sorted(r["n"] for r in rows) == list(range(40))
    assert len({r["txid"] for r in rows}) < 40
    async with database.acquire() as conn:
        report = await verify_log(conn, SIGNER, tenant_ids=[tenant])
    assert report.intact, report.problems
    assert report.entries == 40 and report.checkpoints == 10


async def test_a_failing_unit_takes_back_only_its_own_writes(database: Database) -> None:
    # given
    tenant = str(uuid.uuid4())

    async def failing() -> None:
        async with database.grouped(tenant) as conn:
            await conn.execute("INSERT INTO grouped VALUES ($1::uuid, -1, 0)", tenant)
            await append_entry(conn, tenant_id=tenant, actor="x", action="x", signer=SIGNER)
            raise ValueError("this write is refused")

    # when: it runs among ten good writes
    results = await asyncio.gather(
        *(_audited_write(database, tenant, n) for n in range(5)),
        failing(),
        *(_audited_write(database, tenant, n) for n in range(5, 10)),
        return_exceptions=True,
    )

    # then: it raised its own error; the others committed with numbers 1..10, no gap
    errors = [r for r in results if isinstance(r, BaseException)]
    assert [str(e) for e in errors] == ["this write is refused"]
    assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 11))
    ns = await database.fetch("SELECT n FROM grouped WHERE tenant = $1::uuid", tenant)
    assert sorted(r["n"] for r in ns) == list(range(10))
    async with database.acquire() as conn:
        report = await verify_log(conn, SIGNER, tenant_ids=[tenant])
    assert report.intact, report.problems


async def test_when_the_commit_fails_no_unit_of_the_batch_is_acknowledged(
    database: Database,
) -> None:
    # given: units whose batch cannot commit (a deferred unique constraint checked at commit)
    tenant = str(uuid.uuid4())

    async def unit(n: int) -> int:
        async with database.grouped(tenant) as conn:
            await conn.execute("INSERT INTO deferred VALUES ($1, $2::uuid)", n, tenant)
            return await append_entry(
                conn, tenant_id=tenant, actor="u", action="record.create", signer=SIGNER
            )

    # when
    results = await asyncio.gather(*(unit(7) for _ in range(6)), return_exceptions=True)

    # then: whatever shared the failed commit raised; nothing of theirs is stored
    failed = sum(isinstance(r, Exception) for r in results)
    stored = await database.fetchval(
        "SELECT count(*) FROM deferred WHERE tenant = $1::uuid", tenant
    )
    entries = await database.fetchval(
        "SELECT count(*) FROM rapport.audit_entries WHERE tenant_id = $1::uuid", tenant
    )
    assert failed >= 2
    assert stored == entries == len(results) - failed <= 1
    async with database.acquire() as conn:
        report = await verify_log(conn, SIGNER, tenant_ids=[tenant])
    assert report.intact, report.problems


async def test_two_tenants_never_share_a_transaction(database: Database) -> None:
    # given
    one, two = str(uuid.uuid4()), str(uuid.uuid4())

    # when
    await asyncio.gather(*(_audited_write(database, one if n % 2 else two, n) for n in range(20)))

    # then
    rows = await database.fetch(
        "SELECT tenant, txid FROM grouped WHERE tenant = ANY($1::uuid[])", [one, two]
    )
    by_tx: dict[int, set[str]] = {}
    for r in rows:
        by_tx.setdefault(r["txid"], set()).add(str(r["tenant"]))
    assert all(len(tenants) == 1 for tenants in by_tx.values())


async def test_a_unit_cancelled_in_line_does_not_strand_the_batch(database: Database) -> None:
    # given: a unit holds the turn while another waits in line
    tenant = str(uuid.uuid4())
    release = asyncio.Event()

    async def first() -> int:
        async with database.grouped(tenant) as conn:
            await conn.execute("INSERT INTO grouped VALUES ($1::uuid, 1, 0)", tenant)
            await release.wait()
            return 1

    async def second() -> None:
        async with database.grouped(tenant):
            raise AssertionError("never runs: cancelled in line")

    one = asyncio.create_task(first())
    await asyncio.sleep(0.05)
    two = asyncio.create_task(second())
    await asyncio.sleep(0.05)

    # when: the one in line is cancelled, then the first finishes (it sees someone in line)
    release.set()
    await asyncio.sleep(0)
    two.cancel()

    # then: the first's write still commits and it returns
    assert await asyncio.wait_for(one, 5) == 1
    assert (
        await database.fetchval("SELECT count(*) FROM grouped WHERE tenant = $1::uuid", tenant) == 1
    )
