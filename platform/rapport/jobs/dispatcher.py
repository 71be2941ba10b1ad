"""After commit, outbox rows become arq jobs whose job id is the outbox id.

The dispatcher wakes on ``NOTIFY rapport_outbox`` (sent by :func:`rapport.jobs.outbox.enqueue`
and delivered at commit) and, in any case, every ``RAPPORT_OUTBOX_SCAN_SECONDS``. Each round
takes the due undispatched rows ``FOR UPDATE SKIP LOCKED`` (several dispatchers share the work),
enqueues each into arq, and marks as dispatched only the rows Redis accepted, in the same
transaction. Rows due within the next scan interval are enqueued with ``_defer_until`` so they
run on time; later ones wait in PostgreSQL, which is where thousands of SLA timers belong.

Nothing is lost and nothing runs twice: Redis down → rows stay undispatched and the next round
after it returns sends them; Redis restarted without its data → rows dispatched long ago but
neither processed nor failed are dispatched again (``stale_after``); a second enqueue of a
still-known job id is refused by arq, and a job that runs again finds its ``processed`` row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from rapport.db.database import Database
from rapport.errors import DatabaseUnavailable
from rapport.jobs.outbox import CHANNEL
from rapport.jobs.runner import ARQ_FUNCTION

__all__ = ["Dispatcher", "arq_job_id"]

log = logging.getLogger(__name__)

BATCH = 500


def arq_job_id(outbox_id: str, generation: int) -> str:
    """The outbox id; after an operator's n-th retry ``<id>#n`` (arq refuses an id whose result
    it still keeps)."""
    return outbox_id if generation == 0 else f"{outbox_id}#{generation}"


@dataclass(frozen=True, slots=True)
class _Due:
    id: str
    not_before: datetime | None
    generation: int


class Dispatcher:
    def __init__(
        self,
        db: Database,
        redis: ArqRedis,
        *,
        scan_seconds: float = 5.0,
        stale_after: timedelta = timedelta(minutes=15),
    ) -> None:
        self._db = db
        self._redis = redis
        self._scan_seconds = scan_seconds
        self._stale_after = stale_after
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self.dispatched = 0  # jobs Redis accepted so far (metrics, tests)

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until :meth:`stop`; survives PostgreSQL and Redis outages."""
        listener = asyncio.create_task(self._listen(), name="rapport-outbox-listener")
        try:
            failures = 0
            while not self._stopped.is_set():
                self._wake.clear()
                try:
                    await self.requeue_stale()
                    while await self.dispatch_due() == BATCH:
                        pass  # a backlog: keep going without waiting
                    failures = 0
                except (RedisError, OSError, DatabaseUnavailable, asyncpg.PostgresError) as exc:
                    failures += 1
                    log.warning("outbox dispatch failed (%s); retrying", exc)
                    await self._sleep(min(0.5 * 2 ** min(failures, 4), self._scan_seconds))
                    continue
                await self._sleep(self._scan_seconds)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def dispatch_due(self) -> int:
        """One round: enqueue due rows into arq; return how many rows it looked at."""
        horizon = datetime.now(UTC) + timedelta(seconds=self._scan_seconds)
        async with self._db.transaction() as conn:
            rows = await conn.fetch(
                """
                SELECT id::text AS id, not_before, generation FROM rapport.outbox
                 WHERE dispatched_at IS NULL AND coalesce(not_before, created_at) <= $1
                 ORDER BY coalesce(not_before, created_at)
                 LIMIT $2
                   FOR UPDATE SKIP LOCKED
                """,
                horizon,
                BATCH,
            )
            due = [_Due(r["id"], r["not_before"], r["generation"]) for r in rows]
            accepted: list[str] = []
            try:
                for row in due:
                    await self._enqueue(row)
                    accepted.append(row.id)
            finally:
                # Mark what Redis accepted even when it failed half-way, so those rows are not
                # sent again needlessly; the rest stay pending for the next round.
                if accepted:
                    await conn.execute(
                        "UPDATE rapport.outbox SET dispatched_at = now() "
                        "WHERE id = ANY($1::uuid[])",
                        accepted,
                    )
                    self.dispatched += len(accepted)
        return len(due)

    async def requeue_stale(self) -> int:
        """Mark rows dispatched long ago, yet neither processed nor failed, as pending again
        (Redis lost them: restarted without persistence, or flushed)."""
        status = await self._db.execute(
            """
            UPDATE rapport.outbox o SET dispatched_at = NULL
             WHERE o.dispatched_at < now() - $1::interval
               AND NOT EXISTS (SELECT 1 FROM rapport.processed p WHERE p.outbox_id = o.id)
               AND NOT EXISTS (SELECT 1 FROM rapport.failed_jobs f WHERE f.outbox_id = o.id)
            """,
            self._stale_after,
        )
        count = int(status.split()[-1]) if status.startswith("UPDATE") else 0
        if count:
            log.warning("outbox: %d dispatched job(s) never finished; dispatching again", count)
        return count

    async def _enqueue(self, row: _Due) -> None:
        defer = row.not_before if row.not_before and row.not_before > datetime.now(UTC) else None
        job = await self._redis.enqueue_job(
            ARQ_FUNCTION, row.id, _job_id=arq_job_id(row.id, row.generation), _defer_until=defer
        )
        if job is None:
            # arq knows this id (queued, running, or its result is kept): it was sent before.
            log.debug("outbox %s: already known to arq", row.id)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _listen(self) -> None:
        """Keep a LISTEN connection; every notification (and every reconnect) wakes a round."""
        delay = 0.2
        while not self._stopped.is_set():
            try:
                connection: asyncpg.Connection = await asyncpg.connect(
                    self._db.dsn, server_settings={"application_name": "rapport-dispatcher"}
                )
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox listener: cannot connect (%s)", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            lost = asyncio.Event()
            try:
                await connection.add_listener(CHANNEL, self._on_notify)
                connection.add_termination_listener(_setter(lost))
                self._wake.set()  # notifications may have been missed while disconnected
                while not lost.is_set() and not connection.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 15.0)
                    if not lost.is_set():
                        try:
                            await asyncio.wait_for(connection.fetchval("SELECT 1"), 5.0)
                        except Exception:
                            break
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), 2.0)

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()


def _setter(event: asyncio.Event) -> Any:
    def on_termination(_connection: Any) -> None:
        event.set()

    return on_termination
