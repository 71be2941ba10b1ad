"""Tenant runtimes: each tenant's compiled GraphQL API, cached per metadata version, hot-swapped.

The first request for a tenant loads its published metadata and builds its API; later requests
reuse it. A publish on any instance sends ``NOTIFY rapport_metadata '<slug>:<version>'``; a
dedicated LISTEN connection here marks that tenant stale, so the next request builds the new
API, swaps it in and closes the old one (which frees it: nothing else keeps a reference).

Nothing may stay stale: while the LISTEN connection is down, every request checks the tenant's
catalog version (one indexed row) before using its cached API, and after reconnecting every
cached API is checked once, because notifications sent in between are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from rapport.db.database import Database
from rapport.db.tenants import Tenant, get_tenant
from rapport.errors import DatabaseUnavailable, TenantNotFound
from rapport.graphql.executor import TenantApi
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.lifecycle import load_published

__all__ = ["CHANNEL", "TenantRuntimes"]

log = logging.getLogger(__name__)

CHANNEL = "rapport_metadata"
LISTENER_APPLICATION_NAME = "rapport-listener"

Loader = Callable[[Database, str], Awaitable[tuple[Tenant, TenantMetadata]]]
Builder = Callable[[Tenant, TenantMetadata], TenantApi]


@dataclass(frozen=True, slots=True)
class _Entry:
    # A tenant dropped and created again starts over at version 1, so the id is part of the key.
    tenant_id: str
    version: int
    api: TenantApi


class TenantRuntimes:
    """The tenant APIs of one app instance, kept in step with the catalog."""

    def __init__(
        self,
        db: Database,
        *,
        builder: Builder,  # the app factory's: build_tenant_api with the kernel (rapport.app)
        loader: Loader = load_published,
        reconnect_delays: Sequence[float] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
        probe_interval: float = 15.0,
        capacity: int = 100,  # RAPPORT_TENANT_CACHE_SIZE
    ) -> None:
        self._db = db
        self._loader = loader
        self._builder = builder
        self._reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self._probe_interval = probe_interval
        # Least recently used first: past ``capacity`` the oldest API is closed and dropped, so a
        # process serving thousands of tenants holds only its busy ones (docs/scaling.md).
        self._capacity = max(1, capacity)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._stale: set[str] = set()
        self._listening = False
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.builds = 0  # APIs built so far; tests and metrics read it

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the LISTEN connection; raises DatabaseUnavailable when it cannot."""
        if self._task is not None:
            raise RuntimeError("TenantRuntimes.start() was called twice")
        connection = await self._connect()
        self._task = asyncio.create_task(self._supervise(connection), name="rapport-listener")

    async def close(self) -> None:
        self._closed = True
        await self._stop_listener()
        self._close_apis()

    async def _stop_listener(self) -> None:
        # Its own frame: the CancelledError's traceback keeps this frame (and its locals) alive
        # for a while, so it must not hold references to any API.
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._listening = False
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await _close_quietly(listener)

    def _close_apis(self) -> None:
        entries, self._entries = self._entries, OrderedDict()
        self._stale.clear()
        self._locks.clear()
        for entry in entries.values():
            entry.api.close()

    @property
    def listening(self) -> bool:
        """True while notifications arrive, i.e. while cached APIs can be trusted."""
        return self._listening

    def cached_version(self, slug: str) -> int | None:
        entry = self._entries.get(slug)
        return entry.version if entry is not None else None

    def mark_stale(self, slug: str) -> None:
        """Check ``slug`` against the catalog before its next use (e.g. after a local publish)."""
        if slug in self._entries:
            self._stale.add(slug)

    # --- the request path ------------------------------------------------------------------

    async def get(self, slug: str) -> TenantApi:
        """The current API of tenant ``slug``; raises TenantNotFound when there is none."""
        entry = self._entries.get(slug)
        if entry is not None and self._listening and slug not in self._stale:
            self._entries.move_to_end(slug)
            return entry.api
        # Single flight: concurrent first requests for a tenant build its API once.
        lock = self._locks.setdefault(slug, asyncio.Lock())
        async with lock:
            entry = self._entries.get(slug)
            if entry is not None and self._listening and slug not in self._stale:
                return entry.api
            return await self._refresh(slug, entry)

    async def _refresh(self, slug: str, entry: _Entry | None) -> TenantApi:
        # Cleared before reading the catalog: a notification that arrives while we load marks
        # the tenant stale again, so a publish racing with this build is never missed.
        self._stale.discard(slug)
        try:
            if entry is not None:
                tenant = await get_tenant(self._db, slug)
                if (tenant.id, tenant.metadata_version) == (entry.tenant_id, entry.version):
                    self._entries.move_to_end(slug)
                    return entry.api
            tenant, metadata = await self._loader(self._db, slug)
            # Building a large tenant's schema takes a while (hundreds of ms for hundreds of
            # entities); a worker thread keeps the event loop serving other tenants meanwhile.
            api = await asyncio.to_thread(self._builder, tenant, metadata)
        except TenantNotFound:
            self._evict(slug)
            raise
        except BaseException:
            # The check did not happen (database gone, build failed): keep it pending.
            if slug in self._entries:
                self._stale.add(slug)
            raise
        self.builds += 1
        self._entries[slug] = _Entry(tenant.id, tenant.metadata_version, api)
        self._entries.move_to_end(slug)
        while len(self._entries) > self._capacity:
            self._evict(next(iter(self._entries)))
        if entry is not None:
            log.info(
                "tenant %s: swapped API version %d for %d",
                slug,
                entry.version,
                tenant.metadata_version,
            )
            entry.api.close()
        return api

    def _evict(self, slug: str) -> None:
        entry = self._entries.pop(slug, None)
        self._locks.pop(slug, None)
        self._stale.discard(slug)
        if entry is not None:
            entry.api.close()

    # --- the LISTEN connection --------------------------------------------------------------

    async def _connect(self) -> asyncpg.Connection:
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                self._db.dsn, server_settings={"application_name": LISTENER_APPLICATION_NAME}
            )
            await connection.add_listener(CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(
                f"Cannot listen for metadata changes: {exc}",
                hint="Check that PostgreSQL is running and RAPPORT_DATABASE_URL points at it.",
            ) from exc
        # Everything cached may have missed notifications while no connection listened.
        self._stale.update(self._entries)
        self._listener = connection
        self._listening = True
        return connection

    async def _supervise(self, connection: asyncpg.Connection) -> None:
        """Watch the LISTEN connection; on loss, reconnect with backoff until closed."""
        current: asyncpg.Connection | None = connection
        attempt = 0
        while not self._closed:
            if current is None:
                delay = self._reconnect_delays[min(attempt, len(self._reconnect_delays) - 1)]
                await asyncio.sleep(delay)
                try:
                    current = await self._connect()
                except DatabaseUnavailable as exc:
                    attempt += 1
                    log.warning("metadata listener: reconnect failed (%s)", exc.message)
                    continue
                log.info("metadata listener: reconnected after %d failed attempt(s)", attempt)
                attempt = 0
            try:
                await self._watch(current)
            except Exception:
                log.exception("metadata listener: unexpected failure")
            self._listening = False
            log.warning("metadata listener: connection lost; checking every tenant until back")
            await _close_quietly(current)
            current = None

    async def _watch(self, connection: asyncpg.Connection) -> None:
        """Return when ``connection`` is lost (closed by the server, or not answering)."""
        lost = asyncio.Event()

        def on_termination(_: Any) -> None:
            lost.set()

        connection.add_termination_listener(on_termination)
        while not lost.is_set() and not connection.is_closed():
            try:
                await asyncio.wait_for(lost.wait(), self._probe_interval)
            except TimeoutError:
                # A half-open TCP connection never reports its loss; a probe notices it.
                try:
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), 5.0)
                except Exception:
                    return

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        slug = payload.rpartition(":")[0] or payload
        log.debug("metadata listener: %s", payload)
        # Always re-check, even when the announced version equals the cached one: a tenant
        # dropped and created again restarts at version 1. The check is one indexed row.
        self.mark_stale(slug)


async def _close_quietly(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), 2.0)
    except Exception:
        connection.terminate()
