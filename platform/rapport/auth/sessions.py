"""Password login, refresh-token rotation, logout, lockout and the revoked-token list.

- ``login``: checks the password (argon2id; unknown logins verify a dummy hash, so timing and
  the error are the same as for a wrong password), the lockout and, where required, a TOTP code;
  answers an access JWT (the kernel format: ``sub`` = user id, ``tenant``, ``roles``) and an
  opaque refresh token stored as its SHA-256.
- ``refresh``: replaces the refresh token with the next of its family (rotation). Presenting a
  used or revoked token again revokes the whole family: someone replayed a stolen token.
  Idle timeout = refresh token lifetime; absolute timeout = the family's ``session_ends``.
- ``logout``: ends that session: revokes the family and the access token's ``jti``
  (``rapport.revoked_tokens``; :mod:`rapport.auth.revocation` makes every instance refuse it,
  and closes subscriptions opened with it). Other sessions of the user stay; a password reset,
  role change or disabling ends them all.

Every outcome (login, failed login, lockout, logout) appends an audit entry; a failed login's
entry is committed even though the login is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from rapport.auth import totp
from rapport.auth.auditing import audit
from rapport.auth.duties import SECURITY_ADMIN, SYSTEM_ADMIN
from rapport.auth.passwords import verify_dummy, verify_password
from rapport.auth.revocation import RevocationList
from rapport.auth.tokens import issue_token
from rapport.crypto.keys import KeyRing
from rapport.db.database import Connection, Database
from rapport.errors import LoginFailed, TotpRequired, Unauthenticated
from rapport.principal import ADMIN_ROLE, Principal
from rapport.settings import IdentitySettings, Settings

__all__ = ["Session", "login", "logout", "needs_second_factor", "refresh", "start_session"]

_FAILED = "Login failed: the login or password is wrong, or the account is locked or disabled."
_FAILED_HINT = (
    "Check the tenant, login and password. After repeated failures the account is locked for "
    "a while; a security administrator can unlock it."
)
_REFRESH_HINT = "Log in again with POST /auth/login."
# Roles for which a tenant may require a second factor.
ADMIN_ROLES = frozenset({ADMIN_ROLE, SYSTEM_ADMIN, SECURITY_ADMIN, "audit_admin"})


@dataclass(frozen=True, slots=True)
class Session:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid
    user_id: str
    roles: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "tokenType": "Bearer",
            "expiresIn": self.expires_in,
            "userId": self.user_id,
            "roles": list(self.roles),
        }


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _tenant_id(conn: Connection, slug: str) -> str | None:
    value = await conn.fetchval("SELECT id::text FROM rapport.tenants WHERE slug = $1", slug)
    return None if value is None else str(value)


async def login(
    db: Database,
    settings: Settings,
    *,
    tenant: str,
    login_name: str,
    password: str,
    keyring: KeyRing,
    totp_code: str | None = None,
) -> Session:
    async with db.transaction() as conn:
        tenant_id = await _tenant_id(conn, tenant)
        row = None
        if tenant_id is not None:
            row = await conn.fetchrow(
                "SELECT id::text, password_hash, roles, status, failed_logins, locked_until, "
                "totp_enabled FROM rapport.users "
                "WHERE tenant_id = $1 AND lower(login) = lower($2) FOR UPDATE",
                tenant_id,
                login_name,
            )
        if row is None or row["password_hash"] is None:
            verify_dummy(password)
            # An unknown tenant is audited too (tenant_id None): probing is a security event.
            await audit(
                conn,
                tenant_id=tenant_id,
                actor=None,
                action="auth.login_failed",
                data={
                    "login": login_name,
                    "reason": "unknown" if tenant_id is not None else "unknown tenant",
                    **({} if tenant_id is not None else {"tenant": tenant}),
                },
            )
            failure: Exception = LoginFailed(_FAILED, hint=_FAILED_HINT)
        else:
            failure = await _check(
                conn, settings, keyring, tenant_id, row, login_name, password, totp_code
            )
    # Refused only after the transaction committed: the failure counter and the audit entry
    # of a failed login must stay.
    if not isinstance(failure, _Success):
        raise failure
    return await _start(db, settings, tenant, failure.user_id, failure.roles)


class _Success(Exception):
    def __init__(self, user_id: str, roles: tuple[str, ...]) -> None:
        super().__init__(user_id)
        self.user_id = user_id
        self.roles = roles


async def _check(
    conn: Connection,
    settings: Settings,
    keyring: KeyRing,
    tenant_id: str | None,
    record: asyncpg.Record,
    login_name: str,
    password: str,
    totp_code: str | None,
) -> Exception:
    identity = settings.identity
    user_id: str = record["id"]
    now = datetime.now(UTC)
    locked_until = record["locked_until"]
    password_ok = verify_password(record["password_hash"], password)
    if locked_until is not None and locked_until > now:
        await _audit_failure(conn, tenant_id, user_id, login_name, "locked")
        return LoginFailed(_FAILED, hint=_FAILED_HINT)
    if not password_ok or record["status"] != "active":
        reason = "password" if password_ok is False else "disabled"
        await _count_failure(conn, identity, tenant_id, record, login_name, reason)
        return LoginFailed(_FAILED, hint=_FAILED_HINT)
    roles = tuple(record["roles"])
    if await needs_second_factor(conn, tenant_id, roles, totp_enabled=record["totp_enabled"]):
        if not record["totp_enabled"]:
            return TotpRequired(
                "Your tenant requires a second factor for administrators, and you have none.",
                hint="Ask a security administrator to let you enrol TOTP, then log in with it.",
            )
        if not totp_code:
            return TotpRequired(
                "A TOTP code is required for this account.",
                hint='Send {"totp": "123456"} from your authenticator app with the password.',
            )
        # A wrong (or replayed) code after the right password counts toward the lockout like a
        # wrong password: otherwise the 10^6 codes could be tried one by one.
        assert tenant_id is not None
        if not await totp.check_code(conn, keyring, tenant_id, user_id, totp_code):
            await _count_failure(conn, identity, tenant_id, record, login_name, "totp")
            return LoginFailed(_FAILED, hint=_FAILED_HINT)
    await conn.execute(
        "UPDATE rapport.users SET failed_logins = 0, locked_until = NULL WHERE id = $1", user_id
    )
    await audit(
        conn,
        tenant_id=tenant_id,
        actor=user_id,
        action="auth.login",
        record_id=user_id,
        data={"login": login_name},
    )
    return _Success(user_id, roles)


async def _count_failure(
    conn: Connection,
    identity: IdentitySettings,
    tenant_id: str | None,
    record: asyncpg.Record,
    login_name: str,
    reason: str,
) -> None:
    user_id: str = record["id"]
    failures = int(record["failed_logins"]) + 1
    lock = failures >= identity.lockout_attempts
    await conn.execute(
        "UPDATE rapport.users SET failed_logins = $2, locked_until = $3 WHERE id = $1",
        user_id,
        0 if lock else failures,
        datetime.now(UTC) + timedelta(seconds=identity.lockout_seconds) if lock else None,
    )
    await _audit_failure(conn, tenant_id, user_id, login_name, reason)
    if lock:
        await audit(
            conn,
            tenant_id=tenant_id,
            actor=None,
            action="auth.lockout",
            record_id=user_id,
            data={"login": login_name, "seconds": identity.lockout_seconds},
        )


async def _audit_failure(
    conn: Connection, tenant_id: str | None, user_id: str, login_name: str, reason: str
) -> None:
    await audit(
        conn,
        tenant_id=tenant_id,
        actor=user_id,
        action="auth.login_failed",
        record_id=user_id,
        data={"login": login_name, "reason": reason},
    )


async def needs_second_factor(
    conn: Connection, tenant_id: str | None, roles: tuple[str, ...], *, totp_enabled: bool
) -> bool:
    """Whether this account signs in only with a TOTP code: it enrolled one, or it holds an
    admin duty and its tenant requires a second factor for administrators."""
    if totp_enabled:
        return True
    if not ADMIN_ROLES & set(roles):
        return False
    value = await conn.fetchval(
        "SELECT totp_required_for_admins FROM rapport.tenant_security WHERE tenant_id = $1",
        tenant_id,
    )
    return bool(value)


async def _start(
    db: Database, settings: Settings, tenant: str, user_id: str, roles: tuple[str, ...]
) -> Session:
    identity = settings.identity
    now = datetime.now(UTC)
    refresh_token = "rt_" + secrets.token_urlsafe(32)
    await db.execute(
        "INSERT INTO rapport.refresh_tokens (token_hash, family, user_id, expires_at, "
        "session_ends) VALUES ($1, $2, $3, $4, $5)",
        _digest(refresh_token),
        uuid.uuid4(),
        user_id,
        now + timedelta(seconds=identity.session_idle_seconds),
        now + timedelta(seconds=identity.session_absolute_seconds),
    )
    return _session(settings, tenant, user_id, roles, refresh_token)


# A session for a user proven by other means: WeCom/DingTalk H5 login (rapport.im.login).
start_session = _start


def _session(
    settings: Settings, tenant: str, user_id: str, roles: tuple[str, ...], refresh_token: str
) -> Session:
    ttl = settings.identity.login_access_ttl_seconds
    access = issue_token(settings, tenant=tenant, subject=user_id, roles=roles, ttl_seconds=ttl)
    return Session(access, refresh_token, ttl, user_id, roles)


async def refresh(db: Database, settings: Settings, refresh_token: str) -> Session:
    identity = settings.identity
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        row = await conn.fetchrow(
            "SELECT r.family, r.user_id::text AS user_id, r.expires_at, r.session_ends, "
            "r.used_at, r.revoked_at, u.roles, u.status, t.slug "
            "FROM rapport.refresh_tokens r JOIN rapport.users u ON u.id = r.user_id "
            "JOIN rapport.tenants t ON t.id = u.tenant_id WHERE r.token_hash = $1 FOR UPDATE OF r",
            _digest(refresh_token),
        )
        if row is None:
            raise Unauthenticated("The refresh token is not known.", hint=_REFRESH_HINT)
        if row["used_at"] is not None or row["revoked_at"] is not None:
            # Replay of a rotated token: whoever holds the family now may be a thief.
            await conn.execute(
                "UPDATE rapport.refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
                "WHERE family = $1",
                row["family"],
            )
            replayed = True
        else:
            replayed = False
            if row["expires_at"] <= now or row["session_ends"] <= now:
                raise Unauthenticated(
                    "The session timed out (idle or absolute limit).", hint=_REFRESH_HINT
                )
            if row["status"] != "active":
                raise Unauthenticated("The account is disabled.", hint=_REFRESH_HINT)
            next_token = "rt_" + secrets.token_urlsafe(32)
            await conn.execute(
                "UPDATE rapport.refresh_tokens SET used_at = now() WHERE token_hash = $1",
                _digest(refresh_token),
            )
            await conn.execute(
                "INSERT INTO rapport.refresh_tokens (token_hash, family, user_id, expires_at, "
                "session_ends) VALUES ($1, $2, $3, $4, $5)",
                _digest(next_token),
                row["family"],
                row["user_id"],
                min(now + timedelta(seconds=identity.session_idle_seconds), row["session_ends"]),
                row["session_ends"],
            )
    if replayed:
        raise Unauthenticated(
            "The refresh token was already used or revoked; its session is now ended.",
            hint=_REFRESH_HINT,
        )
    return _session(settings, row["slug"], row["user_id"], tuple(row["roles"]), next_token)


async def logout(
    db: Database,
    principal: Principal,
    *,
    refresh_token: str | None,
    access_expires_at: float | None,
    revocations: RevocationList | None = None,
) -> None:
    """End the session: revoke the refresh family (if given) and the access token's jti."""
    async with db.transaction() as conn:
        if refresh_token:
            await conn.execute(
                "UPDATE rapport.refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
                "WHERE family = (SELECT family FROM rapport.refresh_tokens WHERE token_hash = $1 "
                "AND user_id::text = $2)",
                _digest(refresh_token),
                principal.subject,
            )
        if principal.token_id is not None:
            expires = datetime.fromtimestamp(access_expires_at or time.time() + 86400, UTC)
            await conn.execute(
                "INSERT INTO rapport.revoked_tokens (jti, expires_at) VALUES ($1, $2) "
                "ON CONFLICT (jti) DO NOTHING",
                principal.token_id,
                expires,
            )
            await conn.execute("DELETE FROM rapport.revoked_tokens WHERE expires_at < now()")
        tenant_id = None if principal.tenant is None else await _tenant_id(conn, principal.tenant)
        await audit(
            conn,
            tenant_id=tenant_id,
            actor=principal.subject,
            action="auth.logout",
            record_id=principal.subject,
        )
    if revocations is not None and principal.token_id is not None:
        revocations.add(principal.token_id)
