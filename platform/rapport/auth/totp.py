"""TOTP second factor (RFC 6238): enrol, confirm, disable, reset, and the check at login.

- Secrets are sealed at rest with the tenant's data key (:mod:`rapport.crypto`, associated data
  naming the user, so a sealed secret copied to another user's row does not open). Enrolment
  returns the ``otpauth://`` URI exactly once; the secret is never returned afterwards.
- A code is accepted once per user and time step (``totp_last_step``): a code seen on the wire
  cannot be replayed within its window.
- Enrolling a new secret while TOTP is enabled, and disabling it, need a current code; the new
  secret stays pending (the old one keeps working) until confirmed with a code of its own. So a
  stolen access token alone cannot replace or remove the second factor. Whoever lost the device
  asks a security administrator for :func:`reset` (audited, ends the user's sessions).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence

import pyotp

from rapport.auth.auditing import audit
from rapport.auth.revocation import revoke_subject
from rapport.crypto.cipher import Sealed
from rapport.crypto.keys import KeyRing
from rapport.crypto.rotation import SealedColumn
from rapport.db.database import Connection, Database
from rapport.db.tenants import get_tenant
from rapport.errors import BadRequest, NotFound, VersionConflict

__all__ = [
    "ISSUER",
    "SEALED",
    "check_code",
    "confirm",
    "disable",
    "enroll",
    "reset",
    "seal_plaintext",
]

ISSUER = "Rapport"
STEP_SECONDS = 30
_WRONG = BadRequest(
    "The TOTP code is wrong or was already used.",
    hint="Enter the current code of your authenticator app (each code works once).",
    path=("code",),
)


def _aad(user_id: str) -> bytes:
    return f"rapport-totp|{user_id}".encode()


# The sealed secrets, for `rapport keys rotate --reencrypt` (rapport.crypto.rotation).
SEALED = tuple(
    SealedColumn("rapport.users", column, ("id",), lambda row: _aad(str(row["id"])))
    for column in ("totp_sealed", "totp_pending")
)


async def _seal(
    conn: Connection, keyring: KeyRing, tenant_id: str, user_id: str, secret: str
) -> bytes:
    key = await keyring.for_write(conn, tenant_id)
    return Sealed.seal(key.cipher, key.key_id, key.key, secret.encode(), _aad(user_id))


async def _open(
    conn: Connection, keyring: KeyRing, tenant_id: str, user_id: str, sealed: bytes
) -> str:
    parsed = Sealed.parse(sealed)
    key = (await keyring.for_read(conn, tenant_id, [parsed.key_id]))[parsed.key_id]
    return parsed.open(key.key, _aad(user_id)).decode()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (current or one either side, for clock drift) whose code is ``code``."""
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code.strip()):
            return step
    return None


async def check_code(
    conn: Connection,
    keyring: KeyRing,
    tenant_id: str,
    user_id: str,
    code: str,
    *,
    pending: bool = False,
) -> bool:
    """Whether ``code`` is a fresh code of the user's (pending) secret; consumes its step.

    Runs in the caller's transaction, which must have locked the user's row.
    """
    row = await conn.fetchrow(
        "SELECT totp_sealed, totp_pending, totp_last_step FROM rapport.users WHERE id = $1::uuid",
        user_id,
    )
    if row is None or row["totp_pending" if pending else "totp_sealed"] is None:
        return False
    sealed = row["totp_pending" if pending else "totp_sealed"]
    secret = await _open(conn, keyring, tenant_id, user_id, bytes(sealed))
    step = _matching_step(secret, code, time.time())
    if step is None or step <= int(row["totp_last_step"]):
        return False
    await conn.execute(
        "UPDATE rapport.users SET totp_last_step = $2 WHERE id = $1::uuid", user_id, step
    )
    return True


async def _locked_user(conn: Connection, tenant_id: str, user_id: str) -> tuple[str, bool]:
    row = await conn.fetchrow(
        "SELECT login, totp_enabled FROM rapport.users WHERE tenant_id = $1 AND id::text = $2 "
        "FOR UPDATE",
        tenant_id,
        user_id,
    )
    if row is None:
        raise NotFound("The token's user does not exist.", hint="Log in as a tenant user.")
    return str(row["login"]), bool(row["totp_enabled"])


async def enroll(
    db: Database, keyring: KeyRing, tenant: str, user_id: str, code: str | None
) -> str:
    """A new pending secret for the user; its otpauth URI. With TOTP enabled, ``code`` must be
    a current code of the enabled secret."""
    tenant_row = await get_tenant(db, tenant)
    secret = pyotp.random_base32()
    async with db.transaction() as conn:
        login, enabled = await _locked_user(conn, tenant_row.id, user_id)
        if enabled and not (code and await check_code(conn, keyring, tenant_row.id, user_id, code)):
            raise BadRequest(
                "Replacing an enabled second factor needs a current code of it.",
                hint='Send {"code": "123456"} from your authenticator app; if you lost it, ask '
                "a security administrator to reset your TOTP.",
                path=("code",),
            )
        await conn.execute(
            "UPDATE rapport.users SET totp_pending = $2, updated_at = now() WHERE id = $1::uuid",
            user_id,
            await _seal(conn, keyring, tenant_row.id, user_id, secret),
        )
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=user_id,
            action="user.totp_enroll",
            record_id=user_id,
        )
    uri: str = pyotp.TOTP(secret).provisioning_uri(name=f"{login}@{tenant}", issuer_name=ISSUER)
    return uri


async def confirm(db: Database, keyring: KeyRing, tenant: str, user_id: str, code: str) -> None:
    """Enable the pending secret, given a code of it."""
    tenant_row = await get_tenant(db, tenant)
    async with db.transaction() as conn:
        await _locked_user(conn, tenant_row.id, user_id)
        pending = await conn.fetchval(
            "SELECT totp_pending IS NOT NULL FROM rapport.users WHERE id = $1::uuid", user_id
        )
        if not pending:
            raise BadRequest(
                "No TOTP enrolment is pending.", hint="Enrol first: POST /auth/totp/enroll."
            )
        if not await check_code(conn, keyring, tenant_row.id, user_id, code, pending=True):
            raise _WRONG
        await conn.execute(
            "UPDATE rapport.users SET totp_sealed = totp_pending, totp_pending = NULL, "
            "totp_secret = NULL, totp_enabled = true, updated_at = now() WHERE id = $1::uuid",
            user_id,
        )
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=user_id,
            action="user.totp_enable",
            record_id=user_id,
        )


async def disable(db: Database, keyring: KeyRing, tenant: str, user_id: str, code: str) -> None:
    """Remove the second factor, given a current code of it."""
    tenant_row = await get_tenant(db, tenant)
    async with db.transaction() as conn:
        _, enabled = await _locked_user(conn, tenant_row.id, user_id)
        if not enabled or not await check_code(conn, keyring, tenant_row.id, user_id, code):
            raise BadRequest(
                "TOTP is not enabled, or the code is wrong or was already used.",
                hint="Send the current code of your authenticator app.",
                path=("code",),
            )
        await _clear(conn, user_id)
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=user_id,
            action="user.totp_disable",
            record_id=user_id,
        )


async def reset(
    db: Database, tenant_id: str, user_id: str, *, actor: str, expected_roles: Sequence[str]
) -> None:
    """A security administrator's reset of a lost second factor: cleared, sessions ended.

    Applies only while the user holds ``expected_roles`` (those the duty model ruled on)."""
    async with db.transaction() as conn:
        same = await conn.fetchval(
            "SELECT roles = $2::text[] FROM rapport.users WHERE id = $1::uuid FOR UPDATE",
            user_id,
            list(expected_roles),
        )
        if not same:
            raise VersionConflict(
                "The user's roles changed while the reset was checked.",
                hint="Retry: the separation of duties is decided on the account as it is now.",
            )
        await _clear(conn, user_id)
        await revoke_subject(conn, subject=user_id, tenant_id=tenant_id)
        await audit(
            conn, tenant_id=tenant_id, actor=actor, action="user.totp_reset", record_id=user_id
        )


async def _clear(conn: Connection, user_id: str) -> None:
    await conn.execute(
        "UPDATE rapport.users SET totp_secret = NULL, totp_sealed = NULL, totp_pending = NULL, "
        "totp_enabled = false, updated_at = now() WHERE id = $1::uuid",
        user_id,
    )


async def seal_plaintext(db: Database, keyring: KeyRing) -> int:
    """Seal the plaintext secrets of rows written before sealing existed; how many.

    Run at start-up after the catalog migrations (the SQL migration cannot: it never sees the
    master key). Idempotent; each row is sealed and cleared in one transaction.
    """
    async with db.transaction() as conn:
        rows = await conn.fetch(
            "SELECT id::text AS id, tenant_id::text AS tenant_id, totp_secret FROM rapport.users "
            "WHERE totp_secret IS NOT NULL FOR UPDATE"
        )
        for row in rows:
            sealed = await _seal(conn, keyring, row["tenant_id"], row["id"], row["totp_secret"])
            # An enrolment that was never confirmed stays pending.
            await conn.execute(
                "UPDATE rapport.users SET totp_secret = NULL, "
                "totp_sealed = CASE WHEN totp_enabled THEN $2::bytea END, "
                "totp_pending = CASE WHEN totp_enabled THEN NULL ELSE $2::bytea END "
                "WHERE id = $1::uuid",
                row["id"],
                sealed,
            )
    return len(rows)
