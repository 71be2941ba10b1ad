"""The URL of another database on the same server, from each URL form the tests may get."""

from __future__ import annotations

import asyncpg
import pytest

from tests.databases import scratch_database, with_database

FORMS = {
    "TCP": (
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql://postgres@127.0.0.1:5432/scratch",
    ),
    "TCP without port or user": (
        "postgresql://db.internal/app",
        "postgresql://db.internal/scratch",
    ),
    "TCP with password and options": (
        "postgres://app:s3cret@db:6432/app?sslmode=disable&application_name=t",
        "postgres://app:s3cret@db:6432/scratch?sslmode=disable&application_name=t",
    ),
    "TCP without a database": (
        "postgresql://postgres@127.0.0.1",
        "postgresql://postgres@127.0.0.1/scratch",
    ),
    "IPv6": (
        "postgresql://postgres@[::1]:5432/postgres",
        "postgresql://postgres@[::1]:5432/scratch",
    ),
    "embedded server's socket": (
        "postgresql://postgres:@/postgres?host=/tmp/rapport-test-pg-x/postgres",
        "postgresql://postgres:@/scratch?host=/tmp/rapport-test-pg-x/postgres",
    ),
    "socket without credentials": (
        "postgresql:///postgres?host=/var/run/postgresql",
        "postgresql:///scratch?host=/var/run/postgresql",
    ),
    "socket with a port": (
        "postgresql://postgres@/postgres?host=/run/pg&port=5433",
        "postgresql://postgres@/scratch?host=/run/pg&port=5433",
    ),
    "percent-encoded socket in the host": (
        "postgresql://us%40er:p%2Fw@%2Fvar%2Frun%2Fpostgresql/postgres",
        "postgresql://us%40er:p%2Fw@%2Fvar%2Frun%2Fpostgresql/scratch",
    ),
    "percent-encoded socket in the query": (
        "postgresql://postgres@/postgres?host=%2Ftmp%2Fa%20b",
        "postgresql://postgres@/scratch?host=%2Ftmp%2Fa%20b",
    ),
    "database named in the query": (
        "postgresql://postgres@localhost/?dbname=postgres&sslmode=prefer",
        "postgresql://postgres@localhost/scratch?sslmode=prefer",
    ),
}


@pytest.mark.parametrize(("server", "expected"), FORMS.values(), ids=FORMS.keys())
def test_another_database_keeps_everything_but_the_name(server: str, expected: str) -> None:
    assert with_database(server, "scratch") == expected


def test_a_name_is_percent_encoded() -> None:
    derived = with_database("postgresql://postgres@127.0.0.1/postgres", "a b/c")
    assert derived == "postgresql://postgres@127.0.0.1/a%20b%2Fc"


def test_a_url_that_is_not_postgresql_is_refused() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        with_database("host=127.0.0.1 dbname=postgres", "scratch")


async def test_a_scratch_database_is_reachable_and_dropped_afterwards(server_dsn: str) -> None:
    # given the session's server, TCP or the embedded server's socket
    async with scratch_database(server_dsn, "rapport_urls") as scratch:
        # when
        conn = await asyncpg.connect(scratch.url)
        try:
            # then the derived URL reaches the new database
            assert await conn.fetchval("SELECT current_database()") == scratch.name
        finally:
            await conn.close()
    admin = await asyncpg.connect(server_dsn)
    try:
        gone = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", scratch.name)
    finally:
        await admin.close()
    assert gone is None
