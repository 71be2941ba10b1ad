"""The SLA sweep: fire due reminders, breaches and date timers exactly once.

:func:`sweep_sla` takes due rows of ``rapport.workflow_deadlines`` in due order through the
partial index on open rows, ``FOR UPDATE SKIP LOCKED`` (several workers share the work and none
fires a row twice), applies each row's effects and marks it fired in the same transaction.
A row whose effects fail is marked fired with the error (in a savepoint, so its partial
effects roll back) rather than retried forever; the error is visible to operators in the row.
The worker runs it every minute as the ``workflow.sla`` cron job.

A deadline's ``set`` may move the record to another state (a contract's ``expire-at-end``, a
survey wave's ``open-at``) or change a date a timer watches. Writes of effects are
``via="workflow"``, which the workflow participant leaves to the workflow, so the sweep does
what a transition does afterwards: log the move in the history, end the old state's SLA,
schedule the new state's and re-arm the date timers for the record as the effects left it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection, Database
from rapport.db.tenants import get_tenant
from rapport.errors import RapportError
from rapport.jobs.context import CronContext
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import EntityDef, freeze_json
from rapport.metadata.lifecycle import load_published
from rapport.principal import Principal
from rapport.records.change import WriteParticipant
from rapport.records.rows import load_records, parse_id
from rapport.records.writer import RecordWriter
from rapport.workflow import outlets
from rapport.workflow.context import WorkflowContext
from rapport.workflow.deadlines import cancel_state, schedule_state, schedule_timers
from rapport.workflow.document import Effect, Workflow
from rapport.workflow.effects import apply_effects
from rapport.workflow.history import append_history
from rapport.workflow.kind import workflows_of

__all__ = ["SWEEP_SUBJECT", "SweepResult", "sla_cron", "sweep_sla"]

SWEEP_SUBJECT = "system:workflow-sla"  # the actor of effects the sweep applies
# Rows per transaction: effects write audit entries, whose head lock every writer of every
# tenant waits for until the batch commits, so batches stay short.
BATCH = 50

_DUE = """
SELECT id, tenant_id::text AS tenant_id, entity, record_id::text AS record_id, workflow, state,
       kind, name, due_at, effects
FROM rapport.workflow_deadlines
WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1
ORDER BY due_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True, slots=True)
class SweepResult:
    fired: int
    failed: int


async def sweep_sla(
    db: Database,
    now: dt.datetime,
    *,
    participants: Sequence[WriteParticipant],
    batch: int = BATCH,
) -> SweepResult:
    """Fire every deadline due at ``now``; returns how many fired (and how many of those failed).

    ``participants`` are the kernel's: the effects write records like any other writer.
    """
    fired = failed = 0
    contexts: dict[str, tuple[WorkflowContext, int]] = {}
    while True:
        async with db.transaction() as conn:
            rows = await conn.fetch(_DUE, now, batch)
            for row in rows:
                error = None
                try:
                    async with conn.transaction():
                        await _fire(conn, row, now, contexts, participants)
                except (RapportError, asyncpg.PostgresError) as exc:
                    error = str(exc)
                    failed += 1
                await conn.execute(
                    "UPDATE rapport.workflow_deadlines SET fired_at = $2, error = $3 WHERE id = $1",
                    row["id"],
                    now,
                    error,
                )
            fired += len(rows)
        if len(rows) < batch:
            return SweepResult(fired, failed)


async def sla_cron(ctx: CronContext) -> None:
    """The worker's cron entry: one sweep per tick."""
    await sweep_sla(ctx.db, dt.datetime.now(dt.UTC), participants=ctx.participants)


async def _context(
    conn: Connection,
    tenant_id: str,
    now: dt.datetime,
    cache: dict[str, tuple[WorkflowContext, int]],
    participants: Sequence[WriteParticipant],
) -> WorkflowContext:
    slug = str(
        await conn.fetchval("SELECT slug FROM rapport.tenants WHERE id = $1::uuid", tenant_id)
    )
    tenant = await get_tenant(conn, slug)
    cached = cache.get(tenant_id)
    if cached is not None and cached[1] == tenant.metadata_version:
        return cached[0]
    tenant, metadata = await load_published(conn, slug)
    context = _make_context(tenant, metadata, now, participants)
    cache[tenant_id] = (context, tenant.metadata_version)
    return context


def _make_context(
    tenant: Any,
    metadata: TenantMetadata,
    now: dt.datetime,
    participants: Sequence[WriteParticipant],
) -> WorkflowContext:
    principal = Principal(tenant=tenant.slug, subject=SWEEP_SUBJECT, roles=frozenset({"admin"}))
    writer = RecordWriter(tenant, metadata, participants=participants, sealers=KeyRingSealers())
    return WorkflowContext(tenant, metadata, writer, principal, now)


async def _fire(
    conn: Connection,
    row: Mapping[str, Any],
    now: dt.datetime,
    cache: dict[str, tuple[WorkflowContext, int]],
    participants: Sequence[WriteParticipant],
) -> None:
    context = await _context(conn, row["tenant_id"], now, cache, participants)
    model = context.metadata.model
    if not model.has_entity(row["entity"]):
        return  # the entity was removed since the deadline was set
    entity = model.entity(row["entity"])
    workflow = workflows_of(context.metadata).for_entity(entity.id)
    parsed = parse_id(row["record_id"])
    found = await load_records(
        conn, context.tenant.schema, entity, [parsed] if parsed else [], lock=True
    )
    record = found.get(row["record_id"])
    if record is None or workflow is None:
        return
    if row["state"] is not None and record.get(workflow.field) != row["state"]:
        return  # left the state; the cancellation raced with the sweep
    # Fired before its effects run, so re-arming the timers below sees it as done and does not
    # add it again; on failure the savepoint undoes this and the caller records the error.
    await conn.execute(
        "UPDATE rapport.workflow_deadlines SET fired_at = $2 WHERE id = $1", row["id"], now
    )
    effects = tuple(
        Effect(kind, freeze_json(value))
        for item in json.loads(row["effects"])
        for kind, value in item.items()
    )
    event = {
        "kind": row["kind"],
        "workflow": row["workflow"],
        "state": row["state"],
        "name": row["name"],
        "dueAt": row["due_at"].isoformat(),
    }
    await apply_effects(conn, context, entity, row["record_id"], effects, event=event)
    if any(e.kind == "set" for e in effects):
        await _follow(conn, context, workflow, entity, row, record.get(workflow.field), now)
    await outlets.audit(
        conn,
        tenant_id=context.tenant.id,
        actor=SWEEP_SUBJECT,
        action=f"workflow.{row['kind']}",
        entity=entity.id,
        record_id=row["record_id"],
        data={"state": row["state"], "name": row["name"], "dueAt": row["due_at"].isoformat()},
    )


async def _follow(
    conn: Connection,
    context: WorkflowContext,
    workflow: Workflow,
    entity: EntityDef,
    row: Mapping[str, Any],
    before_state: Any,
    now: dt.datetime,
) -> None:
    """After a deadline's ``set``: the bookkeeping of a state move, and the timers re-armed."""
    parsed = parse_id(row["record_id"])
    found = await load_records(conn, context.tenant.schema, entity, [parsed] if parsed else [])
    after = found.get(row["record_id"])
    if after is None:
        return
    state = after.get(workflow.field)
    tenant_id = context.tenant.id
    if state != before_state and isinstance(state, str):
        await append_history(
            conn,
            tenant_id=tenant_id,
            entity=entity.id,
            record_id=row["record_id"],
            workflow=workflow.id,
            transition=None,
            from_state=before_state,
            to_state=state,
            actor=SWEEP_SUBJECT,
            comment=f"{row['kind']} {row['name']}",
            at=now,
        )
        await cancel_state(conn, tenant_id, row["record_id"], now)
        await schedule_state(conn, tenant_id, workflow, row["record_id"], state, now)
    if isinstance(state, str):
        await schedule_timers(conn, tenant_id, workflow, after, state, now)
