"""API keys for integrations: ``rk_<id>_<secret>``, shown once, stored as SHA-256 of the secret.

Keys are scoped to roles (checked against the separation of duties), may expire, can be
revoked, and record ``last_used_at``. Verification caches a key's row for
``cache_seconds`` and writes ``last_used_at`` at most once per that period, so a busy
integration costs one catalog query per period, not one per request; revocation takes effect
within the same period on every instance (at once on the instance that revoked it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from rapport.auth.auditing import audit
from rapport.auth.duties import check_duties
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.errors import BadRequest, NotFound, Unauthenticated
from rapport.principal import Principal

__all__ = ["ApiKey", "ApiKeyVerifier", "create_key", "list_keys", "revoke_key"]

PREFIX = "rk_"
_HINT = "Create a key with the admin API (createApiKey) and send it as X-API-Key or Bearer."


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    roles: tuple[str, ...]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_key(
    db: Database,
    *,
    tenant: str,
    name: str,
    roles: Sequence[str],
    expires_at: datetime | None,
    actor: str,
) -> tuple[ApiKey, str]:
    """The new key and its full text ``rk_<id>_<secret>`` (shown this once only)."""
    role_list = list(dict.fromkeys(roles))
    if not role_list or not all(role_list):
        raise BadRequest("An API key needs at least one role.", path=("roles",))
    check_duties(role_list)
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise BadRequest("expiresAt is in the past.", path=("expiresAt",))
    tenant_row = await get_tenant(db, tenant)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    async with db.transaction() as conn:
        row = await conn.fetchrow(
            "INSERT INTO rapport.api_keys (id, tenant_id, name, secret_hash, roles, created_by, "
            "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            key_id,
            tenant_row.id,
            name,
            _digest(secret),
            role_list,
            actor,
            expires_at,
        )
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=actor,
            action="apikey.create",
            record_id=key_id,
            data={"name": name, "roles": role_list},
        )
    assert row is not None
    return _key(row), f"{PREFIX}{key_id}_{secret}"


def _key(r: asyncpg.Record) -> ApiKey:
    return ApiKey(
        id=r["id"],
        name=r["name"],
        roles=tuple(r["roles"]),
        created_by=r["created_by"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
        last_used_at=r["last_used_at"],
    )


async def list_keys(db: Database, tenant: str) -> list[ApiKey]:
    tenant_row = await get_tenant(db, tenant)
    rows = await db.fetch(
        "SELECT * FROM rapport.api_keys WHERE tenant_id = $1 ORDER BY created_at", tenant_row.id
    )
    return [_key(r) for r in rows]


async def revoke_key(db: Database, tenant: str, key_id: str, *, actor: str) -> ApiKey:
    tenant_row = await get_tenant(db, tenant)
    async with db.transaction() as conn:
        row = await conn.fetchrow(
            "UPDATE rapport.api_keys SET revoked_at = coalesce(revoked_at, now()) "
            "WHERE tenant_id = $1 AND id = $2 RETURNING *",
            tenant_row.id,
            key_id,
        )
        if row is None:
            raise NotFound(f"No API key {key_id!r} in this tenant.", hint="List the keys.")
        await audit(
            conn, tenant_id=tenant_row.id, actor=actor, action="apikey.revoke", record_id=key_id
        )
    return _key(row)


@dataclass(frozen=True, slots=True)
class _Cached:
    tenant: str
    secret_hash: bytes
    roles: frozenset[str]
    expires_at: datetime | None
    revoked: bool
    loaded_at: float


class ApiKeyVerifier:
    def __init__(self, db: Database, *, cache_seconds: float) -> None:
        self._db = db
        self._ttl = cache_seconds
        self._cache: dict[str, _Cached] = {}

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)

    async def verify(self, presented: str) -> Principal:
        key_id, _, secret = presented.removeprefix(PREFIX).partition("_")
        if not presented.startswith(PREFIX) or not key_id or not secret:
            raise Unauthenticated("The API key is malformed (rk_<id>_<secret>).", hint=_HINT)
        cached = self._cache.get(key_id)
        if cached is None or time.monotonic() - cached.loaded_at > self._ttl:
            cached = await self._load(key_id, secret)
        if not hmac.compare_digest(cached.secret_hash, _digest(secret)):
            raise Unauthenticated("The API key is not valid.", hint=_HINT)
        if cached.revoked:
            raise Unauthenticated("The API key was revoked.", hint=_HINT)
        if cached.expires_at is not None and cached.expires_at <= datetime.now(UTC):
            raise Unauthenticated("The API key expired.", hint=_HINT)
        return Principal(tenant=cached.tenant, subject=f"apikey:{key_id}", roles=cached.roles)

    async def _load(self, key_id: str, secret: str) -> _Cached:
        row = await self._db.fetchrow(
            "SELECT k.secret_hash, k.roles, k.expires_at, k.revoked_at, t.slug "
            "FROM rapport.api_keys k JOIN rapport.tenants t ON t.id = k.tenant_id "
            "WHERE k.id = $1",
            key_id,
        )
        if row is None:
            raise Unauthenticated("The API key is not valid.", hint=_HINT)
        cached = _Cached(
            tenant=row["slug"],
            secret_hash=bytes(row["secret_hash"]),
            roles=frozenset(row["roles"]),
            expires_at=row["expires_at"],
            revoked=row["revoked_at"] is not None,
            loaded_at=time.monotonic(),
        )
        if hmac.compare_digest(cached.secret_hash, _digest(secret)) and not cached.revoked:
            # Throttled to once per cache period: the row is reloaded no more often.
            await self._db.execute(
                "UPDATE rapport.api_keys SET last_used_at = now() WHERE id = $1", key_id
            )
        self._cache[key_id] = cached
        return cached
