"""Scheduling and cancelling SLA deadlines and date timers (rows of rapport.workflow_deadlines)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from rapport.db.database import Connection
from rapport.metadata.ir import thaw_json
from rapport.workflow.calendar import add_working_days
from rapport.workflow.document import Effect, Workflow

__all__ = ["cancel_record", "cancel_state", "schedule_state", "schedule_timers", "state_deadline"]


def _effects(effects: tuple[Effect, ...]) -> str:
    return json.dumps([{e.kind: thaw_json(e.value)} for e in effects])


def state_deadline(workflow: Workflow, state: str, entered: dt.datetime) -> dt.datetime | None:
    """When the SLA of ``state`` is breached for a record entering it at ``entered``."""
    spec = workflow.states[state]
    if spec.working_days is not None:
        return add_working_days(entered, spec.working_days, workflow.calendar)
    if spec.sla is not None:
        return entered + spec.sla
    return None


async def _insert(
    conn: Connection,
    tenant_id: str,
    workflow: Workflow,
    record_id: str,
    state: str | None,
    kind: str,
    name: str,
    due: dt.datetime,
    effects: tuple[Effect, ...],
) -> None:
    await conn.execute(
        """
        INSERT INTO rapport.workflow_deadlines
            (tenant_id, entity, record_id, workflow, state, kind, name, due_at, effects)
        VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7, $8, $9::jsonb)
        """,
        tenant_id,
        workflow.entity,
        record_id,
        workflow.id,
        state,
        kind,
        name,
        due,
        _effects(effects),
    )


async def schedule_state(
    conn: Connection,
    tenant_id: str,
    workflow: Workflow,
    record_id: str,
    state: str,
    entered: dt.datetime,
) -> None:
    """The breach and reminder deadlines of a record that entered ``state`` at ``entered``."""
    due = state_deadline(workflow, state, entered)
    if due is None:
        return
    spec = workflow.states[state]
    await _insert(conn, tenant_id, workflow, record_id, state, "breach", state, due, spec.on_breach)
    for index, reminder in enumerate(spec.remind):
        await _insert(
            conn,
            tenant_id,
            workflow,
            record_id,
            state,
            "remind",
            f"{state}#{index}",
            due - reminder.before,
            reminder.effects,
        )


async def cancel_state(conn: Connection, tenant_id: str, record_id: str, now: dt.datetime) -> None:
    """Cancel the open SLA deadlines of a record (it left its state)."""
    await conn.execute(
        """
        UPDATE rapport.workflow_deadlines SET cancelled_at = $3
        WHERE tenant_id = $1::uuid AND record_id = $2::uuid AND kind IN ('breach', 'remind')
          AND fired_at IS NULL AND cancelled_at IS NULL
        """,
        tenant_id,
        record_id,
        now,
    )


async def cancel_record(conn: Connection, tenant_id: str, record_id: str, now: dt.datetime) -> None:
    """Cancel every open deadline of a record (it was deleted)."""
    await conn.execute(
        """
        UPDATE rapport.workflow_deadlines SET cancelled_at = $3
        WHERE tenant_id = $1::uuid AND record_id = $2::uuid
          AND fired_at IS NULL AND cancelled_at IS NULL
        """,
        tenant_id,
        record_id,
        now,
    )


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            return _moment(dt.datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


async def schedule_timers(
    conn: Connection,
    tenant_id: str,
    workflow: Workflow,
    record: Mapping[str, Any],
    state: str,
    now: dt.datetime,
) -> None:
    """Re-arm the date timers of a record: cancel its open ones, then add those that apply to
    its state and date values (a date moved or a state changed gives the timer a new due time)."""
    record_id = str(record["id"])
    await conn.execute(
        """
        UPDATE rapport.workflow_deadlines SET cancelled_at = $3
        WHERE tenant_id = $1::uuid AND record_id = $2::uuid AND kind = 'timer'
          AND fired_at IS NULL AND cancelled_at IS NULL
        """,
        tenant_id,
        record_id,
        now,
    )
    for timer in workflow.timers:
        if timer.states and state not in timer.states:
            continue
        moment = _moment(record.get(timer.field))
        if moment is None:
            continue
        fired = await conn.fetchval(
            """
            SELECT 1 FROM rapport.workflow_deadlines
            WHERE tenant_id = $1::uuid AND record_id = $2::uuid AND kind = 'timer' AND name = $3
              AND due_at = $4 AND fired_at IS NOT NULL
            """,
            tenant_id,
            record_id,
            timer.name,
            moment - timer.offset,
        )
        if fired is None:  # a timer that already fired for this date does not fire again
            await _insert(
                conn,
                tenant_id,
                workflow,
                record_id,
                None,
                "timer",
                timer.name,
                moment - timer.offset,
                timer.effects,
            )
