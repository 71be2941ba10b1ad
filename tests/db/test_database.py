"""The pool: releasing a connection costs no reset round trip, yet leaves nothing behind."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from rapport.db.database import Database


async def test_release_sends_no_reset_statement(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    original = asyncpg.Connection.execute

    async def spy(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> str:
        sent.append(query)
        return await original(self, query, *args, **kwargs)

    db = await Database.connect(database_url, min_size=1, max_size=1)
    try:
        monkeypatch.setattr(asyncpg.Connection, "execute", spy)
        for _ in range(3):
            assert await db.fetchval("SELECT 1") == 1
        # asyncpg's default reset is an execute of RESET ALL / UNLISTEN * / CLOSE ALL…
        assert not any("RESET" in q or "UNLISTEN" in q for q in sent), sent
    finally:
        await db.close()


async def test_a_transaction_left_open_is_rolled_back_on_release(database: Database) -> None:
    await database.execute("CREATE TABLE left_open (n int)")
    async with database.acquire() as conn:
        transaction = conn.raw.transaction()
        await transaction.start()
        await conn.execute("INSERT INTO left_open VALUES (1)")
        # released without commit or rollback (a cancelled request, say)
    async with database.acquire() as conn:
        assert not conn.raw.is_in_transaction()
        assert await conn.fetchval("SELECT count(*) FROM left_open") == 0


async def test_transaction_scoped_settings_do_not_outlive_their_transaction(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        await conn.execute("SELECT set_config('lock_timeout', '1234ms', true)")
    assert await database.fetchval("SHOW lock_timeout") != "1234ms"
