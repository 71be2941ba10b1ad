"""``rapport jobs failed [--tenant SLUG]`` and ``rapport jobs retry ID``."""

from __future__ import annotations

import argparse
from typing import Any

from rapport.cli._common import print_table, with_database
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.jobs.failures import list_failed, retry_failed
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("jobs", help="background jobs that failed: list and retry")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    failed = actions.add_parser("failed", help="list jobs that used all their tries")
    failed.add_argument("--tenant", metavar="SLUG", help="only this tenant's jobs")
    failed.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    failed.set_defaults(handler=_failed)

    retry = actions.add_parser("retry", help="send a failed job again")
    retry.add_argument("id", metavar="ID", help="the job id (outbox id) from `rapport jobs failed`")
    retry.set_defaults(handler=_retry)


def _failed(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        tenant_id = (await get_tenant(db, args.tenant)).id if args.tenant else None
        jobs = await list_failed(db, tenant_id=tenant_id, limit=args.limit)
        if not jobs:
            print("no failed jobs")
            return
        print_table(
            ["ID", "TENANT", "TOPIC", "TRIES", "FAILED", "ERROR"],
            [
                (
                    j.id,
                    j.tenant,
                    j.topic,
                    j.attempts,
                    j.failed_at.isoformat(timespec="seconds"),
                    j.error.splitlines()[0][:120] if j.error else "",
                )
                for j in jobs
            ],
        )

    with_database(settings, work)
    return 0


def _retry(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        await retry_failed(db, args.id)
        print(f"job {args.id} sent again; a running `rapport worker` picks it up")

    with_database(settings, work)
    return 0
