"""Access tokens of the tenants' apps, cached in ``rapport.im_tokens`` for every process.

Both platforms issue a token for 7200 s, hand out the same one when asked again within that
time, and rate-limit ``gettoken``: the token is kept sealed in the catalog (like the secret)
and shared by every worker and app instance. :func:`access_token` returns the cached token
while it has more than :data:`MARGIN_SECONDS` left; otherwise one process fetches a new one
under a transaction-scoped advisory lock while the others wait and then read it, so a burst of
jobs costs one ``gettoken``.

:func:`with_token` runs one call with the token; when the platform refuses the token anyway
(revoked, or expired early: errcode 40014/42001) it fetches a fresh one and retries once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import httpx

from rapport.crypto.keys import KeyRing
from rapport.db.database import Connection, Database
from rapport.im.apps import open_secret, platform_named, seal_secret
from rapport.im.platform import AppCredentials, TokenRejected
from rapport.settings import ImSettings

__all__ = ["MARGIN_SECONDS", "access_token", "with_token"]

MARGIN_SECONDS = 300  # refresh this long before expiry: a call must not start on a dying token
T = TypeVar("T")


async def access_token(
    db: Database,
    keyring: KeyRing,
    http: httpx.AsyncClient,
    urls: ImSettings,
    tenant_id: str,
    app: AppCredentials,
    *,
    rejected: str | None = None,
) -> str:
    """A valid token; ``rejected``: the platform just refused that one, do not return it."""
    if rejected is None:
        async with db.acquire() as conn:
            cached = await _cached(conn, keyring, tenant_id, app)
        if cached is not None:
            return cached
    async with db.transaction() as conn:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"rapport-im-token|{tenant_id}|{app.platform}|{app.cache_key}",
        )
        cached = await _cached(conn, keyring, tenant_id, app)  # another process was first
        if cached is not None and cached != rejected:
            return cached
        token, lifetime = await platform_named(app.platform).fetch_token(http, urls, app)
        sealed = await seal_secret(conn, keyring, tenant_id, app.platform, "token", token)
        await conn.execute(
            """
            INSERT INTO rapport.im_tokens (tenant_id, platform, app, token, expires_at)
            VALUES ($1::uuid, $2, $3, $4, $5)
            ON CONFLICT (tenant_id, platform, app) DO UPDATE
               SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, fetched_at = now()
            """,
            tenant_id,
            app.platform,
            app.cache_key,
            sealed,
            datetime.now(UTC) + timedelta(seconds=lifetime),
        )
        return token


async def _cached(
    conn: Connection, keyring: KeyRing, tenant_id: str, app: AppCredentials
) -> str | None:
    row = await conn.fetchrow(
        "SELECT token FROM rapport.im_tokens WHERE tenant_id = $1::uuid AND platform = $2 "
        "AND app = $3 AND expires_at > now() + make_interval(secs => $4)",
        tenant_id,
        app.platform,
        app.cache_key,
        MARGIN_SECONDS,
    )
    if row is None:
        return None
    return await open_secret(conn, keyring, tenant_id, app.platform, "token", row["token"])


async def with_token(
    db: Database,
    keyring: KeyRing,
    http: httpx.AsyncClient,
    urls: ImSettings,
    tenant_id: str,
    app: AppCredentials,
    request: Callable[[str], Awaitable[T]],
) -> T:
    token = await access_token(db, keyring, http, urls, tenant_id, app)
    try:
        return await request(token)
    except TokenRejected:
        token = await access_token(db, keyring, http, urls, tenant_id, app, rejected=token)
        return await request(token)  # a second refusal is an error, not a loop
