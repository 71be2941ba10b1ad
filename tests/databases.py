"""Throw-away databases on the test server, whatever form its URL takes.

The server URL is CI's TCP one (``postgresql://postgres@127.0.0.1:5432/postgres``) or the
embedded server's Unix-socket one (``postgresql://postgres:@/postgres?host=<socket dir>``), and a
developer may set any other form libpq accepts. Every fixture that creates a database derives
its URL with :func:`with_database`, so none of them depends on the form.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import asyncpg

__all__ = ["ScratchDatabase", "scratch_database", "with_database"]

# libpq and asyncpg let these query parameters override the database named in the path.
_DATABASE_PARAMETERS = frozenset({"dbname", "database"})


def with_database(url: str, name: str) -> str:
    """``url`` naming database ``name``; credentials, host, port and options stay as they were."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {url!r} (expected postgresql://…)")
    # Rebuilt by hand: urlunsplit drops the "//" of an empty host (postgresql:///db?host=/run),
    # and the query is kept as written because a socket directory in it may be percent-encoded.
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and pair.split("=", 1)[0] not in _DATABASE_PARAMETERS
    )
    derived = f"{parts.scheme}://{parts.netloc}/{quote(name, safe='')}"
    return derived + (f"?{query}" if query else "")


@dataclass(frozen=True, slots=True)
class ScratchDatabase:
    name: str
    url: str


@asynccontextmanager
async def scratch_database(server_url: str, prefix: str) -> AsyncIterator[ScratchDatabase]:
    """A new empty database on the server of ``server_url``; dropped on exit, even if in use."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield ScratchDatabase(name, with_database(server_url, name))
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
