"""The catalog schema ``rapport``: plain SQL migrations applied in order, once.

Migrations are the files ``NNNN_name.sql`` shipped in ``rapport/_data/migrations`` (the
repository's ``migrations/`` links there). Each runs in its own transaction together with its
row in ``rapport.schema_migrations``, so a failing file leaves neither half its changes nor a
record. A transaction-scoped advisory lock serializes migrations across processes: two app
instances starting at once apply each file exactly once.

The catalog uses asyncpg and SQL rather than an ORM because ``publish`` must run tenant DDL and
the catalog version bump in one transaction on one connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg

from rapport.db.database import Connection, Database
from rapport.errors import ConfigurationError, RapportError

__all__ = ["Migration", "load_migrations", "migrate"]

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# Everyone who migrates the catalog takes this lock first (hashtext keeps it readable in SQL).
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('rapport.catalog.migrate'))"

# migrate() needs somewhere to record the first file before that file has run.
_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS rapport;
CREATE TABLE IF NOT EXISTS rapport.schema_migrations (
    name       text        PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


@dataclass(frozen=True, slots=True)
class Migration:
    name: str  # file name without ".sql", e.g. "0001_catalog"
    sql: str


def _default_source() -> Traversable:
    return resources.files("rapport") / "_data" / "migrations"


def load_migrations(source: Traversable | Path | None = None) -> tuple[Migration, ...]:
    """The migrations in ``source`` (default: the packaged ones), ordered by number."""
    folder = source if source is not None else _default_source()
    found: dict[str, Migration] = {}
    numbers: dict[str, str] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise ConfigurationError(
                f"Catalog migration file {entry.name!r} is not named NNNN_name.sql.",
                hint="Rename it to a four-digit number, an underscore, lowercase words and .sql.",
            )
        number = match.group(1)
        if number in numbers:
            raise ConfigurationError(
                f"Catalog migrations {numbers[number]!r} and {entry.name!r} share number {number}.",
                hint="Give every migration file its own number.",
            )
        numbers[number] = entry.name
        name = entry.name.removesuffix(".sql")
        found[name] = Migration(name, entry.read_text(encoding="utf-8"))
    return tuple(found[name] for name in sorted(found))


async def migrate(db: Database, *, source: Traversable | Path | None = None) -> list[str]:
    """Apply every migration not yet applied; return the names applied by this call."""
    migrations = load_migrations(source)
    async with db.transaction() as conn:
        await conn.execute(_LOCK)
        await conn.execute(_BOOTSTRAP)
    applied: list[str] = []
    for migration in await _pending(db, migrations):
        async with db.transaction() as conn:
            await conn.execute(_LOCK)
            # Another process may have applied it while we waited for the lock.
            if await _is_applied(conn, migration.name):
                continue
            try:
                await conn.execute(migration.sql)
            except asyncpg.PostgresError as exc:
                raise RapportError(
                    f"Catalog migration {migration.name} failed: {exc}",
                    hint="Nothing of this migration was applied; fix the file or the database "
                    "and start again.",
                ) from exc
            await conn.execute(
                "INSERT INTO rapport.schema_migrations (name) VALUES ($1)", migration.name
            )
        applied.append(migration.name)
    return applied


async def _pending(db: Database, migrations: Iterable[Migration]) -> list[Migration]:
    rows = await db.fetch("SELECT name FROM rapport.schema_migrations")
    done = {row["name"] for row in rows}
    return [m for m in migrations if m.name not in done]


async def _is_applied(conn: Connection, name: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM rapport.schema_migrations WHERE name = $1)", name
        )
    )
