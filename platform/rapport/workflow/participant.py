"""The workflow's write participant: the state field belongs to the workflow.

Creates start in the initial state (a client may not choose another), updates may not write
the state field (only ``via="workflow"`` writes do), and while a record is in a state with
``editable`` fields, create/update may change only those. After a create the initial state's
SLA and the date timers are armed; after an update of a date field the timers are re-armed;
after a delete every open deadline of the record is cancelled. Anonymous writes
(``via="anonymous"``) leave history without an actor and times cut to the day.
"""

from __future__ import annotations

import datetime as dt

from rapport.audit.held import ANONYMOUS_VIA
from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.records.change import Action, Change, PendingChange, WriteParticipant
from rapport.workflow.deadlines import cancel_record, schedule_state, schedule_timers
from rapport.workflow.document import Workflow
from rapport.workflow.history import append_history
from rapport.workflow.kind import workflows_of

__all__ = ["WorkflowParticipant"]

WORKFLOW_VIA = "workflow"


class WorkflowParticipant(WriteParticipant):
    async def before_write(self, conn: Connection, change: PendingChange) -> PendingChange:
        workflow = workflows_of(change.metadata).for_entity(change.entity.id)
        if workflow is None or change.via == WORKFLOW_VIA or change.action is Action.DELETE:
            return change
        state_input = change.entity.field(workflow.field).graphql_input_name
        errors = []
        if state_input in change.input:
            errors.append(
                FieldError(
                    (*change.path, state_input),
                    f"{state_input} is set by the workflow {workflow.id}; run a transition instead",
                    "WORKFLOW_STATE",
                )
            )
        state = workflow.initial if change.before is None else change.before.get(workflow.field)
        spec = workflow.states.get(state) if isinstance(state, str) else None
        editable = spec.editable if spec is not None else None
        if editable is not None:
            allowed = {change.entity.field(n).graphql_input_name for n in editable}
            errors.extend(
                FieldError(
                    (*change.path, name),
                    f"{name} cannot be changed while the record is in state {state!r}",
                    "NOT_EDITABLE",
                )
                for name in sorted(change.input)
                if name not in allowed and name != state_input
            )
        if errors:
            raise ValidationFailed(
                errors, hint="Leave the state to transitions; edit only the fields listed."
            )
        if change.action is Action.CREATE:
            return change.with_input({**change.input, state_input: workflow.initial})
        return change

    async def after_write(self, conn: Connection, change: Change) -> None:
        workflow = workflows_of(change.metadata).for_entity(change.entity.id)
        if workflow is None:
            return
        now = dt.datetime.now(dt.UTC)
        if change.via == ANONYMOUS_VIA:
            # No exact time of an anonymous write is kept (rapport.audit.held): its history
            # and SLA clock start at midnight UTC of the day, which only shortens the SLA.
            now = now.replace(hour=0, minute=0, second=0, microsecond=0)
        tenant_id = change.tenant.id
        if change.action is Action.DELETE:
            await cancel_record(conn, tenant_id, change.record_id, now)
            return
        after = change.after
        if after is None:
            return
        state = str(after.get(workflow.field))
        if change.action is Action.CREATE or change.before is None:
            await self._created(conn, change, workflow, state, now)
        elif change.via != WORKFLOW_VIA and _timer_fields_changed(workflow, change):
            await schedule_timers(conn, tenant_id, workflow, after, state, now)

    async def _created(
        self, conn: Connection, change: Change, workflow: Workflow, state: str, now: dt.datetime
    ) -> None:
        tenant_id = change.tenant.id
        await append_history(
            conn,
            tenant_id=tenant_id,
            entity=change.entity.id,
            record_id=change.record_id,
            workflow=workflow.id,
            transition=None,
            from_state=None,
            to_state=state,
            actor=None if change.via == ANONYMOUS_VIA else change.principal.subject,
            comment=None,
            at=now,
        )
        await schedule_state(conn, tenant_id, workflow, change.record_id, state, now)
        if change.after is not None:
            await schedule_timers(conn, tenant_id, workflow, change.after, state, now)


def _timer_fields_changed(workflow: Workflow, change: Change) -> bool:
    names = {change.entity.field(t.field).graphql_input_name for t in workflow.timers}
    return bool(names & set(change.changed_fields))
