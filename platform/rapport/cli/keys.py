"""``rapport keys rotate``: re-wrap data keys under the current master key, or re-encrypt."""

from __future__ import annotations

import argparse
from typing import Any

from rapport.cli._common import actor, with_database
from rapport.crypto.keys import KeyRing
from rapport.crypto.rotation import reencrypt, rewrap
from rapport.db.database import Database
from rapport.db.tenants import get_tenant, list_tenants
from rapport.metadata.lifecycle import load_published
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("keys", help="rotate encryption keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    rotate = actions.add_parser(
        "rotate",
        help="re-wrap data keys, or rotate data keys and re-encrypt",
        description="Without --reencrypt: re-wrap every data key under the current "
        "RAPPORT_MASTER_KEY (list the old master key in RAPPORT_MASTER_KEYS_PREVIOUS). With "
        "--reencrypt: give each tenant a new data key and re-encrypt its sensitive values in "
        "batches while the service keeps running (readers accept both keys meanwhile).",
    )
    rotate.add_argument("--tenant", metavar="SLUG", help="only this tenant (default: all)")
    rotate.add_argument(
        "--reencrypt", action="store_true", help="rotate the data key and re-encrypt the values"
    )
    rotate.add_argument(
        "--batch-size", type=int, default=500, metavar="N", help="rows per transaction (500)"
    )
    rotate.set_defaults(handler=_rotate)


def _rotate(settings: Settings, args: argparse.Namespace) -> int:
    from rapport.auth.totp import SEALED as TOTP_SEALED  # the kernel loads only for rotation
    from rapport.composition import KERNEL

    keyring = KeyRing.from_settings(settings)
    who = actor()

    async def work(db: Database) -> list[str]:
        tenants = [await get_tenant(db, args.tenant)] if args.tenant else await list_tenants(db)
        lines = []
        for tenant in tenants:
            if args.reencrypt:
                _, metadata = await load_published(db, tenant.slug)
                done = await reencrypt(
                    db,
                    keyring,
                    tenant,
                    metadata.model,
                    actor=who,
                    batch_size=args.batch_size,
                    catalog=(*TOTP_SEALED, *KERNEL.sealed),
                )
                lines.append(
                    f"tenant {tenant.slug}: data key {done.key_id} active, "
                    f"{done.values} value(s) re-encrypted in {done.batches} batch(es)"
                )
            else:
                count = await rewrap(db, keyring, tenant, actor=who)
                lines.append(
                    f"tenant {tenant.slug}: {count} data key(s) re-wrapped under "
                    f"{keyring.current_master}"
                )
        return lines

    for line in with_database(settings, work):
        print(line)
    return 0
