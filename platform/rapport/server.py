"""Running Rapport: the database a process uses, and uvicorn serving the app.

:func:`open_database` is the one place that decides which PostgreSQL a process talks to:
``RAPPORT_DATABASE_URL`` when set, else the embedded server in the data directory, started on
entry and released on exit. The server and every CLI command go through it, so a CLI command
run next to ``rapport serve`` joins the same embedded server instead of starting a second one
(pgserver counts the processes using it and stops it after the last one leaves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from rapport.db.database import Database
from rapport.db.embedded import EmbeddedPostgres
from rapport.errors import ConfigurationError
from rapport.settings import Settings

if TYPE_CHECKING:
    from rapport.app import Services

__all__ = ["open_database", "run"]

log = logging.getLogger(__name__)


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


def run(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    demo: bool = False,
    on_ready: Callable[[Services, str], object] | None = None,
) -> None:
    """Serve until interrupted (one worker); raises the start-up error when start-up fails.

    ``on_ready(services, base_url)`` runs once the app is ready, e.g. to print where it is.
    """
    import uvicorn

    from rapport.app import create_app  # the app imports open_database from here

    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    base_url = f"http://{_url_host(bind_host)}:{bind_port}"

    def ready(services: Services) -> None:
        if on_ready is not None:
            on_ready(services, base_url)

    app = create_app(settings, demo=demo, on_ready=ready)
    config = uvicorn.Config(
        app,
        host=bind_host,
        port=bind_port,
        workers=1,
        lifespan="on",
        log_level="info",
        # Rapport logs errors itself; uvicorn's access log stays on for development.
        access_log=not settings.is_production,
        server_header=False,
        # The client address stays the TCP peer: uvicorn would otherwise believe
        # X-Forwarded-For from 127.0.0.1 (or FORWARDED_ALLOW_IPS). Rapport decides which proxies
        # to trust itself (RAPPORT_TRUSTED_PROXIES, rapport.auth.throttle).
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    # uvicorn exits the process when start-up fails or the port is taken; the CLI decides.
    with contextlib.suppress(SystemExit):
        server.run()
    if not server.started:
        if app.startup_error is not None:
            raise app.startup_error
        raise ConfigurationError(
            f"The server did not start on {bind_host}:{bind_port}.",
            hint="See the log above; if the port is taken, pass --port or set RAPPORT_PORT.",
        )


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
