"""A real ``rapport worker`` process with a few extra handlers the fault tests need.

Run as ``python tests/jobs/worker_process.py``; settings come from the environment like the
real command. Extra topics (rows inserted by the tests, since enqueue accepts only registered
topics): ``test.notify_slowly`` writes an in-app notification in the job's transaction, then
sleeps; ``test.sleep`` sleeps; ``test.fail`` always raises. With RAPPORT_TEST_CRON=1 a cron job
records every tick in ``public.test_ticks``. With RAPPORT_TEST_CLOCK=1 the ``workflow.sla``
sweep runs every second on a moved clock: the real time plus the shift in ``public.test_clock``
(:func:`tests.jobs.support.move_clock`), so timers months ahead fire in the real worker now.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "platform"))

from rapport.composition import KERNEL
from rapport.jobs.context import CronContext, CronSpec, JobContext
from rapport.jobs.worker import GRACE_SECONDS, run_worker
from rapport.notify import notify
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla


async def notify_slowly(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    await notify(
        ctx.conn,
        participants=KERNEL.participants,
        tenant_id=ctx.job.tenant_id,
        recipients=[payload["user"]],
        title=payload["title"],
        body=f"attempt {ctx.job.attempt}",
    )
    print(f"job {ctx.job.id} attempt {ctx.job.attempt} started", flush=True)
    await asyncio.sleep(float(payload.get("sleep", 0)))


async def sleep(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    print(f"job {ctx.job.id} attempt {ctx.job.attempt} started", flush=True)
    await asyncio.sleep(float(payload["seconds"]))


async def fail(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    raise RuntimeError(f"boom: {payload.get('why', 'always')}")


async def record_tick(ctx: CronContext) -> None:
    await ctx.db.execute(
        "INSERT INTO public.test_ticks (tick, pid) VALUES ($1, $2)", ctx.tick, os.getpid()
    )


async def moved_sla(ctx: CronContext) -> None:
    shift = dt.timedelta()
    if await ctx.db.fetchval("SELECT to_regclass('public.test_clock') IS NOT NULL"):
        shift = await ctx.db.fetchval(
            "SELECT coalesce((SELECT shift FROM public.test_clock LIMIT 1), interval '0')"
        )
    await sweep_sla(ctx.db, dt.datetime.now(dt.UTC) + shift, participants=ctx.participants)


def main() -> None:
    handlers = {
        **KERNEL.handlers,
        "test.notify_slowly": notify_slowly,
        "test.sleep": sleep,
        "test.fail": fail,
    }
    cron = KERNEL.cron_jobs
    if os.environ.get("RAPPORT_TEST_CRON") == "1":
        cron = (*cron, CronSpec("test.tick", record_tick, second=frozenset(range(60))))
    if os.environ.get("RAPPORT_TEST_CLOCK") == "1":
        every_second = frozenset(range(60))
        cron = tuple(
            CronSpec(c.name, moved_sla, second=every_second) if c.name == "workflow.sla" else c
            for c in cron
        )
    grace = int(os.environ.get("RAPPORT_TEST_WORKER_GRACE", GRACE_SECONDS))
    asyncio.run(
        run_worker(
            Settings.from_env(),
            on_ready=lambda: print("worker ready", flush=True),
            handlers=handlers,
            cron_jobs=cron,
            participants=KERNEL.participants,
            grace_seconds=grace,
        )
    )
    print("worker exited", flush=True)


if __name__ == "__main__":
    main()
