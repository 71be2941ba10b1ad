"""Which Redis: RAPPORT_REDIS_URL, or the embedded one that several processes share."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import ConfigurationError
from rapport.jobs.outbox import enqueue
from rapport.jobs.redis import EmbeddedRedis, redis_settings
from rapport.settings import Settings
from tests.jobs.support import WorkerProcess, eventually


def _answers(socket: Path) -> bool:
    client = redis.Redis(unix_socket_path=str(socket), socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def test_processes_share_one_embedded_redis_and_the_last_one_stops_it(tmp_path: Path) -> None:
    # given two users of the same data directory
    first, second = EmbeddedRedis(tmp_path), EmbeddedRedis(tmp_path)
    url = first.start()
    assert second.start() == url == f"unix://{tmp_path}/redis/redis.sock"
    pid = (tmp_path / "redis" / "redis.pid").read_text()
    # when the first leaves, the server stays for the second
    first.stop()
    assert _answers(first.socket)
    assert (tmp_path / "redis" / "redis.pid").read_text() == pid
    # when the last leaves, it stops
    second.stop()
    assert not _answers(first.socket)


async def test_without_a_url_the_worker_runs_jobs_on_the_embedded_redis(
    database: Database, database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    # given two `rapport worker` commands with no RAPPORT_REDIS_URL and one data directory
    command = [sys.executable, "-m", "rapport", "worker"]
    with (
        WorkerProcess(database_url, tmp_path, redis_url=None, command=command),
        WorkerProcess(database_url, tmp_path, redis_url=None, command=command),
    ):
        # then they share one Redis server on the data directory's socket
        socket = tmp_path / "redis" / "redis.sock"
        assert _answers(socket)
        holders = [
            c
            for c in redis.Redis(unix_socket_path=str(socket)).client_list()
            if c.get("name") == "rapport-holder"
        ]
        assert len(holders) == 2
        # when a job is committed, it is run
        async with database.transaction() as conn:
            outbox_id = await enqueue(
                conn, tenant_id=tenant.id, topic="entity.create", payload={"entity": "x/y"}
            )
        await eventually(
            lambda: database.fetchval(
                "SELECT 1 FROM rapport.processed WHERE outbox_id = $1::uuid", outbox_id
            )
        )
    # then the last worker to stop stopped the embedded Redis
    assert not _answers(socket)


async def test_a_malformed_redis_url_is_a_configuration_error() -> None:
    settings = replace(
        Settings.from_env({"RAPPORT_DATA_DIR": "/nonexistent-rapport"}), redis_url="http://x"
    )
    with pytest.raises(ConfigurationError, match="not a Redis URL") as caught:
        async with redis_settings(settings):
            pass
    assert "redis://" in caught.value.hint
