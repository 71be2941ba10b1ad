"""Migration 0011 and the re-chaining step: a populated catalog-wide log becomes one verified
log per tenant (and the operator log), in its old order, re-checkpointed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rapport.audit.canonical import Entry
from rapport.audit.checkpoints import CheckpointSigner
from rapport.audit.log import append_entry
from rapport.audit.rechain import rechain_legacy_logs
from rapport.audit.verify import verify_log
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import RapportError
from tests.databases import scratch_database

MIGRATIONS = Path(__file__).parents[2] / "migrations"
SIGNER = CheckpointSigner(bytes(range(32)), interval=2)
A, B = str(uuid.uuid4()), str(uuid.uuid4())
# The old log, in catalog order: (tenant, record); None is an operator act.
OLD = [(A, "a1"), (None, "op1"), (B, "b1"), (A, "a2"), (A, "a3"), (B, "b2"), (None, "op2")]

DATA = {"changed": {"name": {"after": "Zoë", "before": None}}, "amount": "1.5"}
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


async def _write_old_log(db: Database) -> None:
    """OLD as the code before 0011 appended it: one chain over the catalog-wide ``seq`` (not
    hashing ``tenant_seq``), one head row, one catalog-wide checkpoint."""
    prev, numbers = bytes(32), dict[str | None, int]()
    for seq, (tenant_id, record_id) in enumerate(OLD, start=1):
        entry = Entry(
            seq,
            START + dt.timedelta(seconds=seq),
            tenant_id,
            "alice",
            "record.update",
            None,
            record_id,
            DATA,
            prev,
        )
        numbers[tenant_id] = numbers.get(tenant_id, 0) + 1
        await db.execute(
            "INSERT INTO rapport.audit_entries (seq, at, tenant_id, actor, action, record_id, "
            "data, prev_hash, leaf_hash, tenant_seq) "
            "VALUES ($1, $2, $3::uuid, $4, $5, $6, $7::text::jsonb, $8, $9, $10)",
            seq,
            entry.at,
            tenant_id,
            entry.actor,
            entry.action,
            record_id,
            json.dumps(DATA),
            prev,
            entry.leaf_hash(),
            None if tenant_id is None else numbers[tenant_id],
        )
        prev = entry.leaf_hash()
    await db.execute("UPDATE rapport.audit_head SET seq = $1, leaf_hash = $2", len(OLD), prev)
    await db.execute(
        "INSERT INTO rapport.audit_tenant_heads (tenant_id, seq) VALUES ($1, 3), ($2, 2)", A, B
    )
    await db.execute(
        "INSERT INTO rapport.audit_checkpoints (tree_size, root_hash, at, key_id, signature) "
        "VALUES (7, '\\x01', now(), 'ed25519:old', '\\x02')"
    )


@pytest.fixture
async def old_log(server_dsn: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh catalog migrated up to 0010 whose log holds OLD."""
    for file in sorted(MIGRATIONS.glob("*.sql")):
        if file.name < "0011":
            shutil.copy(file, tmp_path / file.name)
    async with scratch_database(server_dsn, "rapport_rechain") as scratch:
        db = await Database.connect(scratch.url, min_size=1, max_size=3)
        try:
            await migrate(db, source=tmp_path)
            await _write_old_log(db)
            yield db
        finally:
            await db.close()


async def test_an_old_log_is_rechained_per_tenant_in_its_old_order(old_log: Database) -> None:
    # given: the migration ran, and a worker appended to tenant A's log before re-chaining
    db = old_log
    applied = await migrate(db)
    assert applied[0] == "0011_audit_per_tenant"  # then the later migrations, if any
    async with db.transaction() as conn:
        assert (
            await append_entry(
                conn,
                tenant_id=A,
                actor="bob",
                action="record.update",
                record_id="a4",
                signer=SIGNER,
            )
            == 4
        )
    async with db.acquire() as conn:
        pending = await verify_log(conn, SIGNER)
    assert {p.kind for p in pending.problems} == {"legacy"} and pending.logs == 3

    # when
    rechained = await rechain_legacy_logs(db, SIGNER)

    # then: every log verifies; each holds its entries 1..n in their old order
    assert rechained == 3
    async with db.acquire() as conn:
        report = await verify_log(conn, SIGNER)
    assert report.intact, report.problems
    assert (report.logs, report.entries) == (3, 8)
    for tenant_id, records in (
        (A, ["a1", "a2", "a3", "a4"]),
        (B, ["b1", "b2"]),
        (None, ["op1", "op2"]),
    ):
        rows = await db.fetch(
            "SELECT tenant_seq, record_id FROM rapport.audit_entries "
            "WHERE tenant_id IS NOT DISTINCT FROM $1::uuid ORDER BY seq",
            tenant_id,
        )
        assert [r["record_id"] for r in rows] == records
        assert [r["tenant_seq"] for r in rows] == list(range(1, len(records) + 1))
        sizes = await db.fetch(
            "SELECT tree_size FROM rapport.audit_checkpoints "
            "WHERE tenant_id IS NOT DISTINCT FROM $1::uuid ORDER BY tree_size",
            tenant_id,
        )
        assert [s["tree_size"] for s in sizes] == list(range(2, len(records) + 1, 2))
    # and the catalog-wide chain's evidence is kept as it was
    assert await db.fetchval("SELECT count(*) FROM rapport.audit_v1_hashes") == 7
    assert await db.fetchval("SELECT key_id FROM rapport.audit_v1_checkpoints") == "ed25519:old"


async def test_the_rechained_logs_go_on_and_rechaining_runs_once(old_log: Database) -> None:
    # given: migrated and re-chained
    db = old_log
    await migrate(db)
    await rechain_legacy_logs(db, SIGNER)
    # when
    again = await rechain_legacy_logs(db, SIGNER)
    async with db.transaction() as conn:
        number = await append_entry(conn, tenant_id=B, actor="bob", action="x", signer=SIGNER)
    # then
    assert again == 0
    assert number == 3
    async with db.acquire() as conn:
        report = await verify_log(conn, SIGNER, tenant_ids=[B])
    assert report.intact and report.entries == 3, report.problems


async def test_a_damaged_old_log_is_refused_not_laundered(old_log: Database) -> None:
    # given: an old entry edited behind the log's back, then the migration
    db = old_log
    async with db.transaction() as conn:
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("UPDATE rapport.audit_entries SET actor = 'mallory' WHERE seq = 4")
    await migrate(db)
    before = await db.fetch("SELECT seq, leaf_hash FROM rapport.audit_entries ORDER BY seq")

    # when / then: refused, naming the entry, and nothing was rewritten
    with pytest.raises(RapportError, match="entry 4 no longer matches its hash"):
        await rechain_legacy_logs(db, SIGNER)
    assert await db.fetch("SELECT seq, leaf_hash FROM rapport.audit_entries ORDER BY seq") == before
    assert await db.fetchval("SELECT bool_and(legacy) FROM rapport.audit_tenant_heads")
