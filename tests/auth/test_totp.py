"""TOTP at rest and the 0010 migration of rows written before it (plaintext secrets, global seq)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyotp
import pytest

from rapport.auth import totp
from rapport.crypto.keys import KeyRing
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import DecryptionFailed

MIGRATIONS = Path(__file__).parents[2] / "migrations"
KEYRING = KeyRing([bytes(32)])


@pytest.fixture(scope="module")
async def before_0010(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Database:
    """A catalog migrated up to 0009, with rows as the code before 0010 wrote them."""
    older = tmp_path_factory.mktemp("migrations")
    for file in sorted(MIGRATIONS.glob("*.sql")):
        if file.name < "0010":
            shutil.copy(file, older / file.name)
    await migrate(database, source=older)
    return database


async def _old_tenant(db: Database, slug: str) -> str:
    return str(
        await db.fetchval(
            "INSERT INTO rapport.tenants (slug, name, schema_name) VALUES ($1, $1, $1) "
            "RETURNING id::text",
            slug,
        )
    )


async def test_the_migration_seals_plaintext_secrets_and_numbers_old_entries(
    before_0010: Database,
) -> None:
    # given: a user with a plaintext secret, another with a pending enrolment, and audit
    # entries of two tenants written with one catalog-wide sequence
    db = before_0010
    tenant_id, other_id = [await _old_tenant(db, slug) for slug in ("legacy", "legacy_b")]
    secret = pyotp.random_base32()
    enabled = await db.fetchval(
        "INSERT INTO rapport.users (tenant_id, login, totp_secret, totp_enabled) "
        "VALUES ($1, 'old', $2, true) RETURNING id::text",
        tenant_id,
        secret,
    )
    await db.execute(
        "INSERT INTO rapport.users (tenant_id, login, totp_secret) VALUES ($1, 'pending', $2)",
        tenant_id,
        secret,
    )
    # (as 0009's code wrote them: the chain's hashes do not matter to the numbering)
    for owner in (tenant_id, other_id, tenant_id):
        await db.execute(
            "WITH head AS (UPDATE rapport.audit_head SET seq = seq + 1 RETURNING seq) "
            "INSERT INTO rapport.audit_entries (seq, at, tenant_id, action, data, prev_hash, "
            "leaf_hash) SELECT seq, now(), $1, 'auth.login', '{}', '\\x00', '\\x00' FROM head",
            owner,
        )
    # when
    applied = await migrate(db)
    sealed = await totp.seal_plaintext(db, KEYRING)
    # then: no plaintext remains; the sealed secret opens and a code of it is accepted once
    assert applied[0] == "0010_duties_sessions"  # then the later migrations, if any
    assert sealed == 2
    rows = await db.fetch(
        "SELECT login, totp_secret, totp_sealed, totp_pending FROM rapport.users "
        "WHERE tenant_id = $1 ORDER BY login",
        tenant_id,
    )
    assert [r["totp_secret"] for r in rows] == [None, None]
    assert rows[0]["totp_sealed"] is not None and rows[1]["totp_pending"] is not None
    assert secret.encode() not in bytes(rows[0]["totp_sealed"])
    async with db.transaction() as conn:
        code = pyotp.TOTP(secret).now()
        assert await totp.check_code(conn, KEYRING, tenant_id, enabled, code)
        assert not await totp.check_code(conn, KEYRING, tenant_id, enabled, code)
    numbered = await db.fetch(
        "SELECT tenant_id::text AS tenant_id, tenant_seq FROM rapport.audit_entries "
        "WHERE tenant_id IN ($1::uuid, $2::uuid) ORDER BY seq",
        tenant_id,
        other_id,
    )
    for owner in (tenant_id, other_id):
        mine = [r["tenant_seq"] for r in numbered if r["tenant_id"] == owner]
        assert mine == list(range(1, len(mine) + 1))
    # and each tenant's head continues from its last number
    heads = await db.fetch(
        "SELECT tenant_id::text AS tenant_id, seq FROM rapport.audit_tenant_heads "
        "WHERE tenant_id IN ($1::uuid, $2::uuid)",
        tenant_id,
        other_id,
    )
    assert {r["tenant_id"]: r["seq"] for r in heads} == {tenant_id: 2, other_id: 1}
    assert await totp.seal_plaintext(db, KEYRING) == 0  # idempotent


async def test_a_sealed_secret_does_not_open_for_another_user(before_0010: Database) -> None:
    # given: user b's row carries a copy of user a's sealed secret
    db = before_0010
    await migrate(db)
    tenant_id = await _old_tenant(db, "copycat")
    secret = pyotp.random_base32()
    a, b = [
        await db.fetchval(
            "INSERT INTO rapport.users (tenant_id, login, totp_secret, totp_enabled) "
            "VALUES ($1, $2, $3, true) RETURNING id::text",
            tenant_id,
            login,
            secret,
        )
        for login in ("a", "b")
    ]
    await totp.seal_plaintext(db, KEYRING)
    await db.execute(
        "UPDATE rapport.users SET totp_sealed = (SELECT totp_sealed FROM rapport.users "
        "WHERE id = $1::uuid) WHERE id = $2::uuid",
        a,
        b,
    )
    # when / then
    async with db.transaction() as conn:
        with pytest.raises(DecryptionFailed, match="copied from another record"):
            await totp.check_code(conn, KEYRING, tenant_id, b, pyotp.TOTP(secret).now())
