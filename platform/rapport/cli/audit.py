"""``rapport audit verify|checkpoint``: check the tamper-evident log, sign its current head."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rapport.audit.checkpoints import Checkpoint, CheckpointSigner, write_current_checkpoint
from rapport.audit.logs import LogId, log_label
from rapport.audit.rechain import rechain_legacy_logs
from rapport.audit.verify import Report, verify_log
from rapport.cli._common import with_database
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("audit", help="verify and checkpoint the audit logs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check every entry and signed checkpoint of every log",
        description="Recompute every entry's hash, walk each log's hash chain (one per tenant "
        "and the operator log) and check its signed checkpoints. Exit 0 when every log is "
        "intact; 1 naming, per damaged log, the first bad entry and the kind of damage "
        "(edited, deleted, inserted, reordered, checkpoint) when not.",
    )
    verify.add_argument("--tenant", metavar="SLUG", help="verify only this tenant's log")
    verify.set_defaults(handler=_verify)
    checkpoint = actions.add_parser(
        "checkpoint",
        help="sign the logs' current sizes and roots",
        description="Write a signed checkpoint (Ed25519) of every log (or one tenant's) as it "
        "is now and print them.",
    )
    checkpoint.add_argument("--tenant", metavar="SLUG", help="sign only this tenant's log")
    checkpoint.set_defaults(handler=_checkpoint)


async def _logs(db: Database, slug: str | None) -> list[LogId] | None:
    """The log of tenant ``slug``, or None (every log)."""
    return None if slug is None else [(await get_tenant(db, slug)).id]


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    signer = CheckpointSigner.from_settings(settings)

    async def work(db: Database) -> Report:
        logs = await _logs(db, args.tenant)
        await rechain_legacy_logs(db, signer)
        async with db.acquire() as conn:
            return await verify_log(conn, signer, tenant_ids=logs)

    report = with_database(settings, work)
    if report.intact:
        print(
            f"audit logs intact: {report.logs} log(s), {report.entries} entries, "
            f"{report.checkpoints} signed checkpoint(s)"
        )
        return 0
    for first in report.first_per_log():
        print(
            f"error: {log_label(first.tenant_id)} audit log damaged at entry {first.seq}: "
            f"{first.kind}: {first.detail}",
            file=sys.stderr,
        )
    for problem in report.problems:
        if problem not in report.first_per_log():
            print(f"  also {problem}", file=sys.stderr)
    print(
        "hint: restore the audit tables from a backup and compare; the entry named is the "
        "first one of its log that cannot be trusted.",
        file=sys.stderr,
    )
    return 1


def _checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    signer = CheckpointSigner.from_settings(settings)

    async def work(db: Database) -> list[Checkpoint]:
        logs = await _logs(db, args.tenant)
        await rechain_legacy_logs(db, signer)
        if logs is None:
            logs = [
                r["tenant_id"]
                for r in await db.fetch(
                    "SELECT tenant_id::text AS tenant_id FROM rapport.audit_tenant_heads "
                    "ORDER BY tenant_id NULLS FIRST"
                )
            ]
        signed = []
        for tenant_id in logs:
            async with db.transaction() as conn:
                signed.append(await write_current_checkpoint(conn, signer, tenant_id))
        return signed

    for checkpoint in with_database(settings, work):
        print(
            f"checkpoint log={log_label(checkpoint.tenant_id)} size={checkpoint.size} "
            f"root={checkpoint.root.hex()} time={checkpoint.at.isoformat()} "
            f"key={checkpoint.key_id} signature={checkpoint.signature.hex()}"
        )
    return 0
