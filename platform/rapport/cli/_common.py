"""Helpers every command shares: the database session, the actor name, error output, tables."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from rapport.db.catalog import migrate
from rapport.db.connect import open_database
from rapport.db.database import Database
from rapport.errors import RapportError
from rapport.settings import Settings

__all__ = ["actor", "fail", "print_table", "user_name", "with_database"]

T = TypeVar("T")


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the settings' database (embedded or not), catalog migrated first."""

    async def session() -> T:
        async with open_database(settings, pool_size=2) as db:
            await migrate(db)
            return await work(db)

    return asyncio.run(session())


def user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return "unknown"


def actor() -> str:
    """Who a CLI change is recorded as (metadata versions' published_by)."""
    return f"cli:{user_name()}"


def fail(error: RapportError) -> int:
    print(f"error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hint: {error.hint}", file=sys.stderr)
    return 1


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
