"""Running Rapport: uvicorn serving the app, until interrupted.

The database comes from :func:`rapport.db.connect.open_database`, as for every CLI command.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from rapport.errors import ConfigurationError
from rapport.settings import Settings

if TYPE_CHECKING:
    from rapport.services import Services

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    demo: bool = False,
    on_ready: Callable[[Services, str], object] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, and return after a clean shutdown (one worker).

    Raises the start-up error when start-up fails.

    ``on_ready(services, base_url)`` runs once the app is ready, e.g. to print where it is.
    """
    import uvicorn

    from rapport.app import create_app  # the app is loaded only to serve
    from rapport.uvicorn_server import Server

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
    server = Server(config)
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
