"""The database a process uses: :func:`open_database` is the one place that decides.

``RAPPORT_DATABASE_URL`` when set, else the embedded server in the data directory, started on
entry and released on exit. The server and every CLI command go through it, so a CLI command
run next to ``rapport serve`` joins the same embedded server instead of starting a second one
(pgserver counts the processes using it and stops it after the last one leaves).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rapport.db.database import Database
from rapport.db.embedded import EmbeddedPostgres
from rapport.settings import Settings

__all__ = ["open_database"]


@asynccontextmanager
async def open_database(
    settings: Settings, *, pool_size: int | None = None
) -> AsyncIterator[Database]:
    """A connected :class:`Database` for these settings; stops what it started on exit."""
    embedded: EmbeddedPostgres | None = None
    dsn = settings.database_url
    if dsn is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        # initdb and pg_ctl block for seconds; keep the event loop free meanwhile.
        dsn = await asyncio.to_thread(embedded.start)
    try:
        db = await Database.connect(
            dsn, min_size=1, max_size=pool_size or settings.database_pool_size
        )
        try:
            yield db
        finally:
            await db.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
