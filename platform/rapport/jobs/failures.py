"""Jobs that failed for good: listed for operators, and sent again on request.

A retry clears the failure and the outbox row's dispatch mark and bumps its generation, so the
dispatcher enqueues it again under the job id ``<outbox id>#<generation>`` (arq refuses an id
whose result it still keeps). The handler's idempotency key stays the outbox id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rapport.db.database import Database
from rapport.db.tenants import Queryable
from rapport.errors import NotFound
from rapport.jobs.outbox import CHANNEL

__all__ = ["FailedJob", "list_failed", "retry_failed"]


@dataclass(frozen=True, slots=True)
class FailedJob:
    id: str  # the outbox id
    tenant: str  # tenant slug
    topic: str
    attempts: int
    error: str
    failed_at: datetime


async def list_failed(
    db: Queryable, *, tenant_id: str | None = None, limit: int = 100
) -> list[FailedJob]:
    """Final failures, newest first; of one tenant, or (operators) of all."""
    rows = await db.fetch(
        """
        SELECT f.outbox_id::text AS id, t.slug AS tenant, f.topic, f.attempts, f.error,
               f.failed_at
          FROM rapport.failed_jobs f JOIN rapport.tenants t ON t.id = f.tenant_id
         WHERE $1::uuid IS NULL OR f.tenant_id = $1::uuid
         ORDER BY f.failed_at DESC, f.outbox_id
         LIMIT $2
        """,
        tenant_id,
        limit,
    )
    return [FailedJob(**dict(r)) for r in rows]


async def retry_failed(db: Database, outbox_id: str, *, tenant_id: str | None = None) -> None:
    """Send a failed job again (the worker's dispatcher picks it up at once)."""
    async with db.transaction() as conn:
        deleted = await conn.fetchval(
            "DELETE FROM rapport.failed_jobs WHERE outbox_id::text = $1 "
            "AND ($2::uuid IS NULL OR tenant_id = $2::uuid) RETURNING outbox_id::text",
            outbox_id,
            tenant_id,
        )
        if deleted is None:
            raise NotFound(
                f"There is no failed job {outbox_id!r}.",
                hint="List failed jobs with `rapport jobs failed` (or the failedJobs query).",
            )
        await conn.execute(
            "UPDATE rapport.outbox SET dispatched_at = NULL, generation = generation + 1 "
            "WHERE id = $1::uuid",
            deleted,
        )
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, deleted)
