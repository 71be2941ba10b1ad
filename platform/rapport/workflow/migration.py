"""The rule for a workflow document that changes while records are mid-flow.

When a new version removes states that records still hold, the plan reports each such state
with its record count. A state the new document maps in ``x-stateMap`` (old state -> new
state) becomes plan steps that, in the publish transaction, append a history entry for every
moved record (transition ``x-stateMap``), cancel their open deadlines and move them. A removed
state that records hold and that has no mapping is a *refused* plan step: publishing fails
with the reason, so no record is silently stranded in a state the workflow no longer knows.
Moved records get no new SLA deadline for their new state (the clock of a state starts with a
transition into it).
"""

from __future__ import annotations

import dataclasses

from rapport.db.tenants import Queryable, Tenant
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import EntityDef
from rapport.metadata.plan import Plan, PlanStep
from rapport.metadata.publishing import PublishParticipant
from rapport.naming import qualified, quote_ident
from rapport.workflow.document import Workflow
from rapport.workflow.kind import workflows_of

__all__ = ["MOVE_TRANSITION", "STATE_MOVES", "StateMoves", "with_state_moves"]

MOVE_TRANSITION = "x-stateMap"  # the transition name history shows for migrated records


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def with_state_moves(
    db: Queryable,
    tenant: Tenant,
    old: TenantMetadata | None,
    new: TenantMetadata,
    plan: Plan,
) -> Plan:
    """``plan`` with the state moves (or refusals) of every changed workflow in front."""
    if old is None:
        return plan
    steps: list[PlanStep] = []
    mapped_fields: set[tuple[str, str]] = set()
    for old_wf in workflows_of(old).workflows:
        new_wf = workflows_of(new).for_entity(old_wf.entity)
        if new_wf is None or not new.model.has_entity(old_wf.entity):
            continue
        removed = sorted(set(old_wf.states) - set(new_wf.states))
        entity = old.model.entity(old_wf.entity)
        if not removed or not entity.has_field(old_wf.field):
            continue
        column = entity.field(old_wf.field).column
        if column is None:
            continue
        table = qualified(tenant.schema, entity.table)
        rows = await db.fetch(
            f"SELECT {quote_ident(column)} AS state, count(*) AS n FROM {table} "
            f"WHERE {quote_ident(column)} = ANY($1::text[]) GROUP BY 1 ORDER BY 1",
            removed,
        )
        unmapped = False
        for row in rows:
            state, count = str(row["state"]), int(row["n"])
            target = new_wf.state_map.get(state)
            if target is None:
                unmapped = True
                steps.append(
                    PlanStep(
                        f"{count} record(s) of {entity.id} are in state {state!r}, "
                        f"which workflow {new_wf.id} removes",
                        "",
                        refused=True,
                        reason=f'map the state: add "x-stateMap": {{"{state}": "<state>"}} '
                        f"to {new_wf.id}",
                    )
                )
                continue
            steps.extend(_moves(tenant, entity, new_wf, table, column, state, target, count))
        if not unmapped:
            mapped_fields.add((entity.table, column))
    if not steps:
        return plan
    return Plan(steps=(*steps, *(_relaxed(s, mapped_fields) for s in plan.steps)))


class StateMoves(PublishParticipant):
    """The workflows' part in a plan: :func:`with_state_moves` (entry point
    ``workflow-state-moves``)."""

    async def plan(
        self,
        db: Queryable,
        tenant: Tenant,
        old: TenantMetadata | None,
        new: TenantMetadata,
        plan: Plan,
    ) -> Plan:
        return await with_state_moves(db, tenant, old, new, plan)


STATE_MOVES = StateMoves()


def _moves(
    tenant: Tenant,
    entity: EntityDef,
    workflow: Workflow,
    table: str,
    column: str,
    state: str,
    target: str,
    count: int,
) -> list[PlanStep]:
    col = quote_ident(column)
    where = f"WHERE {col} = {_literal(state)}"
    summary = (
        f"move {count} record(s) of {entity.id} from state {state} to {target} ({MOVE_TRANSITION})"
    )
    return [
        PlanStep(
            f"{summary}: history",
            "INSERT INTO rapport.workflow_history (tenant_id, entity, record_id, workflow, "
            "transition, from_state, to_state, actor, comment) "
            f"SELECT {_literal(tenant.id)}::uuid, {_literal(entity.id)}, id, "
            f"{_literal(workflow.id)}, {_literal(MOVE_TRANSITION)}, {_literal(state)}, "
            f"{_literal(target)}, 'system:metadata-publish', "
            f"'state removed from the workflow' FROM {table} {where}",
        ),
        PlanStep(
            f"{summary}: cancel deadlines",
            f"UPDATE rapport.workflow_deadlines SET cancelled_at = now() "
            f"WHERE tenant_id = {_literal(tenant.id)}::uuid AND fired_at IS NULL "
            f"AND cancelled_at IS NULL AND record_id IN (SELECT id FROM {table} {where})",
        ),
        PlanStep(
            summary,
            f'UPDATE {table} SET {col} = {_literal(target)}, "version" = "version" + 1, '
            f'"updated_at" = now() {where}',
        ),
    ]


def _relaxed(step: PlanStep, mapped: set[tuple[str, str]]) -> PlanStep:
    """The kernel flags removing an enum value that rows hold as destructive; when every such
    row of a state field moves by the map first, nothing is lost."""
    for table, column in mapped:
        if step.summary.startswith("enum value(s) ") and f" removed from {table}.{column} " in (
            step.summary + " "
        ):
            return dataclasses.replace(
                step, destructive=False, reason="records holding them move per x-stateMap"
            )
    return step
