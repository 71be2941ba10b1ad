"""The state change itself: write the state, log it, apply effects, move deadlines, audit.

Runs inside the caller's transaction with the record locked, after every check has passed —
from :func:`rapport.workflow.engine.transition` directly, or from the approval that completes a
request (:mod:`rapport.workflow.approvals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.db.database import Connection
from rapport.metadata.ir import EntityDef
from rapport.records.rows import load_records, parse_id
from rapport.workflow import outlets
from rapport.workflow.context import WorkflowContext
from rapport.workflow.deadlines import cancel_state, schedule_state, schedule_timers
from rapport.workflow.document import Transition, Workflow
from rapport.workflow.effects import apply_effects
from rapport.workflow.history import append_history

__all__ = ["change_state"]


async def change_state(
    conn: Connection,
    context: WorkflowContext,
    workflow: Workflow,
    entity: EntityDef,
    record: Mapping[str, Any],
    transition: Transition,
    comment: str | None,
    *,
    data: Mapping[str, Any] | None = None,
) -> Mapping[str, Any]:
    """Move ``record`` (locked, as stored) along ``transition``; the record as stored after."""
    context = context.with_workflow_authority()
    record_id = str(record["id"])
    source = record.get(workflow.field)
    await context.writer.update(
        conn,
        entity,
        record_id,
        {entity.field(workflow.field).graphql_input_name: transition.target},
        expected_version=int(record["version"]),
        principal=context.principal,
        path=("transition",),
        via="workflow",
    )
    tenant_id = context.tenant.id
    await append_history(
        conn,
        tenant_id=tenant_id,
        entity=entity.id,
        record_id=record_id,
        workflow=workflow.id,
        transition=transition.name,
        from_state=source,
        to_state=transition.target,
        actor=context.principal.subject,
        comment=comment,
        at=context.now,
        data=data,
    )
    event = {
        "kind": "transition",
        "workflow": workflow.id,
        "transition": transition.name,
        "from": source,
        "to": transition.target,
        "actor": context.principal.subject,
        "comment": comment,
        "at": context.now.isoformat(),
    }
    await cancel_state(conn, tenant_id, record_id, context.now)
    await schedule_state(conn, tenant_id, workflow, record_id, transition.target, context.now)
    await apply_effects(conn, context, entity, record_id, transition.effects, event=event)
    parsed = parse_id(record_id)
    after = (await load_records(conn, context.tenant.schema, entity, [parsed] if parsed else []))[
        record_id
    ]
    await schedule_timers(conn, tenant_id, workflow, after, transition.target, context.now)
    await outlets.emit(
        conn,
        tenant_id=tenant_id,
        topic=outlets.TRANSITION_TOPIC,
        payload={
            **event,
            "event": outlets.TRANSITION_TOPIC,
            "entity": entity.id,
            "recordId": record_id,
        },
    )
    await outlets.audit(
        conn,
        tenant_id=tenant_id,
        actor=context.principal.subject,
        action="workflow.transition",
        entity=entity.id,
        record_id=record_id,
        data={k: v for k, v in event.items() if k not in ("kind", "actor", "at")}
        | dict(data or {}),
    )
    return after
