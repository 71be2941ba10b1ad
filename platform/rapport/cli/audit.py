"""``rapport audit verify|checkpoint``: check the tamper-evident log, sign its current head."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rapport.audit.checkpoints import CheckpointSigner, write_current_checkpoint
from rapport.audit.verify import Report, verify_log
from rapport.cli._common import with_database
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("audit", help="verify and checkpoint the audit log")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check every entry and signed checkpoint",
        description="Recompute every entry's hash, walk the hash chain and check every signed "
        "checkpoint. Exit 0 when the log is intact; 1 naming the first bad entry and the kind "
        "of damage (edited, deleted, inserted, reordered, checkpoint) when it is not.",
    )
    verify.add_argument("--tenant", metavar="SLUG", help="report only this tenant's entries")
    verify.set_defaults(handler=_verify)
    checkpoint = actions.add_parser(
        "checkpoint",
        help="sign the log's current size and root",
        description="Write a signed checkpoint (Ed25519) of the log as it is now and print it.",
    )
    checkpoint.set_defaults(handler=_checkpoint)


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    signer = CheckpointSigner.from_settings(settings)

    async def work(db: Database) -> Report:
        tenant_id = None
        if args.tenant:
            tenant_id = (await get_tenant(db, args.tenant)).id
        async with db.acquire() as conn:
            return await verify_log(conn, signer, tenant_id=tenant_id)

    report = with_database(settings, work)
    first = report.first
    if first is None:
        print(
            f"audit log intact: {report.entries} entries, {report.checkpoints} signed checkpoint(s)"
        )
        return 0
    print(
        f"error: audit log damaged at entry {first.seq}: {first.kind}: {first.detail}",
        file=sys.stderr,
    )
    for problem in report.problems[1:]:
        print(f"  also {problem}", file=sys.stderr)
    print(
        "hint: restore the audit tables from a backup and compare; the entry named is the "
        "first one that cannot be trusted.",
        file=sys.stderr,
    )
    return 1


def _checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    signer = CheckpointSigner.from_settings(settings)

    async def work(db: Database) -> str:
        async with db.transaction() as conn:
            checkpoint = await write_current_checkpoint(conn, signer)
        return (
            f"checkpoint size={checkpoint.size} root={checkpoint.root.hex()} "
            f"time={checkpoint.at.isoformat()} key={checkpoint.key_id} "
            f"signature={checkpoint.signature.hex()}"
        )

    print(with_database(settings, work))
    return 0
