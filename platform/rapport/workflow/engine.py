"""Running a transition: one transaction, the record locked, every reason collected.

:func:`transition` checks the from-state, who may run it (the document's ``roles``, a
``transition:<name>`` permission, or admin), the guard (a D5 expression evaluated in SQL on the
stored row, so it agrees with reads), the required fields, a pending approval, and the rule
hooks — and reports *all* failing reasons at once in ``TRANSITION_NOT_ALLOWED``, together with
what this user may do instead. A transition with an approval opens a request; otherwise the
state changes in the same transaction (:func:`~rapport.workflow.statechange.change_state`).

Two concurrent submissions of one transition serialize on the row lock: the second sees the
new state (or version) and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapport.auth.permissions.access import authorize, read_policy
from rapport.auth.permissions.attributes import user_variables
from rapport.db.database import Connection
from rapport.errors import Forbidden, NotFound, TransitionNotAllowed, VersionConflict
from rapport.expr.ast import TRUE, Expr
from rapport.expr.sql import ParamList, SqlContext, compile_sql
from rapport.expr.variables import variables_in
from rapport.metadata.ir import EntityDef
from rapport.naming import qualified
from rapport.records.rows import load_records, parse_id
from rapport.workflow import approvals
from rapport.workflow.context import WorkflowContext
from rapport.workflow.document import Transition, Workflow
from rapport.workflow.kind import workflows_of
from rapport.workflow.rules import RULES, RuleVerdict, TransitionCheck, TransitionRule
from rapport.workflow.statechange import change_state

__all__ = ["Availability", "TransitionOutcome", "available", "transition", "workflow_of"]


@dataclass(frozen=True, slots=True)
class Availability:
    """One transition as seen by one user on one record: may they run it, and if not, why."""

    name: str
    target: str
    allowed: bool
    reasons: tuple[str, ...]
    needs_approval: bool


@dataclass(frozen=True, slots=True)
class TransitionOutcome:
    record_id: str
    state: str
    version: int
    approval_request: str | None  # the opened request, when the transition needs approvals
    warnings: tuple[str, ...]


def workflow_of(context: WorkflowContext, entity: EntityDef) -> Workflow:
    workflow = workflows_of(context.metadata).for_entity(entity.id)
    if workflow is None:
        raise NotFound(
            f"Entity {entity.id} has no workflow.",
            hint="Attach one with x-workflow and a workflow document.",
        )
    return workflow


async def locked_record(
    conn: Connection, context: WorkflowContext, entity: EntityDef, record_id: str
) -> Mapping[str, Any]:
    parsed = parse_id(record_id)
    found = (
        await load_records(conn, context.tenant.schema, entity, [parsed], lock=True)
        if parsed
        else {}
    )
    if parsed is None or str(parsed) not in found:
        raise NotFound(
            f"No {entity.type_name} has id {record_id!r}.",
            hint="Check the id; the record may have been deleted.",
            path=("id",),
        )
    return found[str(parsed)]


async def _guards(
    conn: Connection,
    context: WorkflowContext,
    entity: EntityDef,
    record_id: str,
    transitions: Sequence[Transition],
) -> dict[str, bool]:
    """Every guard of ``transitions`` — and, under the key ``""``, whether the user may read
    the record at all (the read path's row rule) — in one SQL statement on the stored row."""
    policy = read_policy(context.principal, context.metadata, entity.id)
    checks: list[tuple[str, Expr]] = [("", TRUE if policy is None else policy.row)]
    checks += [(t.name, t.guard) for t in transitions if t.guard is not None]
    params = ParamList()
    variables = user_variables(context.principal, now=context.now)
    columns = []
    for _, expr in checks:
        for name in variables_in(expr):
            variables.setdefault(name, None)
        ctx = SqlContext(context.tenant.schema, "_w", params, variables, context.metadata.model)
        columns.append(f"COALESCE({compile_sql(expr, ctx)}, false)")
    id_param = params.add(record_id, "uuid")
    row = await conn.fetchrow(
        f"SELECT {', '.join(columns)} FROM {qualified(context.tenant.schema, entity.table)} AS _w "
        f"WHERE _w.id = {id_param}",
        *params.values,
    )
    return {name: row is not None and bool(row[i]) for i, (name, _) in enumerate(checks)}


def _may_run(context: WorkflowContext, entity: EntityDef, transition: Transition) -> bool:
    principal = context.principal
    if principal.is_admin or not transition.roles or principal.roles & set(transition.roles):
        return True
    try:
        authorize(principal, context.metadata, entity.id, f"transition:{transition.name}")
    except Forbidden:
        return False
    return True


async def _reasons(
    conn: Connection,
    context: WorkflowContext,
    workflow: Workflow,
    entity: EntityDef,
    record: Mapping[str, Any],
    transitions: Sequence[Transition],
) -> dict[str, list[str]]:
    """Why each of ``transitions`` may not run now (an empty list: it may)."""
    state = record.get(workflow.field)
    guards = await _guards(conn, context, entity, str(record["id"]), transitions)
    if not guards[""]:
        # A record the user cannot read looks missing, as on every read path.
        raise NotFound(
            f"No {entity.type_name} has id {record['id']!r}.",
            hint="Check the id; the record may have been deleted.",
            path=("id",),
        )
    pending = await approvals.pending_request(conn, context.tenant.id, str(record["id"]))
    out: dict[str, list[str]] = {}
    for t in transitions:
        reasons = []
        if state not in t.sources:
            reasons.append(
                f"not allowed from state {state!r} (it leaves from {', '.join(t.sources)})"
            )
        if not _may_run(context, entity, t):
            reasons.append(f"only roles {', '.join(t.roles)} may run it")
        if guards.get(t.name) is False:
            reasons.append("its guard does not hold for this record")
        for name in t.requires:
            field = entity.field(name)
            if record.get(field.graphql_input_name) in (None, "", []):
                reasons.append(f"field {name} must have a value")
        if pending is not None:
            reasons.append(f"an approval request for {pending!r} is pending on this record")
        out[t.name] = reasons
    return out


async def available(
    conn: Connection, context: WorkflowContext, entity: EntityDef, record_id: str
) -> list[Availability]:
    """Every transition of the record's workflow, as this user sees it now."""
    workflow = workflow_of(context, entity)
    parsed = parse_id(record_id)
    found = await load_records(conn, context.tenant.schema, entity, [parsed] if parsed else [])
    if parsed is None or str(parsed) not in found:
        raise NotFound(f"No {entity.type_name} has id {record_id!r}.", hint="Check the id.")
    record = found[str(parsed)]
    reasons = await _reasons(conn, context, workflow, entity, record, workflow.transitions)
    return [
        Availability(
            t.name, t.target, not reasons[t.name], tuple(reasons[t.name]), t.approval is not None
        )
        for t in workflow.transitions
    ]


async def transition(
    conn: Connection,
    context: WorkflowContext,
    entity: EntityDef,
    record_id: str,
    name: str,
    *,
    comment: str | None = None,
    expected_version: int | None = None,
    rules: Sequence[TransitionRule] = RULES,
) -> TransitionOutcome:
    """Run transition ``name`` on the record, in the caller's transaction."""
    workflow = workflow_of(context, entity)
    record = await locked_record(conn, context, entity, record_id)
    if expected_version is not None and int(record["version"]) != expected_version:
        raise VersionConflict(
            f"The record is at version {record['version']}, not {expected_version}.",
            hint="Reload the record and its available transitions, then try again.",
            details={"currentVersion": int(record["version"])},
        )
    reasons = await _reasons(conn, context, workflow, entity, record, workflow.transitions)
    chosen = workflow.transition(name)
    if chosen is None:
        raise _refused(name, [f"the workflow has no transition {name!r}"], reasons)
    blocking = list(reasons[name])
    verdicts: list[RuleVerdict] = []
    if not blocking:  # rules see only transitions the engine itself allows
        check = TransitionCheck(context, workflow, entity, chosen, record, comment)
        for rule in rules:
            verdict = await rule.check(conn, check)
            verdicts.append(verdict)
            blocking.extend(f"{rule.name}: {reason}" for reason in verdict.blocks)
    if blocking:
        raise _refused(name, blocking, reasons)
    warnings = tuple(w for v in verdicts for w in v.warnings)
    if chosen.approval is not None:
        request_id = await approvals.open_request(
            conn, context, workflow, entity, record, chosen, comment
        )
        return TransitionOutcome(
            str(record["id"]),
            str(record[workflow.field]),
            int(record["version"]),
            request_id,
            warnings,
        )
    after = await change_state(
        conn,
        context,
        workflow,
        entity,
        record,
        chosen,
        comment,
        data={"warnings": list(warnings)} if warnings else None,
    )
    return TransitionOutcome(
        str(after["id"]), str(after[workflow.field]), int(after["version"]), None, warnings
    )


def _refused(
    name: str, blocking: Sequence[str], reasons: Mapping[str, Sequence[str]]
) -> TransitionNotAllowed:
    allowed = sorted(n for n, r in reasons.items() if not r)
    others = {n: list(r) for n, r in reasons.items() if r and n != name}
    return TransitionNotAllowed(
        f"Transition {name!r} is not allowed: " + "; ".join(blocking) + ".",
        hint=(
            f"Allowed now: {', '.join(allowed)}."
            if allowed
            else "No transition is allowed for you on this record now."
        ),
        details={"reasons": list(blocking), "allowed": allowed, "notAllowed": others},
    )
