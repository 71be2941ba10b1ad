"""``rapport worker`` as a real process: jobs run once, survive kills, stop cleanly on SIGTERM,
retry with backoff, fail visibly, and cron ticks run once across several workers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from tests.jobs.support import ROOT, WorkerProcess, eventually, insert_job


async def _notifications(database: Database, title: str) -> list[str]:
    rows = await database.fetch(
        "SELECT body FROM tenant_acme.core_notification WHERE title = $1", title
    )
    return [r["body"] for r in rows]


async def _attempts(database: Database, outbox_id: str) -> int | None:
    value = await database.fetchval(
        "SELECT attempts FROM rapport.processed WHERE outbox_id = $1::uuid", outbox_id
    )
    return None if value is None else int(value)


async def test_a_job_runs_and_its_notification_is_written_once(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
        # when a job is committed
        outbox_id = await insert_job(
            database, tenant.id, "test.notify_slowly", {"user": "u1", "title": "hello"}
        )
        # then the worker runs it once
        assert await eventually(lambda: _attempts(database, outbox_id)) == 1
    assert await _notifications(database, "hello") == ["attempt 1"]


async def test_a_worker_killed_mid_job_runs_it_again_and_notifies_exactly_once(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given a worker in the middle of a job that wrote its notification (uncommitted)
    settings = {"RAPPORT_JOB_TIMEOUT_SECONDS": "2"}  # arq reclaims a dead job after 2 + 10 s
    first = WorkerProcess(database_url, tmp_path, redis_url=clean_redis, **settings).start()
    outbox_id = await insert_job(
        database,
        tenant.id,
        "test.notify_slowly",
        {"user": "u2", "title": "killed", "sleep": 1.5},
    )
    first.wait_for(f"job {outbox_id} attempt 1 started")
    # when it is killed outright
    first.signal(signal.SIGKILL)
    first.wait(10)
    assert await _notifications(database, "killed") == []
    # then another worker runs the job again, and the notification exists exactly once
    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis, **settings) as second:
        second.wait_for(f"job {outbox_id} attempt 2 started", timeout=30)
        assert await eventually(lambda: _attempts(database, outbox_id), timeout=10) == 2
    assert await _notifications(database, "killed") == ["attempt 2"]


async def test_sigterm_lets_the_running_job_finish_and_exits_quickly(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given a worker in the middle of a 2-second job
    command = [sys.executable, str(Path(__file__).parent / "worker_process.py")]
    worker = WorkerProcess(database_url, tmp_path, redis_url=clean_redis, command=command).start()
    outbox_id = await insert_job(database, tenant.id, "test.sleep", {"seconds": 2})
    worker.wait_for(f"job {outbox_id} attempt 1 started")
    # when it gets SIGTERM
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    status = worker.wait(35)
    elapsed = time.monotonic() - started
    # then it finished the job, then exited cleanly, well within 30 s
    assert status == 0, "".join(worker.output)
    assert elapsed < 30
    assert await _attempts(database, outbox_id) == 1
    assert "worker exited" in "".join(worker.output)


async def test_a_job_longer_than_the_grace_period_is_handed_back(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given a worker with a 1-second grace period in the middle of a 6-second job
    first = WorkerProcess(
        database_url, tmp_path, redis_url=clean_redis, RAPPORT_TEST_WORKER_GRACE="1"
    ).start()
    outbox_id = await insert_job(database, tenant.id, "test.sleep", {"seconds": 6})
    first.wait_for(f"job {outbox_id} attempt 1 started")
    # when it gets SIGTERM
    started = time.monotonic()
    first.signal(signal.SIGTERM)
    assert first.wait(35) == 0
    # then it stops after the grace period without finishing the job…
    assert time.monotonic() - started < 10
    assert await _attempts(database, outbox_id) is None
    # …which goes back to the queue and another worker runs it in full
    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis) as second:
        second.wait_for(f"job {outbox_id} attempt 2 started", timeout=15)
        assert await eventually(lambda: _attempts(database, outbox_id), timeout=15) == 2


async def test_a_failing_job_is_retried_then_listed_and_can_be_retried_by_an_operator(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given a job that always fails, three tries allowed
    with WorkerProcess(
        database_url, tmp_path, redis_url=clean_redis, RAPPORT_JOB_MAX_TRIES="3"
    ) as worker:
        outbox_id = await insert_job(database, tenant.id, "test.fail", {"why": "receiver gone"})
        # then after three tries (0.2 s then 0.4 s apart) it is a final failure with its error
        row = await eventually(
            lambda: database.fetchrow(
                "SELECT attempts, error FROM rapport.failed_jobs WHERE outbox_id = $1::uuid",
                outbox_id,
            )
        )
        assert row["attempts"] == 3
        assert "RuntimeError: boom: receiver gone" in row["error"]
        assert "try 2 failed" in "".join(worker.output)
        # when an operator lists and retries it with the CLI
        env = {**worker.environ}
        listed = subprocess.run(
            [sys.executable, "-m", "rapport", "jobs", "failed", "--tenant", "acme"],
            env=env, cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert outbox_id in listed.stdout and "test.fail" in listed.stdout
        retried = subprocess.run(
            [sys.executable, "-m", "rapport", "jobs", "retry", outbox_id],
            env=env, cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert retried.returncode == 0, retried.stderr
        # then it runs again (and, still failing, is listed again after three more tries)
        await eventually(
            lambda: database.fetchval(
                "SELECT generation FROM rapport.outbox o JOIN rapport.failed_jobs f "
                "ON f.outbox_id = o.id WHERE o.id = $1::uuid",
                outbox_id,
            )
        )
        assert "".join(worker.output).count("failed for good after 3 tries") == 2
    # and an unknown id is an error with a hint
    missing = subprocess.run(
        [sys.executable, "-m", "rapport", "jobs", "retry", "00000000-0000-0000-0000-000000000000"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "no failed job" in missing.stderr and "hint:" in missing.stderr


@pytest.mark.parametrize("workers", [2])
async def test_a_cron_tick_runs_once_across_several_workers(
    database: Database,
    database_url: str,
    tenant: Tenant,
    clean_redis: str,
    tmp_path: Path,
    workers: int,
) -> None:
    # given two workers with a cron job every second
    await database.execute(
        "CREATE TABLE IF NOT EXISTS public.test_ticks (tick text, pid int, at timestamptz "
        "DEFAULT clock_timestamp())"
    )
    await database.execute("TRUNCATE public.test_ticks")
    processes = [
        WorkerProcess(database_url, tmp_path, redis_url=clean_redis, RAPPORT_TEST_CRON="1").start()
        for _ in range(workers)
    ]
    try:
        # when they run for a few seconds
        await eventually(
            lambda: database.fetchval("SELECT count(*) >= 4 FROM public.test_ticks"), timeout=15
        )
    finally:
        for process in processes:
            process.stop()
    # then every tick ran exactly once
    rows = await database.fetch("SELECT tick, pid FROM public.test_ticks")
    ticks = [r["tick"] for r in rows]
    assert len(ticks) == len(set(ticks)) >= 4
    assert all(t.startswith("cron:test.tick:") for t in ticks)
