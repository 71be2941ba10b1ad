"""What a job handler receives: the job, its transaction, and the worker's shared clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from rapport.db.database import Connection, Database
from rapport.records.change import WriteParticipant
from rapport.settings import Settings

__all__ = ["CronContext", "CronHandler", "CronSpec", "Handler", "Job", "JobContext"]


@dataclass(frozen=True, slots=True)
class Job:
    id: str  # the outbox id: the idempotency key of every effect of this job
    tenant_id: str
    topic: str
    attempt: int  # 1 on the first run


@dataclass(frozen=True, slots=True)
class JobContext:
    """``conn`` is in the transaction that also records the job as processed: database effects
    written on it happen exactly once. ``db`` is for writes that must survive a failed attempt
    (e.g. a delivery log)."""

    job: Job
    conn: Connection
    db: Database
    settings: Settings
    http: httpx.AsyncClient


@dataclass(frozen=True, slots=True)
class CronContext:
    db: Database
    settings: Settings
    tick: str  # the arq job id of this run, cron:<name>:<unix ms of the tick>
    # The kernel's write participants, for cron jobs that write records (rapport.composition).
    participants: tuple[WriteParticipant, ...]


# A job handler: an effect of one outbox row. It raises to fail the attempt (retried later).
Handler = Callable[[JobContext, Mapping[str, Any]], Awaitable[None]]
CronHandler = Callable[[CronContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A periodic job. Each tick runs once across all workers: arq enqueues it under the job id
    ``cron:<name>:<tick>``, which only the first worker to ask gets."""

    name: str
    handler: CronHandler
    minute: frozenset[int] | None = None  # None = every minute
    second: frozenset[int] = frozenset({0})
