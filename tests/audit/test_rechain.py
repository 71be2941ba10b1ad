"""Migration 0011 and the re-chaining step: a populated catalog-wide log becomes one verified
log per tenant (and the operator log), in its old order, re-checkpointed."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from rapport.audit.checkpoints import CheckpointSigner
from rapport.audit.log import append_entry
from rapport.audit.rechain import rechain_legacy_logs
from rapport.audit.verify import verify_log
from rapport.db.catalog import migrate
from rapport.db.database import Database

MIGRATIONS = Path(__file__).parents[2] / "migrations"
SIGNER = CheckpointSigner(bytes(range(32)), interval=2)
A, B = str(uuid.uuid4()), str(uuid.uuid4())
# The old log, in catalog order: (tenant, record); None is an operator act.
OLD = [(A, "a1"), (None, "op1"), (B, "b1"), (A, "a2"), (A, "a3"), (B, "b2"), (None, "op2")]

# As the code before 0011 appended: one catalog-wide head and sequence, a number per tenant.
_OLD_APPEND = """
WITH head AS (UPDATE rapport.audit_head SET seq = seq + 1 RETURNING seq),
tenant_head AS (
    INSERT INTO rapport.audit_tenant_heads AS h (tenant_id, seq)
    SELECT $1::uuid, 1 WHERE $1::uuid IS NOT NULL
    ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + 1
    RETURNING seq
)
INSERT INTO rapport.audit_entries
    (seq, at, tenant_id, actor, action, record_id, data, prev_hash, leaf_hash, tenant_seq)
SELECT head.seq, clock_timestamp(), $1::uuid, 'alice', 'record.update', $2,
       '{"changed": {"name": {"after": "Zoë", "before": null}}, "amount": "1.5"}',
       '\\x00', sha256(head.seq::text::bytea), (SELECT seq FROM tenant_head)
FROM head
"""


@pytest.fixture(scope="module")
async def old_log(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Database:
    """A catalog migrated up to 0010 whose log holds OLD and one catalog-wide checkpoint."""
    older = tmp_path_factory.mktemp("migrations")
    for file in sorted(MIGRATIONS.glob("*.sql")):
        if file.name < "0011":
            shutil.copy(file, older / file.name)
    await migrate(database, source=older)
    for tenant_id, record_id in OLD:
        await database.execute(_OLD_APPEND, tenant_id, record_id)
    await database.execute(
        "INSERT INTO rapport.audit_checkpoints (tree_size, root_hash, at, key_id, signature) "
        "VALUES (7, '\\x01', now(), 'ed25519:old', '\\x02')"
    )
    return database


async def test_an_old_log_is_rechained_per_tenant_in_its_old_order(old_log: Database) -> None:
    # given: the migration ran, and a worker appended to tenant A's log before re-chaining
    db = old_log
    assert await migrate(db) == ["0011_audit_per_tenant"]
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
    # given: the previous test migrated and re-chained
    db = old_log
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
