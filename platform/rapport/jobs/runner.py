"""Running one outbox job inside arq: idempotency, retries with backoff, final failures.

arq calls :func:`run_outbox_job` with the outbox id. The handler runs in a transaction that
also inserts the id into ``rapport.processed``: a job that runs again — the worker was killed
mid-job, Redis lost and re-received it, an operator re-dispatched it — finds the row and does
nothing. A failing attempt raises ``arq.Retry`` with an exponential delay; after
``RAPPORT_JOB_MAX_TRIES`` attempts the error is recorded in ``rapport.failed_jobs``, where
``rapport jobs failed`` and the admin API show it and ``retry`` sends it again.

Cancellation (SIGTERM after the grace period) is not caught: arq then hands the job back to
the queue and its transaction rolls back, so it runs again in full.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from arq import Retry

from rapport.db.database import Database
from rapport.jobs.context import Handler, Job, JobContext
from rapport.jobs.outbox import load_row
from rapport.records.change import WriteParticipant
from rapport.settings import Settings

__all__ = ["ARQ_FUNCTION", "WorkerState", "backoff_seconds", "record_failure", "run_outbox_job"]

log = logging.getLogger(__name__)

ARQ_FUNCTION = "outbox"  # the arq function name every outbox job is enqueued under
MAX_BACKOFF_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What the worker shares between jobs (kept in arq's ctx under "rapport")."""

    db: Database
    settings: Settings
    http: httpx.AsyncClient
    handlers: Mapping[str, Handler]  # topic -> handler: the kernel's (rapport.composition)
    participants: tuple[WriteParticipant, ...]  # the kernel's, for cron jobs that write records


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: base, 2 x base, 4 x base… capped at an hour."""
    return float(min(settings.job_retry_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


async def run_outbox_job(ctx: dict[str, Any], outbox_id: str) -> str:
    state: WorkerState = ctx["rapport"]
    attempt = int(ctx.get("job_try") or 1)
    row = await load_row(state.db, outbox_id)
    if row is None:
        return "gone"  # the tenant was dropped, or the row pruned after processing
    max_tries = state.settings.job_max_tries
    if attempt > max_tries:  # killed mid-job more often than it may try
        await record_failure(state.db, row.id, row.tenant_id, row.topic, attempt - 1, "gave up")
        return "failed"
    handler = state.handlers.get(row.topic)
    job = Job(id=row.id, tenant_id=row.tenant_id, topic=row.topic, attempt=attempt)
    try:
        if handler is None:
            raise LookupError(f"no handler is registered for topic {row.topic!r}")
        async with state.db.transaction() as conn:
            claimed = await conn.fetchval(
                "INSERT INTO rapport.processed (outbox_id, attempts) VALUES ($1::uuid, $2) "
                "ON CONFLICT (outbox_id) DO NOTHING RETURNING true",
                row.id,
                attempt,
            )
            if not claimed:
                return "already processed"
            context = JobContext(job, conn, state.db, state.settings, state.http)
            await handler(context, row.payload)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(exc)).strip()
        if attempt >= max_tries:
            log.error(
                "job %s (%s) failed for good after %d tries: %s", row.id, row.topic, attempt, error
            )
            await record_failure(state.db, row.id, row.tenant_id, row.topic, attempt, error)
            return "failed"
        delay = backoff_seconds(state.settings, attempt)
        log.warning(
            "job %s (%s) try %d failed (%s); retrying in %.1fs",
            row.id,
            row.topic,
            attempt,
            error,
            delay,
        )
        raise Retry(defer=delay) from exc
    return "done"


async def record_failure(
    db: Database, outbox_id: str, tenant_id: str, topic: str, attempts: int, error: str
) -> None:
    await db.execute(
        """
        INSERT INTO rapport.failed_jobs (outbox_id, tenant_id, topic, attempts, error)
        VALUES ($1::uuid, $2::uuid, $3, $4, $5)
        ON CONFLICT (outbox_id) DO UPDATE
           SET attempts = EXCLUDED.attempts, error = EXCLUDED.error, failed_at = now()
        """,
        outbox_id,
        tenant_id,
        topic,
        attempts,
        error[:4000],
    )
