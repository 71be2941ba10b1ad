"""Tenant runtimes: cached per version, single flight, hot swap on NOTIFY, nothing left stale."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import pytest

from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant, drop_tenant
from rapport.demo import demo_documents
from rapport.errors import TenantNotFound
from rapport.graphql.executor import TenantApi, build_tenant_api
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.runtime import LISTENER_APPLICATION_NAME, TenantRuntimes

BUILDER = partial(build_tenant_api, kernel=KERNEL)
TRAINEE_ONLY = tuple(d for d in demo_documents() if d.id == "training/trainee")


@pytest.fixture(scope="module", autouse=True)
async def catalog(database: Database) -> Database:
    """The module's database with the catalog schema migrated."""
    await migrate(database)
    return database


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def runtimes(database: Database) -> AsyncIterator[TenantRuntimes]:
    runtimes = TenantRuntimes(database, builder=BUILDER)
    await runtimes.start()
    try:
        yield runtimes
    finally:
        await runtimes.close()


async def _terminate_listener(database: Database) -> int:
    terminated = await database.fetchval(
        """
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE application_name = $1 AND datname = current_database()
        """,
        LISTENER_APPLICATION_NAME,
    )
    return int(terminated)


async def test_first_request_builds_once_for_concurrent_callers(
    database: Database, runtimes: TenantRuntimes
) -> None:
    # given
    await create_tenant(database, "single", actor="test")
    # when
    apis = await asyncio.gather(*(runtimes.get("single") for _ in range(20)))
    # then
    assert runtimes.builds == 1
    assert all(api is apis[0] for api in apis)
    assert apis[0].version == 1 and apis[0].tenant.slug == "single"
    assert await runtimes.get("single") is apis[0]


async def test_unknown_tenant(runtimes: TenantRuntimes) -> None:
    with pytest.raises(TenantNotFound, match="nobody"):
        await runtimes.get("nobody")


async def test_publish_swaps_the_api_and_frees_the_old_one(
    database: Database, runtimes: TenantRuntimes
) -> None:
    # given
    await create_tenant(database, "swap", actor="test")
    old = await runtimes.get("swap")
    old_ref: weakref.ref[TenantApi] = weakref.ref(old)
    assert "trainees" not in old.schema.query_type.fields
    # when: another connection publishes (as another instance would)
    await publish(database, "swap", TRAINEE_ONLY, actor="test")

    # then: the NOTIFY marks it stale; the next request builds version 2
    async def swapped() -> bool:
        return (await runtimes.get("swap")).version == 2

    await eventually(swapped)
    new = await runtimes.get("swap")
    assert "trainees" in new.schema.query_type.fields
    assert runtimes.builds == 2
    del old
    gc.collect()
    assert old_ref() is None, gc.get_referrers(old_ref())


async def test_unchanged_tenants_are_not_rebuilt_on_a_notify(
    database: Database, runtimes: TenantRuntimes
) -> None:
    await create_tenant(database, "calm", actor="test")
    api = await runtimes.get("calm")
    await database.execute("SELECT pg_notify('rapport_metadata', 'calm:1')")
    await asyncio.sleep(0.2)
    assert await runtimes.get("calm") is api
    assert runtimes.builds == 1


async def test_dropped_tenant_is_not_found_after_the_notify(
    database: Database, runtimes: TenantRuntimes
) -> None:
    await create_tenant(database, "gone", actor="test")
    api_ref = weakref.ref(await runtimes.get("gone"))
    await drop_tenant(database, "gone")

    async def not_found() -> bool:
        try:
            await runtimes.get("gone")
        except TenantNotFound:
            return True
        return False

    await eventually(not_found)
    assert runtimes.cached_version("gone") is None
    gc.collect()
    assert api_ref() is None


async def test_recreated_tenant_gets_a_new_api(
    database: Database, runtimes: TenantRuntimes
) -> None:
    # a tenant dropped and created again is at version 1 again, but it is not the same tenant
    await create_tenant(database, "phoenix", actor="test")
    first = await runtimes.get("phoenix")
    await drop_tenant(database, "phoenix")
    await create_tenant(database, "phoenix", actor="test")

    async def rebuilt() -> bool:
        return await runtimes.get("phoenix") is not first

    await eventually(rebuilt)
    assert (await runtimes.get("phoenix")).tenant.id != first.tenant.id


async def test_lost_listener_means_checking_every_request(database: Database) -> None:
    # given: a listener that will not come back soon
    runtimes = TenantRuntimes(database, builder=BUILDER, reconnect_delays=[30.0])
    await runtimes.start()
    try:
        await create_tenant(database, "outage", actor="test")
        await runtimes.get("outage")
        # when: its connection dies, and a publish happens meanwhile (its NOTIFY is lost)
        assert await _terminate_listener(database) == 1

        async def down() -> bool:
            return not runtimes.listening

        await eventually(down)
        await publish(database, "outage", TRAINEE_ONLY, actor="test")
        # then: the very next request checks the catalog and serves the new version
        assert (await runtimes.get("outage")).version == 2
    finally:
        await runtimes.close()


async def test_listener_reconnects_and_rechecks_everything(database: Database) -> None:
    runtimes = TenantRuntimes(database, builder=BUILDER, reconnect_delays=[0.05])
    await runtimes.start()
    try:
        await create_tenant(database, "again", actor="test")
        api = await runtimes.get("again")
        assert await _terminate_listener(database) == 1

        async def back() -> bool:
            return runtimes.listening and await _listeners(database) == 1

        await eventually(back)
        # unchanged: kept after a check; then notifications work again
        assert await runtimes.get("again") is api
        await publish(database, "again", TRAINEE_ONLY, actor="test")

        async def swapped() -> bool:
            return (await runtimes.get("again")).version == 2

        await eventually(swapped)
    finally:
        await runtimes.close()
    assert await _listeners(database) == 0


async def _listeners(database: Database) -> int:
    return int(
        await database.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            LISTENER_APPLICATION_NAME,
        )
    )


async def test_start_fails_clearly_without_a_database(database: Database) -> None:
    unreachable = await Database.connect(database.dsn)
    try:
        unreachable.dsn = "postgresql://postgres@127.0.0.1:1/none"
        runtimes = TenantRuntimes(unreachable, builder=BUILDER)
        with pytest.raises(Exception, match="Cannot listen for metadata changes"):
            await runtimes.start()
    finally:
        await unreachable.close()


async def test_close_closes_every_api(database: Database) -> None:
    runtimes = TenantRuntimes(database, builder=BUILDER)
    await runtimes.start()
    await create_tenant(database, "closing", actor="test")
    ref = weakref.ref(await runtimes.get("closing"))
    await runtimes.close()
    gc.collect()
    assert ref() is None, [type(r) for r in gc.get_referrers(ref())]
    assert not runtimes.listening


async def test_a_failed_rebuild_is_retried_by_the_next_request(database: Database) -> None:
    # given: a builder that fails once, after the first build
    calls = 0

    def flaky(tenant: Tenant, metadata: TenantMetadata) -> TenantApi:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("build failed")
        return build_tenant_api(tenant, metadata, kernel=KERNEL)

    runtimes = TenantRuntimes(database, builder=flaky)
    await runtimes.start()
    try:
        await create_tenant(database, "flaky", actor="test")
        first = await runtimes.get("flaky")
        await publish(database, "flaky", TRAINEE_ONLY, actor="test")

        async def failed() -> bool:
            try:
                await runtimes.get("flaky")
            except RuntimeError:
                return True
            return False

        # when: the rebuild after the NOTIFY fails
        await eventually(failed)
        # then: the old API is not served as if it were current; the next request rebuilds
        api = await runtimes.get("flaky")
        assert api is not first and api.version == 2
    finally:
        await runtimes.close()


async def test_past_its_capacity_the_least_recently_used_api_is_closed_and_rebuilt_on_use(
    database: Database,
) -> None:
    # given: room for two tenant APIs, three tenants
    runtimes = TenantRuntimes(database, builder=BUILDER, capacity=2)
    await runtimes.start()
    try:
        for slug in ("lru1", "lru2", "lru3"):
            await create_tenant(database, slug, actor="test")
        first = weakref.ref(await runtimes.get("lru1"))
        await runtimes.get("lru2")
        await runtimes.get("lru1")  # used again: lru2 is now the least recently used

        # when
        await runtimes.get("lru3")

        # then: lru2 was dropped (and freed), lru1 kept; asking for lru2 builds it again
        assert runtimes.cached_version("lru2") is None
        assert runtimes.cached_version("lru1") is not None
        assert first() is not None
        builds = runtimes.builds
        await runtimes.get("lru2")
        assert runtimes.builds == builds + 1
        assert runtimes.cached_version("lru3") is None or runtimes.cached_version("lru1") is None
    finally:
        await runtimes.close()
