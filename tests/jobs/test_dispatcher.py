"""The dispatcher: due rows become arq jobs (job id = outbox id); nothing lost when Redis fails."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import Job
from redis.exceptions import RedisError

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.jobs.dispatcher import Dispatcher, arq_job_id
from rapport.jobs.outbox import enqueue
from tests.jobs.support import RedisServer


async def _pending(database: Database, tenant: Tenant) -> int:
    return int(
        await database.fetchval(
            "SELECT count(*) FROM rapport.outbox WHERE tenant_id = $1::uuid "
            "AND dispatched_at IS NULL AND coalesce(not_before, created_at) <= now()",
            tenant.id,
        )
    )


async def _enqueue(database: Database, tenant: Tenant, n: int, **kw: object) -> list[str]:
    async with database.transaction() as conn:
        return [
            await enqueue(conn, tenant_id=tenant.id, topic="entity.create", payload={"i": i}, **kw)  # type: ignore[arg-type]
            for i in range(n)
        ]


async def _reconnected(pool: ArqRedis) -> None:
    """The pool's connection died with the old server; the first command after fails."""
    try:
        await pool.ping()
    except RedisError:
        await pool.ping()


@pytest.fixture
async def redis(clean_redis: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(clean_redis))
    yield pool
    await pool.aclose()


@pytest.fixture(autouse=True)
async def _empty_outbox(database: Database, tenant: Tenant) -> None:
    await database.execute("DELETE FROM rapport.outbox")


async def test_due_rows_become_arq_jobs_named_by_their_outbox_id(
    database: Database, tenant: Tenant, redis: ArqRedis
) -> None:
    # given three due rows and one due next week
    ids = await _enqueue(database, tenant, 3)
    await _enqueue(database, tenant, 1, not_before=datetime.now(UTC) + timedelta(days=7))
    dispatcher = Dispatcher(database, redis, scan_seconds=1)
    # when one round runs
    await dispatcher.dispatch_due()
    # then each due row is an arq job whose id is its outbox id, and it is marked dispatched
    for outbox_id in ids:
        info = await Job(outbox_id, redis).info()
        assert info is not None and info.args == (outbox_id,)
    assert await _pending(database, tenant) == 0
    assert dispatcher.dispatched == 3
    # when a second round runs, nothing is sent again
    await dispatcher.dispatch_due()
    assert dispatcher.dispatched == 3
    assert await redis.zcard("arq:queue") == 3


async def test_a_row_due_before_the_next_scan_is_deferred_to_its_time(
    database: Database, tenant: Tenant, redis: ArqRedis
) -> None:
    # given a row due in two seconds, within the scan interval
    due = datetime.now(UTC) + timedelta(seconds=2)
    (outbox_id,) = await _enqueue(database, tenant, 1, not_before=due)
    # when dispatched now
    await Dispatcher(database, redis, scan_seconds=5).dispatch_due()
    # then arq holds it with a score at its due time
    score = await redis.zscore("arq:queue", outbox_id)
    assert score is not None and abs(score / 1000 - due.timestamp()) < 0.01


async def test_redis_down_loses_nothing_and_dispatches_after_it_returns(
    database: Database, tenant: Tenant
) -> None:
    # given a dedicated Redis, stopped after the dispatcher connected
    server = RedisServer()
    server.start()
    pool = await create_pool(RedisSettings.from_dsn(server.url))
    try:
        dispatcher = Dispatcher(database, pool, scan_seconds=1)
        server.stop()
        ids = await _enqueue(database, tenant, 5)
        # when a round runs while Redis is down
        with pytest.raises((RedisError, OSError)):
            await dispatcher.dispatch_due()
        # then every row is still pending
        assert await _pending(database, tenant) == 5
        # when Redis is back (a new, empty server on the same port)
        server.start()
        await dispatcher.dispatch_due()
        # then all of them are jobs
        assert await _pending(database, tenant) == 0
        assert sorted(j.decode() for j in await pool.zrange("arq:queue", 0, -1)) == sorted(ids)
    finally:
        await pool.aclose()
        server.stop()


async def test_jobs_redis_lost_after_dispatch_are_dispatched_again(
    database: Database, tenant: Tenant
) -> None:
    # given rows dispatched into a Redis that then restarts empty (no persistence)
    server = RedisServer()
    server.start()
    pool = await create_pool(RedisSettings.from_dsn(server.url))
    try:
        dispatcher = Dispatcher(database, pool, scan_seconds=1, stale_after=timedelta(0))
        ids = await _enqueue(database, tenant, 2)
        await dispatcher.dispatch_due()
        server.stop()
        server.start()
        await _reconnected(pool)
        assert await pool.zcard("arq:queue") == 0
        # and one of them had been processed before the restart
        await database.execute(
            "INSERT INTO rapport.processed (outbox_id, attempts) VALUES ($1::uuid, 1)", ids[0]
        )
        # when the dispatcher looks for stale rows
        assert await dispatcher.requeue_stale() == 1
        await dispatcher.dispatch_due()
        # then only the unprocessed one is sent again
        assert [j.decode() for j in await pool.zrange("arq:queue", 0, -1)] == [ids[1]]
    finally:
        await pool.aclose()
        server.stop()


async def test_a_re_dispatch_of_a_known_job_is_harmless(
    database: Database, tenant: Tenant, redis: ArqRedis
) -> None:
    # given a dispatched row whose mark is lost (e.g. the dispatcher died before committing)
    await _enqueue(database, tenant, 1)
    dispatcher = Dispatcher(database, redis, scan_seconds=1)
    await dispatcher.dispatch_due()
    await database.execute("UPDATE rapport.outbox SET dispatched_at = NULL")
    # when it is dispatched again
    await dispatcher.dispatch_due()
    # then arq still holds one job for it
    assert await redis.zcard("arq:queue") == 1
    assert await _pending(database, tenant) == 0


def test_operator_retries_get_their_own_job_id() -> None:
    assert arq_job_id("abc", 0) == "abc"
    assert arq_job_id("abc", 2) == "abc#2"
    assert json.dumps(arq_job_id("x", 1)) == '"x#1"'
