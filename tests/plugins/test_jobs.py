"""Plug-in jobs: declared in ``PluginSpec.jobs``, enqueued in the plug-in's transaction, run by
a real ``rapport worker`` that found the plug-in through its entry point."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rapport.composition import KERNEL, worker_kernel
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import PluginInvalid, ValidationFailed
from rapport.jobs.context import JobContext
from rapport.metadata.tenants import create_tenant
from rapport.plugins import PluginSpec, build_registry
from rapport.plugins.jobs import enqueue_job
from tests.jobs.support import ROOT, WorkerProcess, eventually
from tests.plugins.fixtures.job_probe import plugin as probe


@pytest.fixture(scope="module")
async def tenant(database: Database) -> Tenant:
    await migrate(database)
    return await create_tenant(database, "probe", "Probe")


def _installed(site: Path) -> str:
    """A site directory where the probe plug-in is installed with a real entry point."""
    info = site / "rapport_jobprobe-1.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: rapport-jobprobe\nVersion: 1.0.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[rapport.plugins]\njobprobe = tests.plugins.fixtures.job_probe:plugin\n"
    )
    return f"{site}:{ROOT}:{ROOT / 'platform'}"


async def test_a_plugin_job_is_run_once_by_the_worker(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given a worker (the real command) in an environment where the probe plug-in is installed
    path = _installed(tmp_path / "site")
    command = [sys.executable, "-m", "rapport", "worker"]
    with WorkerProcess(
        database_url, tmp_path / "data", redis_url=clean_redis, command=command, PYTHONPATH=path
    ):
        # when the plug-in enqueues its job in a committed transaction
        async with database.transaction() as conn:
            job_id = await enqueue_job(
                conn, probe, "greet", tenant_id=tenant.id, payload={"user": "u1", "title": "hi"}
            )

        # then the worker runs it: its notification is written, the job recorded as processed
        async def notified() -> list[str]:
            rows = await database.fetch(
                "SELECT body FROM tenant_probe.core_notification WHERE title = 'hi'"
            )
            return [r["body"] for r in rows]

        assert await eventually(notified) == ["from the jobprobe plug-in, attempt 1"]
        topic = await database.fetchval(
            "SELECT o.topic FROM rapport.outbox o JOIN rapport.processed p ON p.outbox_id = o.id "
            "WHERE o.id = $1::uuid",
            job_id,
        )
        assert topic == "plugin:jobprobe.greet"


async def test_a_job_the_plugin_does_not_declare_is_refused_and_writes_nothing(
    database: Database, tenant: Tenant
) -> None:
    # when the plug-in enqueues a job name it did not declare
    with pytest.raises(ValidationFailed) as refused:
        async with database.transaction() as conn:
            await enqueue_job(conn, probe, "gret", tenant_id=tenant.id, payload={})

    # then the error names the declared jobs, and no outbox row exists
    assert "greet" in (refused.value.hint or "")
    count = await database.fetchval(
        "SELECT count(*) FROM rapport.outbox WHERE topic = 'plugin:jobprobe.gret'"
    )
    assert count == 0


def test_the_worker_kernel_adds_the_installed_plugins_jobs_to_the_kernels() -> None:
    # when the composition root builds the worker's kernel with the probe installed
    kernel = worker_kernel(build_registry([probe]))

    # then it handles the plug-in's topic on top of every kernel topic
    assert set(kernel.handlers) == {*KERNEL.handlers, "plugin:jobprobe.greet"}
    assert kernel.handlers["plugin:jobprobe.greet"] is probe.jobs["greet"]


def test_bad_job_names_and_handlers_are_reported_at_start_up() -> None:
    # given a plug-in with a job name that is no identifier and a synchronous handler
    def not_async(ctx: JobContext, payload: Mapping[str, Any]) -> None:
        pass

    bad = PluginSpec(
        name="badjobs",
        version="1.0.0",
        package=Path("/nonexistent"),
        jobs={"Send-Digest": probe.jobs["greet"], "sync": not_async},  # type: ignore[dict-item]
    )

    # when it is validated
    with pytest.raises(PluginInvalid) as invalid:
        build_registry([bad])

    # then both problems are named
    text = str(invalid.value.problems)
    assert "'Send-Digest'" in text and "job 'sync' must be an async function" in text
