"""The one way Rapport talks to PostgreSQL: an asyncpg pool with a span per statement.

Every statement goes through :class:`Database` or a :class:`Connection` taken from it, so each
gets an OpenTelemetry span and connection failures become :class:`DatabaseUnavailable` instead
of a stack trace. Callers never touch ``asyncpg.Pool`` directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    nullcontext,
)
from typing import Any

import asyncpg
from opentelemetry import trace

from rapport.db.group import GroupCommit
from rapport.errors import DatabaseUnavailable
from rapport.telemetry import tracing

__all__ = ["Connection", "Database"]

_tracer = trace.get_tracer("rapport.db")
_NO_SPAN: AbstractContextManager[trace.Span] = nullcontext(trace.INVALID_SPAN)

# Failures that mean "the server is gone", not "the statement is wrong".
_UNAVAILABLE = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,
)


def _operation(sql: str) -> str:
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "SQL"


class Connection:
    """One pooled connection; statements on it share its transaction when one is open."""

    __slots__ = ("_raw",)

    def __init__(self, raw: asyncpg.Connection) -> None:
        self._raw = raw

    @property
    def raw(self) -> asyncpg.Connection:
        """The asyncpg connection, for LISTEN and COPY; prefer the methods below."""
        return self._raw

    async def execute(self, sql: str, *args: Any) -> str:
        with _span(sql):
            try:
                return str(await self._raw.execute(sql, *args))
            except _UNAVAILABLE as exc:
                raise _unavailable(exc) from exc

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        with _span(sql):
            try:
                await self._raw.executemany(sql, args)
            except _UNAVAILABLE as exc:
                raise _unavailable(exc) from exc

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        with _span(sql):
            try:
                return list(await self._raw.fetch(sql, *args))
            except _UNAVAILABLE as exc:
                raise _unavailable(exc) from exc

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        with _span(sql):
            try:
                return await self._raw.fetchrow(sql, *args)
            except _UNAVAILABLE as exc:
                raise _unavailable(exc) from exc

    async def fetchval(self, sql: str, *args: Any) -> Any:
        with _span(sql):
            try:
                return await self._raw.fetchval(sql, *args)
            except _UNAVAILABLE as exc:
                raise _unavailable(exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A transaction (or a savepoint when one is already open) on this connection."""
        async with self._raw.transaction():
            yield self


class _Acquired:
    """``Database.acquire``'s context manager: a class, not an ``asynccontextmanager``
    generator, because every request enters one (the generator costs ~2 % of a small read)."""

    __slots__ = ("_pool", "_raw")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._raw: asyncpg.Connection | None = None

    async def __aenter__(self) -> Connection:
        try:
            self._raw = await self._pool.acquire()
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        return Connection(self._raw)

    async def __aexit__(self, *exc: object) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            await self._pool.release(raw)


class Database:
    """A pool of connections to one PostgreSQL server."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        self.dsn = dsn
        self._group: GroupCommit[Connection] = GroupCommit(
            pool, connection=Connection, unavailable=_UNAVAILABLE, wrap=_unavailable
        )

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> Database:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                # Timestamps leave PostgreSQL as ISO-8601 in UTC whatever the server's default.
                server_settings={"timezone": "UTC", "application_name": "rapport"},
                reset=_no_reset,
            )
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        return cls(pool, dsn)

    async def close(self) -> None:
        await self._pool.close()

    def acquire(self) -> AbstractAsyncContextManager[Connection]:
        """A pooled connection for the ``async with`` block (returned to the pool after)."""
        return _Acquired(self._pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.acquire() as conn, conn.transaction():
            yield conn

    def grouped(self, key: str) -> AbstractAsyncContextManager[Connection]:
        """A write that may share its transaction and commit with other concurrent writes of
        ``key`` (a tenant id), each in its own savepoint (:mod:`rapport.db.group`)."""
        return self._group.transaction(key)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self.acquire() as conn:
            return await conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.acquire() as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(sql, *args)


async def _no_reset(raw: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release (``RESET ALL``, ``UNLISTEN *``, unlocking advisory
    locks, ``CLOSE ALL``): one round trip per request, and nothing of it applies here. Pooled
    connections never hold session state: settings are ``set_config(..., true)`` (transaction
    scoped), advisory locks are ``pg_advisory_xact_lock``, LISTEN runs on dedicated
    connections. asyncpg still rolls back a transaction left open before calling this."""


def _span(sql: str) -> AbstractContextManager[trace.Span]:
    if not tracing():  # no provider: not even a no-op span (rapport.telemetry.tracing)
        return _NO_SPAN
    return _tracer.start_as_current_span(
        f"db {_operation(sql)}",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": sql[:2000]},
    )


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        "The database cannot be reached.",
        hint="Check that PostgreSQL is running and RAPPORT_DATABASE_URL points at it; retry.",
    )
