"""``rapport tenant create|list``."""

from __future__ import annotations

import argparse
from typing import Any

from rapport.cli._common import actor, print_table, with_database
from rapport.db.database import Database
from rapport.db.tenants import list_tenants
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("tenant", help="create and list tenants")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a tenant (schema + kernel metadata)")
    create.add_argument("slug", metavar="SLUG", help="e.g. acme: a-z, 0-9, _; 2-40 characters")
    create.add_argument("--name", help="display name (default: the slug)")
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", help="list tenants")
    listing.set_defaults(handler=_list)


def _create(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        tenant = await create_tenant(db, args.slug, args.name, actor=actor())
        print(
            f"created tenant {tenant.slug} ({tenant.name}): schema {tenant.schema}, "
            f"metadata version {tenant.metadata_version}"
        )

    with_database(settings, work)
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        tenants = await list_tenants(db)
        if not tenants:
            print("no tenants yet; create one with `rapport tenant create SLUG`")
            return
        print_table(
            ["SLUG", "NAME", "VERSION", "CREATED"],
            [
                (t.slug, t.name, t.metadata_version, t.created_at.isoformat(timespec="seconds"))
                for t in tenants
            ],
        )

    with_database(settings, work)
    return 0
