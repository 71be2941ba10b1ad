"""``rapport worker``: the arq worker running outbox jobs and cron jobs, plus the dispatcher.

Stopping: SIGTERM (or SIGINT) stops taking jobs and dispatching at once, lets running jobs
finish for up to :data:`GRACE_SECONDS`, then cancels the rest — arq hands a cancelled job back
to the queue and its transaction rolls back, so another worker runs it in full. The process
exits well within 30 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx
from arq import cron
from arq.connections import create_pool
from arq.cron import CronJob
from arq.worker import Worker, func

from rapport.db.catalog import migrate
from rapport.db.connect import open_database
from rapport.jobs.context import CronContext, CronSpec, Handler
from rapport.jobs.dispatcher import Dispatcher
from rapport.jobs.redis import redis_settings
from rapport.jobs.runner import ARQ_FUNCTION, WorkerState, run_outbox_job
from rapport.records.change import WriteParticipant
from rapport.settings import Settings

__all__ = ["GRACE_SECONDS", "run_worker"]

log = logging.getLogger(__name__)

GRACE_SECONDS = 20  # running jobs may finish this long after SIGTERM; 30 s is the contract
HTTP_TIMEOUT_SECONDS = 10.0


async def run_worker(
    settings: Settings,
    *,
    on_ready: Callable[[], object] | None = None,
    handlers: Mapping[str, Handler],
    cron_jobs: tuple[CronSpec, ...],
    participants: tuple[WriteParticipant, ...],
    grace_seconds: int = GRACE_SECONDS,
) -> None:
    """Run until SIGTERM/SIGINT; returns after a clean stop.

    ``handlers``, ``cron_jobs`` and the write ``participants`` are the kernel's
    (rapport.composition); tests add their own handlers.
    """
    async with (
        open_database(settings, pool_size=max(4, settings.database_pool_size)) as db,
        redis_settings(settings) as connection,
        httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False) as http,
    ):
        await migrate(db)
        pool = await create_pool(connection)
        state = WorkerState(
            db=db, settings=settings, http=http, handlers=handlers, participants=participants
        )
        worker = Worker(
            functions=[
                # arq's own limit sits above ours: the runner records the final failure itself.
                func(run_outbox_job, name=ARQ_FUNCTION, max_tries=settings.job_max_tries + 3)
            ],
            cron_jobs=[_arq_cron(spec, state) for spec in cron_jobs],
            redis_pool=pool,
            ctx={"rapport": state},
            handle_signals=False,
            job_completion_wait=grace_seconds,
            job_timeout=settings.job_timeout_seconds,
            keep_result=3600,
            poll_delay=settings.job_poll_seconds,  # each hop waits half of it on average
            retry_jobs=True,
        )
        dispatcher = Dispatcher(
            db,
            pool,
            scan_seconds=settings.outbox_scan_seconds,
            stale_after=timedelta(seconds=max(900, 2 * settings.job_timeout_seconds)),
        )
        loop = asyncio.get_running_loop()

        def on_signal(signum: signal.Signals) -> None:
            log.info("worker: %s received; stopping (grace %ds)", signum.name, grace_seconds)
            dispatcher.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            worker.handle_sig_wait_for_completion(signum)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        dispatching = asyncio.create_task(dispatcher.run(), name="rapport-dispatcher")
        if on_ready is not None:
            on_ready()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await worker.async_run()
        finally:
            dispatcher.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatching
            await worker.close()
            log.info(
                "worker stopped: %d complete, %d failed, %d handed back or retried",
                worker.jobs_complete,
                worker.jobs_failed,
                worker.jobs_retried,
            )


def _arq_cron(spec: CronSpec, state: WorkerState) -> CronJob:
    async def tick(ctx: dict[str, Any]) -> None:
        await spec.handler(
            CronContext(
                db=state.db,
                settings=state.settings,
                tick=str(ctx.get("job_id")),
                participants=state.participants,
            )
        )

    return cron(
        tick,
        name=f"cron:{spec.name}",
        minute=set(spec.minute) if spec.minute is not None else None,
        second=set(spec.second),
        unique=True,  # job id cron:<name>:<tick>: one run per tick across every worker
        run_at_startup=False,
        max_tries=1,
    )
