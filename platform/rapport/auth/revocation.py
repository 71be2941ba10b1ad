"""Ending access at once: revoked token ids and per-subject cut-offs, on every instance.

Two kinds of revocation, both in the catalog so every instance sees them:

- one access token (``rapport.revoked_tokens``, by ``jti``): logout;
- every access token of a subject issued until now (``rapport.subject_revocations``: subject →
  ``revoked_before``, epoch seconds): role change, password reset, disabling, TOTP reset, key
  revocation. The same change revokes the subject's refresh tokens in its transaction
  (:func:`revoke_subject`), so no new access token can be minted from the old session.

:class:`RevocationList` reloads both at most every ``RAPPORT_REVOCATION_CACHE_SECONDS`` per
process, so checking costs two dictionary look-ups per request; the instance that made the change
applies it at once. Open graphql-ws subscriptions re-check their credential on the same period
(:func:`watch_credential`) and are closed when it no longer authenticates.

Tokens carry ``iat`` with millisecond precision, so a login a moment after a password reset is
not caught by the cut-off of the reset. The comparison uses the clocks of the instances
involved; they must agree to well under a second (NTP), as the tokens' ``exp`` already assumes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from rapport.db.database import Connection, Database
from rapport.errors import RapportError, Unauthenticated
from rapport.principal import Principal

__all__ = ["RevocationList", "revoke_subject", "watch_credential"]

_HINT = "Log in again with POST /auth/login."


async def revoke_subject(conn: Connection, *, subject: str, tenant_id: str | None) -> float:
    """End every access token issued to ``subject`` until now, and its refresh tokens; the
    cut-off (epoch seconds). Runs in the caller's transaction, with the change that causes it."""
    cutoff = time.time()
    await conn.execute(
        "INSERT INTO rapport.subject_revocations (subject, tenant_id, revoked_before) "
        "VALUES ($1, $2::uuid, $3) ON CONFLICT (subject) DO UPDATE SET "
        "revoked_before = greatest(rapport.subject_revocations.revoked_before, "
        "EXCLUDED.revoked_before), updated_at = now()",
        subject,
        tenant_id,
        cutoff,
    )
    if not subject.startswith("apikey:"):
        await conn.execute(
            "UPDATE rapport.refresh_tokens SET revoked_at = now() "
            "WHERE user_id::text = $1 AND revoked_at IS NULL",
            subject,
        )
    return cutoff


class RevocationList:
    """Revoked access-token ids and subject cut-offs, reloaded at most every ``ttl`` seconds."""

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._revoked: frozenset[str] = frozenset()
        self._cutoffs: dict[str, float] = {}
        self._loaded_at = float("-inf")

    def add(self, jti: str) -> None:
        self._revoked = self._revoked | {jti}

    def invalidate(self) -> None:
        """Reload on the next check: this instance just revoked something."""
        self._loaded_at = float("-inf")

    async def check(self, principal: Principal) -> None:
        if principal.token_id is None:
            return
        if time.monotonic() - self._loaded_at > self._ttl:
            await self._reload()
        if principal.token_id in self._revoked:
            raise Unauthenticated("The access token was revoked (logged out).", hint=_HINT)
        cutoff = self._cutoffs.get(principal.subject)
        if cutoff is not None and (principal.issued_at or 0.0) <= cutoff:
            raise Unauthenticated(
                "The access token was revoked: the account was disabled, or its roles, password "
                "or second factor changed after it was issued.",
                hint=_HINT,
            )

    async def _reload(self) -> None:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT jti FROM rapport.revoked_tokens WHERE expires_at > now()"
            )
            cutoffs = await conn.fetch(
                "SELECT subject, revoked_before FROM rapport.subject_revocations"
            )
        self._revoked = frozenset(r["jti"] for r in rows)
        self._cutoffs = {r["subject"]: float(r["revoked_before"]) for r in cutoffs}
        self._loaded_at = time.monotonic()


async def watch_credential(
    authenticate: Callable[[], Awaitable[Principal]],
    interval: float,
    on_revoked: Callable[[RapportError], Awaitable[None]],
) -> None:
    """Re-authenticate every ``interval`` seconds; call ``on_revoked`` once it fails, then end.

    For long-lived connections (graphql-ws): a logout, a role change or a revoked key ends
    them within the revocation period, like any request.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            await authenticate()
        except RapportError as exc:
            await on_revoked(exc)
            return
