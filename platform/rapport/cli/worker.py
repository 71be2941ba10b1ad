"""``rapport worker``: run background jobs until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "worker",
        help="run background jobs (outbox dispatch, notifications, webhooks, SLA timers)",
        description="Runs until SIGTERM or Ctrl-C, then stops taking jobs and exits within 30 s. "
        "Redis comes from RAPPORT_REDIS_URL, or an embedded one in the data directory.",
    )
    parser.set_defaults(handler=_worker)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from rapport.composition import worker_kernel
    from rapport.jobs.worker import run_worker  # arq loads only for this command
    from rapport.plugins import installed_registry

    kernel = worker_kernel(installed_registry())

    def ready() -> None:
        where = settings.redis_url or f"embedded Redis in {settings.data_dir / 'redis'}"
        print(f"Rapport worker is ready (Redis: {where}); stop it with Ctrl-C", flush=True)

    asyncio.run(
        run_worker(
            settings,
            on_ready=ready,
            handlers=kernel.handlers,
            cron_jobs=kernel.cron_jobs,
            participants=kernel.participants,
        )
    )
    return 0
