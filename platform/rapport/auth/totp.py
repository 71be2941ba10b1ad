"""TOTP second factor (RFC 6238, pyotp): enrol, confirm, disable, verify.

Enrolment stores a fresh secret (not yet enabled) and returns the ``otpauth://`` URI exactly
once; confirming with a current code enables it. The secret is never returned afterwards.
"""

from __future__ import annotations

import pyotp

from rapport.auth.auditing import audit
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.errors import BadRequest, NotFound

__all__ = ["confirm", "disable", "enroll", "verify"]

ISSUER = "Rapport"


def verify(secret: str, code: str) -> bool:
    """True for the current code or one step either side (clock drift)."""
    return pyotp.TOTP(secret).verify(code.strip(), valid_window=1)


async def enroll(db: Database, tenant: str, user_id: str) -> str:
    """A new secret for the user (disabled until confirmed); its otpauth URI."""
    tenant_row = await get_tenant(db, tenant)
    secret = pyotp.random_base32()
    async with db.transaction() as conn:
        login = await conn.fetchval(
            "UPDATE rapport.users SET totp_secret = $3, totp_enabled = false, updated_at = now() "
            "WHERE tenant_id = $1 AND id::text = $2 RETURNING login",
            tenant_row.id,
            user_id,
            secret,
        )
        if login is None:
            raise NotFound("The token's user does not exist.", hint="Log in as a tenant user.")
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=user_id,
            action="user.totp_enroll",
            record_id=user_id,
        )
    uri: str = pyotp.TOTP(secret).provisioning_uri(name=f"{login}@{tenant}", issuer_name=ISSUER)
    return uri


async def confirm(db: Database, tenant: str, user_id: str, code: str) -> None:
    tenant_row = await get_tenant(db, tenant)
    async with db.transaction() as conn:
        secret = await conn.fetchval(
            "SELECT totp_secret FROM rapport.users WHERE tenant_id = $1 AND id::text = $2 "
            "FOR UPDATE",
            tenant_row.id,
            user_id,
        )
        if secret is None:
            raise BadRequest(
                "No TOTP enrolment is pending.", hint="Enrol first: POST /auth/totp/enroll."
            )
        if not verify(secret, code):
            raise BadRequest(
                "The TOTP code is wrong.", hint="Enter the current code of your authenticator app."
            )
        await conn.execute(
            "UPDATE rapport.users SET totp_enabled = true, updated_at = now() WHERE id::text = $1",
            user_id,
        )
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=user_id,
            action="user.totp_enable",
            record_id=user_id,
        )


async def disable(db: Database, tenant: str, user_id: str, code: str) -> None:
    tenant_row = await get_tenant(db, tenant)
    async with db.transaction() as conn:
        secret = await conn.fetchval(
            "SELECT totp_secret FROM rapport.users WHERE tenant_id = $1 AND id::text = $2 "
            "AND totp_enabled FOR UPDATE",
            tenant_row.id,
            user_id,
        )
        if secret is None or not verify(secret, code):
            raise BadRequest(
                "TOTP is not enabled, or the code is wrong.",
                hint="Send the current code of your authenticator app.",
            )
        await conn.execute(
            "UPDATE rapport.users SET totp_secret = NULL, totp_enabled = false, "
            "updated_at = now() WHERE id::text = $1",
            user_id,
        )
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=user_id,
            action="user.totp_disable",
            record_id=user_id,
        )
