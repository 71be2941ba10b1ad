"""The Starlette application: routes, middleware, and start-up/shutdown in order.

Start-up: database (``RAPPORT_DATABASE_URL``, or the embedded PostgreSQL in the data directory)
→ catalog migrations → tenant runtimes with their LISTEN connection → (demo tenant) → ready.
Shutdown runs the same steps backwards. uvicorn opens its socket only after start-up completed,
so ``GET /healthz`` answering at all means migrations ran.

A start-up failure reaches the log as one line with the error's code, message and hint (no
traceback), and :func:`rapport.server.run` turns it into the CLI's exit status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from rapport.audit.checkpoints import CheckpointSigner
from rapport.audit.rechain import rechain_legacy_logs
from rapport.auth.authenticate import Authenticator
from rapport.auth.tokens import TokenVerifier
from rapport.auth.totp import seal_plaintext
from rapport.auth_http import AUTH_ROUTES
from rapport.composition import KERNEL
from rapport.console import CONSOLE_ROUTES
from rapport.db.catalog import migrate
from rapport.db.connect import open_database
from rapport.downloads_http import DOWNLOAD_ROUTES
from rapport.errors import RapportError
from rapport.graphql.admin import admin_endpoint, build_admin_schema
from rapport.graphql.events import EventHub
from rapport.graphql.executor import build_tenant_api
from rapport.graphql.http import graphql_endpoint, healthz_endpoint
from rapport.graphql.limits import load_persisted_operations
from rapport.graphql.public import public_endpoint
from rapport.graphql.ws import websocket_endpoint
from rapport.im.http import IM_ROUTES
from rapport.plugins import installed_registry
from rapport.plugins.attributes import PluginAttributes
from rapport.ratelimit import TokenBuckets
from rapport.runtime import TenantRuntimes
from rapport.services import Services
from rapport.settings import Settings
from rapport.telemetry import TelemetryMiddleware
from rapport.telemetry import setup as setup_telemetry

__all__ = ["RapportApp", "create_app"]

log = logging.getLogger(__name__)


ReadyHook = Callable[[Services], object]


class RapportApp(Starlette):
    """A Starlette app whose lifespan reports start-up failures as clean one-line messages."""

    def __init__(
        self,
        settings: Settings,
        *,
        demo: bool = False,
        on_ready: ReadyHook | None = None,
    ) -> None:
        super().__init__(
            routes=[
                Route("/healthz", healthz_endpoint, methods=["GET"]),
                Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
                WebSocketRoute("/graphql", websocket_endpoint),
                Route("/graphql/admin", admin_endpoint, methods=["GET", "POST"]),
                Route("/public/{tenant}/graphql", public_endpoint, methods=["POST"]),
                *AUTH_ROUTES,
                *DOWNLOAD_ROUTES,  # plug-ins' files (evidence packages), audited
                *IM_ROUTES,  # WeCom and DingTalk H5 login
                *CONSOLE_ROUTES,  # the web console (static assets from the wheel)
            ],
            middleware=[Middleware(TelemetryMiddleware)],
        )
        self.settings = settings
        self.demo = demo
        self.on_ready = on_ready
        self.startup_error: RapportError | None = None
        self.tracer_provider = setup_telemetry(settings)
        self.admin_schema = build_admin_schema(settings)
        self.state.services = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        async with AsyncExitStack() as stack:
            try:
                services = await self._start(stack)
            except RapportError as exc:
                self.startup_error = exc
                await send({"type": "lifespan.startup.failed", "message": _one_line(exc)})
                return
            except Exception as exc:
                log.exception("start-up failed")
                self.startup_error = RapportError(
                    f"Start-up failed: {exc}", hint="See the log above for the cause."
                )
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            self.state.services = services
            if self.on_ready is not None:
                self.on_ready(services)
            await send({"type": "lifespan.startup.complete"})
            message = await receive()  # lifespan.shutdown
            self.state.services = None
            try:
                await stack.aclose()
            except Exception as exc:
                log.exception("shutdown failed")
                await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                return
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush()
        await send({"type": "lifespan.shutdown.complete"})

    async def _start(self, stack: AsyncExitStack) -> Services:
        # Every installed plug-in is validated before anything is served (PLUGIN_INVALID
        # lists all problems); a process never starts with a half-loaded plug-in.
        installed_registry()
        db = await stack.enter_async_context(open_database(self.settings))
        applied = await migrate(db)
        if applied:
            log.info("catalog migrations applied: %s", ", ".join(applied))
        # Audit logs still chained catalog-wide (SQL cannot hash or sign them: migration 0011).
        await rechain_legacy_logs(db, CheckpointSigner.from_settings(self.settings))
        limits = self.settings.query_limits
        runtimes = TenantRuntimes(
            db,
            builder=partial(build_tenant_api, kernel=KERNEL, limits=limits),
            capacity=self.settings.tenant_cache_size,
        )
        await runtimes.start()
        stack.push_async_callback(runtimes.close)
        events = EventHub(db)
        stack.push_async_callback(events.close)
        services = Services(
            settings=self.settings,
            db=db,
            kernel=KERNEL,
            runtimes=runtimes,
            tokens=(tokens := TokenVerifier(self.settings)),
            admin=self.admin_schema,
            auth=Authenticator(self.settings, db, tokens),
            events=events,
            plugin_attributes=PluginAttributes(db, self.settings.identity.revocation_cache_seconds),
            public_limits=TokenBuckets(
                self.settings.public_rate_per_minute, self.settings.public_burst
            ),
            persisted=(
                None
                if limits.persisted_operations is None
                else load_persisted_operations(limits.persisted_operations)
            ),
        )
        # TOTP secrets stored before they were sealed (the SQL migration cannot seal them).
        await seal_plaintext(db, services.auth.keyring)
        if self.demo:
            from rapport.demo import ensure_demo  # only `serve --demo` needs the demo data

            await ensure_demo(services)
        return services


def create_app(
    settings: Settings, *, demo: bool = False, on_ready: ReadyHook | None = None
) -> RapportApp:
    """The ASGI application for these settings (start-up happens in its lifespan)."""
    return RapportApp(settings, demo=demo, on_ready=on_ready)


def _one_line(error: RapportError) -> str:
    return f"{error.code}: {error}"
