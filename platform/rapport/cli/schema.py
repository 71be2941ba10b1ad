"""``rapport schema print (--demo | --tenant SLUG)``: a tenant's GraphQL API as sorted SDL.

``--demo`` needs no database: it compiles the kernel's and the demo's documents the way
``serve --demo`` publishes them. The committed snapshot is refreshed with
``rapport schema print --demo > docs/demo-schema.graphql`` (``make schema``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rapport.cli._common import with_database
from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.graphql.sdl import schema_sdl
from rapport.metadata import lifecycle
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.documents import kernel_documents
from rapport.settings import Settings

__all__ = ["demo_metadata", "register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("schema", help="print a tenant's GraphQL schema (SDL)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    printed = actions.add_parser("print", help="print the schema as SDL, sorted by name")
    which = printed.add_mutually_exclusive_group(required=True)
    which.add_argument("--demo", action="store_true", help="the demo tenant (no database)")
    which.add_argument("--tenant", metavar="SLUG", help="a tenant's published version")
    printed.set_defaults(handler=_print)


def demo_metadata() -> TenantMetadata:
    """The demo tenant's metadata as ``serve --demo`` publishes it: kernel + demo documents."""
    return compile_tenant(kernel_documents() + demo_documents())


def _print(settings: Settings, args: argparse.Namespace) -> int:
    if args.demo:
        metadata = demo_metadata()
    else:

        async def work(db: Database) -> TenantMetadata:
            _tenant, published = await lifecycle.load_published(db, args.tenant)
            return published

        metadata = with_database(settings, work)
    sys.stdout.write(schema_sdl(metadata, KERNEL.contributors))
    return 0
