"""Tampering with the audit tables directly in SQL is detected, and per log the first bad entry
named; another tenant's log stays intact and says so."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from rapport.audit.canonical import Entry
from rapport.audit.checkpoints import CheckpointSigner, write_current_checkpoint
from rapport.audit.log import append_entry
from rapport.audit.verify import Report, verify_log
from rapport.db.catalog import migrate
from rapport.db.database import Database
from tests.databases import scratch_database

SEED = bytes(range(32))
SIGNER = CheckpointSigner(SEED, interval=1000)
TENANT = "6f1d4c52-8d4e-4d7b-9a53-2f0c2f7c7a11"
MINE = f"tenant_id = '{TENANT}'"  # SQL: the rows of TENANT's log
OTHER = "0b8e6a3e-5a0e-4a57-8f6c-1c2d3e4f5a6b"


@pytest.fixture
async def log(server_dsn: str) -> AsyncIterator[tuple[Database, str]]:
    """A fresh database whose tenant log holds 6 entries, the first 4 under a signed
    checkpoint, beside another tenant's log (3 entries) and the operator log (2)."""
    async with scratch_database(server_dsn, "rapport_audit") as scratch:
        db = await Database.connect(scratch.url, min_size=1, max_size=3)
        try:
            await migrate(db)
            for i in range(6):
                async with db.transaction() as conn:
                    await append_entry(
                        conn,
                        tenant_id=TENANT,
                        actor="alice",
                        action="record.update",
                        entity="hr/employee",
                        record_id=f"r{i}",
                        data={"changed": {"title": {"before": f"t{i}", "after": f"t{i + 1}"}}},
                        signer=SIGNER,
                    )
                    if i < 3:
                        await append_entry(
                            conn, tenant_id=OTHER, actor="bob", action="auth.login", signer=SIGNER
                        )
                    if i < 2:
                        await append_entry(
                            conn, tenant_id=None, actor="op", action="tenant.create", signer=SIGNER
                        )
                if i == 3:
                    async with db.transaction() as conn:
                        await write_current_checkpoint(conn, SIGNER, TENANT)
            yield db, scratch.url
        finally:
            await db.close()


async def tamper(db: Database, *statements: str) -> None:
    """Run SQL as a superuser who switched the append-only triggers off."""
    async with db.transaction() as conn:
        await conn.execute("SET LOCAL session_replication_role = replica")
        for sql in statements:
            await conn.execute(sql)


async def check(db: Database) -> Report:
    async with db.acquire() as conn:
        return await verify_log(conn, SIGNER)


async def test_an_intact_log_verifies(log: tuple[Database, str]) -> None:
    # given
    db, _ = log
    # when
    report = await check(db)
    # then
    assert report.intact and (report.logs, report.entries, report.checkpoints) == (3, 11, 1)


async def test_edited_data_is_named(log: tuple[Database, str]) -> None:
    # given
    db, _ = log
    await tamper(
        db,
        "UPDATE rapport.audit_entries SET data = '{\"changed\": {}}' "
        f"WHERE {MINE} AND tenant_seq = 3",
    )
    # when
    report = await check(db)
    # then
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (3, "edited")


async def test_an_entry_rewritten_with_its_hash_is_named(log: tuple[Database, str]) -> None:
    # given: the attacker also recomputes the leaf hash of the entry they changed
    db, _ = log
    row = await db.fetchrow(f"SELECT * FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 5")
    forged = Entry(
        5,
        row["at"],
        TENANT,
        "mallory",
        row["action"],
        row["entity"],
        row["record_id"],
        {},
        bytes(row["prev_hash"]),
    )
    await tamper(
        db,
        "UPDATE rapport.audit_entries SET actor = 'mallory', data = '{}', "
        f"leaf_hash = '\\x{forged.leaf_hash().hex()}' WHERE {MINE} AND tenant_seq = 5",
    )
    # when
    report = await check(db)
    # then: entry 6 links to the old hash of entry 5
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (5, "edited")


async def test_a_deleted_entry_is_named(log: tuple[Database, str]) -> None:
    # given
    db, _ = log
    await tamper(db, f"DELETE FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 2")
    # when
    report = await check(db)
    # then
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (2, "deleted")


async def test_a_truncated_tail_is_named(log: tuple[Database, str]) -> None:
    # given: the last entries go, and the head row is rolled back to match
    db, _ = log
    await tamper(
        db,
        f"DELETE FROM rapport.audit_entries WHERE {MINE} AND tenant_seq >= 3",
        f"UPDATE rapport.audit_tenant_heads SET seq = 2 WHERE {MINE}",
    )
    # when
    report = await check(db)
    # then: the signed checkpoint of 4 entries gives it away
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (3, "deleted")


async def test_an_inserted_entry_is_named(log: tuple[Database, str]) -> None:
    # given: a well-formed entry (correct hashes) appended behind the log's back
    db, _ = log
    last = await db.fetchrow(f"SELECT * FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 6")
    forged = Entry(
        7,
        last["at"],
        TENANT,
        "mallory",
        "record.delete",
        "hr/employee",
        "r9",
        {},
        bytes(last["leaf_hash"]),
    )
    await tamper(
        db,
        "INSERT INTO rapport.audit_entries (tenant_seq, at, tenant_id, actor, action, entity, "
        "record_id, data, prev_hash, leaf_hash) "
        "SELECT 7, at, tenant_id, 'mallory', 'record.delete', "
        f"entity, 'r9', '{{}}', leaf_hash, '\\x{forged.leaf_hash().hex()}' "
        f"FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 6",
    )
    # when
    report = await check(db)
    # then
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (7, "inserted")


async def test_an_entry_slipped_into_the_middle_is_named(log: tuple[Database, str]) -> None:
    # given: entries 4..6 renumbered 5..7 and a forged, well-chained entry 4 put in between
    db, _ = log
    third = await db.fetchrow(
        f"SELECT * FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 3"
    )
    forged = Entry(
        4,
        third["at"],
        TENANT,
        "mallory",
        "record.delete",
        "hr/employee",
        "x",
        {},
        bytes(third["leaf_hash"]),
    )
    await tamper(
        db,
        f"UPDATE rapport.audit_entries SET tenant_seq = tenant_seq + 100 "
        f"WHERE {MINE} AND tenant_seq >= 4",
        f"UPDATE rapport.audit_entries SET tenant_seq = tenant_seq - 99 "
        f"WHERE {MINE} AND tenant_seq >= 100",
        "INSERT INTO rapport.audit_entries (tenant_seq, at, tenant_id, actor, action, entity, "
        "record_id, data, prev_hash, leaf_hash) "
        "SELECT 4, at, tenant_id, 'mallory', 'record.delete', "
        f"entity, 'x', '{{}}', leaf_hash, '\\x{forged.leaf_hash().hex()}' "
        f"FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 3",
    )
    # when
    report = await check(db)
    # then: entry 5 (old 4) was written as 4, so 4 was slipped in
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (4, "inserted")


async def test_swapped_entries_are_named(log: tuple[Database, str]) -> None:
    # given
    db, _ = log
    await tamper(
        db,
        f"UPDATE rapport.audit_entries SET tenant_seq = 100 WHERE {MINE} AND tenant_seq = 2",
        f"UPDATE rapport.audit_entries SET tenant_seq = 2 WHERE {MINE} AND tenant_seq = 5",
        f"UPDATE rapport.audit_entries SET tenant_seq = 5 WHERE {MINE} AND tenant_seq = 100",
    )
    # when
    report = await check(db)
    # then
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (2, "reordered")
    assert "written as entry 5" in report.first.detail


async def test_a_forged_checkpoint_signature_is_detected(log: tuple[Database, str]) -> None:
    # given: a checkpoint signed with another key
    db, _ = log
    other = CheckpointSigner(bytes(32))
    async with db.acquire() as conn:
        at = await conn.fetchval("SELECT now()")
    forged = other.sign(TENANT, 6, b"\x11" * 32, at)
    await tamper(
        db,
        "INSERT INTO rapport.audit_checkpoints "
        "(tenant_id, tree_size, root_hash, at, key_id, signature) "
        f"VALUES ('{TENANT}', 6, '\\x{forged.root.hex()}', now(), '{SIGNER.key_id}', "
        f"'\\x{forged.signature.hex()}')",
    )
    # when
    report = await check(db)
    # then
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (6, "checkpoint")
    assert "invalid signature" in report.first.detail


async def test_a_log_rewritten_with_consistent_hashes_fails_the_signed_root(
    log: tuple[Database, str],
) -> None:
    # given: entries 1..6 rewritten and re-chained from scratch (a full forgery)
    db, _ = log
    rows = await db.fetch(
        "SELECT * FROM rapport.audit_entries WHERE tenant_id = $1 ORDER BY tenant_seq", TENANT
    )
    prev = bytes(32)
    statements = []
    for row in rows:
        entry = Entry(
            row["tenant_seq"],
            row["at"],
            TENANT,
            "mallory",
            row["action"],
            row["entity"],
            row["record_id"],
            {},
            prev,
        )
        prev = entry.leaf_hash()
        statements.append(
            f"UPDATE rapport.audit_entries SET actor = 'mallory', data = '{{}}', "
            f"prev_hash = '\\x{entry.prev_hash.hex()}', leaf_hash = '\\x{prev.hex()}' "
            f"WHERE seq = {row['seq']}"
        )
    await tamper(
        db,
        *statements,
        f"UPDATE rapport.audit_tenant_heads SET leaf_hash = '\\x{prev.hex()}' WHERE {MINE}",
    )
    # when
    report = await check(db)
    # then
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (4, "edited")
    assert "checkpoint" in report.first.detail


async def test_the_cli_exits_non_zero_naming_the_first_bad_entry(
    log: tuple[Database, str], tmp_path: object
) -> None:
    # given
    db, url = log
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        RAPPORT_DATABASE_URL=url,
        RAPPORT_ENV="test",
        RAPPORT_DATA_DIR=str(tmp_path),
        RAPPORT_AUDIT_SIGNING_KEY=base64.b64encode(SEED).decode(),
    )
    command = [sys.executable, "-m", "rapport.cli", "audit", "verify"]
    intact = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    await tamper(db, f"DELETE FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 4")

    # when
    damaged = subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    # then
    assert intact.returncode == 0, intact.stderr
    assert "intact: 3 log(s), 11 entries" in intact.stdout
    assert damaged.returncode == 1
    assert f"tenant {TENANT} audit log damaged at entry 4: deleted" in damaged.stderr
    assert "operator audit log" not in damaged.stderr


async def test_each_damaged_log_names_its_own_first_entry(log: tuple[Database, str]) -> None:
    # given: an entry of TENANT's log deleted, and OTHER's entry 2 moved into TENANT's log
    db, _ = log
    await tamper(
        db,
        f"DELETE FROM rapport.audit_entries WHERE {MINE} AND tenant_seq = 2",
        f"UPDATE rapport.audit_entries SET tenant_id = '{TENANT}' "
        f"WHERE tenant_id = '{OTHER}' AND tenant_seq = 2",
    )
    # when
    report = await check(db)
    # then: both logs name their first bad entry; the operator log is intact
    firsts = {(p.tenant_id, p.seq, p.kind) for p in report.first_per_log()}
    assert firsts == {(TENANT, 2, "edited"), (OTHER, 2, "deleted")}
    assert all(p.tenant_id is not None for p in report.problems)
