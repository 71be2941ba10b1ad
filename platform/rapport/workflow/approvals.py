"""Approval requests: who must approve a transition, their decisions, and delegation.

A transition with ``approval`` opens a request with one task per approver slot (``role:<name>``,
``$record.<path>`` resolved now to a user id, or a user id). Modes: ``all`` (every slot,
in parallel), ``any`` (the first approval), ``quorum`` (n of m) and ``sequential`` (slots in
order; the next opens when the previous approves). A rejection ends the request with its
comment. The decision that satisfies the mode performs the state change in its transaction.

A user decides a task addressed to them, to one of their roles, or to someone who delegated to
them for a period that includes now. Nobody decides two slots of one request, and the requester
decides none unless the document says ``allowSelf``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport.db.database import Connection
from rapport.db.tenants import Queryable
from rapport.errors import FieldError, Forbidden, NotFound, TransitionNotAllowed, ValidationFailed
from rapport.metadata.ir import EntityDef
from rapport.records.rows import load_records, parse_id
from rapport.workflow import outlets
from rapport.workflow.context import WorkflowContext
from rapport.workflow.document import ApprovalMode, Transition, Workflow
from rapport.workflow.kind import workflows_of
from rapport.workflow.paths import resolve_path
from rapport.workflow.statechange import change_state

__all__ = [
    "Decision",
    "InboxTask",
    "decide",
    "delegate",
    "inbox",
    "open_request",
    "pending_request",
]


@dataclass(frozen=True, slots=True)
class InboxTask:
    id: str
    request_id: str
    entity: str
    record_id: str
    transition: str
    approver: str
    requested_by: str
    comment: str | None
    created_at: dt.datetime
    mode: str


@dataclass(frozen=True, slots=True)
class Decision:
    request_id: str
    status: str  # the request's status after the decision: pending | approved | rejected
    state: str | None  # the record's state when the request completed


async def pending_request(db: Queryable, tenant_id: str, record_id: str) -> str | None:
    """The transition name of the record's pending approval request, if any."""
    value = await db.fetchval(
        "SELECT transition FROM rapport.approval_requests "
        "WHERE tenant_id = $1::uuid AND record_id = $2::uuid AND status = 'pending'",
        tenant_id,
        record_id,
    )
    return None if value is None else str(value)


async def open_request(
    conn: Connection,
    context: WorkflowContext,
    workflow: Workflow,
    entity: EntityDef,
    record: Mapping[str, Any],
    transition: Transition,
    comment: str | None,
) -> str:
    approval = transition.approval
    if approval is None:
        raise ValueError(f"transition {transition.name} needs no approval")
    requester = context.principal.subject
    slots: list[str] = []
    problems: list[str] = []
    for spec in approval.by:
        if spec.startswith("$record."):
            value = await resolve_path(
                conn,
                context.tenant.schema,
                context.metadata.model,
                entity,
                record,
                spec.removeprefix("$record."),
            )
            if value is None:
                problems.append(f"approver {spec} has no value on this record")
                continue
            slots.append(str(value))
        else:
            slots.append(spec)
    if not approval.allow_self:
        problems.extend(
            f"approver {s} is the requester and self-approval is not allowed"
            for s in slots
            if s == requester
        )
    if problems:
        raise TransitionNotAllowed(
            f"Transition {transition.name!r} cannot ask for approval: " + "; ".join(problems) + ".",
            hint="Fill in the record's approver fields (or ask someone else to submit).",
            details={"reasons": problems, "allowed": []},
        )
    request_id = str(
        await conn.fetchval(
            """
            INSERT INTO rapport.approval_requests
                (tenant_id, entity, record_id, workflow, transition, from_state, mode, quorum,
                 allow_self, requested_by, comment, created_at)
            VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            RETURNING id
            """,
            context.tenant.id,
            entity.id,
            str(record["id"]),
            workflow.id,
            transition.name,
            record[workflow.field],
            approval.mode.value,
            approval.quorum,
            approval.allow_self,
            requester,
            comment,
            context.now,
        )
    )
    sequential = approval.mode is ApprovalMode.SEQUENTIAL
    for position, approver in enumerate(slots):
        status = "waiting" if sequential and position > 0 else "pending"
        await conn.execute(
            "INSERT INTO rapport.approval_tasks (request_id, tenant_id, position, approver, status) "
            "VALUES ($1::uuid, $2::uuid, $3, $4, $5)",
            request_id,
            context.tenant.id,
            position,
            approver,
            status,
        )
    first = slots[:1] if sequential else slots
    await _notify_approvers(conn, context, entity, str(record["id"]), transition.name, first)
    return request_id


async def _notify_approvers(
    conn: Connection,
    context: WorkflowContext,
    entity: EntityDef,
    record_id: str,
    transition: str,
    approvers: list[str],
) -> None:
    await outlets.send_notification(
        conn,
        tenant_id=context.tenant.id,
        recipients=approvers,
        title=f"{entity.title or entity.type_name}: approval requested ({transition})",
        body=f"Please approve or reject {transition} of {entity.type_name} {record_id}.",
        link=f"{entity.single_name}/{record_id}",
        metadata=(context.tenant, context.metadata),
        participants=context.writer.participants,
    )


_ELIGIBLE = """
    t.approver = $2
    OR t.approver = ANY($3::text[])
    OR t.approver IN (
        SELECT d.delegator FROM rapport.approval_delegations d
        WHERE d.tenant_id = $1::uuid AND d.delegate = $2 AND d.starts_at <= $4 AND $4 < d.ends_at)
"""


async def inbox(
    db: Queryable, *, tenant_id: str, subject: str, roles: frozenset[str], now: dt.datetime
) -> list[InboxTask]:
    """Open tasks this user may decide now (excluding their own requests unless allowSelf, and
    requests where they already decided a slot)."""
    rows = await db.fetch(
        f"""
        SELECT t.id::text AS id, r.id::text AS request_id, r.entity, r.record_id::text AS record_id,
               r.transition, t.approver, r.requested_by, r.comment, r.created_at, r.mode
        FROM rapport.approval_tasks t
        JOIN rapport.approval_requests r ON r.id = t.request_id
        WHERE t.tenant_id = $1::uuid AND t.status = 'pending' AND r.status = 'pending'
          AND ({_ELIGIBLE})
          AND (r.allow_self OR r.requested_by <> $2)
          AND NOT EXISTS (SELECT 1 FROM rapport.approval_tasks o
                          WHERE o.request_id = r.id AND o.decided_by = $2)
        ORDER BY r.created_at, t.position
        """,
        tenant_id,
        subject,
        [f"role:{r}" for r in sorted(roles)],
        now,
    )
    return [InboxTask(**dict(r)) for r in rows]


async def decide(
    conn: Connection,
    context: WorkflowContext,
    task_id: str,
    *,
    approve: bool,
    comment: str | None,
) -> Decision:
    """Approve or reject one task, in the caller's transaction."""
    if parse_id(task_id) is None:
        raise NotFound(f"No approval task has id {task_id!r}.", hint="Use an id from myApprovals.")
    principal = context.principal
    task = await conn.fetchrow(
        "SELECT request_id::text AS request_id, approver, status FROM rapport.approval_tasks "
        "WHERE id = $1::uuid AND tenant_id = $2::uuid",
        task_id,
        context.tenant.id,
    )
    if task is None:
        raise NotFound(f"No approval task has id {task_id!r}.", hint="Use an id from myApprovals.")
    # Decisions on one request serialize here, so a quorum is counted once.
    request = await conn.fetchrow(
        "SELECT * FROM rapport.approval_requests WHERE id = $1::uuid FOR UPDATE",
        task["request_id"],
    )
    if request is None:  # the foreign key rules it out; kept for the type checker
        raise NotFound(f"No approval request for task {task_id!r}.", hint="Reload myApprovals.")
    if request["status"] != "pending" or task["status"] != "pending":
        raise TransitionNotAllowed(
            f"This approval task is not open (request {request['status']}, task {task['status']}).",
            hint="Reload myApprovals.",
            details={"reasons": ["the task is not open"], "allowed": []},
        )
    eligible = await conn.fetchval(
        f"SELECT ({_ELIGIBLE}) FROM rapport.approval_tasks t WHERE t.id = $5::uuid",
        context.tenant.id,
        principal.subject,
        [f"role:{r}" for r in sorted(principal.roles)],
        context.now,
        task_id,
    )
    on_behalf = None
    if not eligible:
        raise Forbidden(
            f"This task is for {task['approver']}, not for you.",
            hint="Ask the approver, or have them delegate to you.",
        )
    if task["approver"] != principal.subject and not task["approver"].startswith("role:"):
        on_behalf = task["approver"]
    if principal.subject == request["requested_by"] and not request["allow_self"]:
        raise Forbidden(
            "You requested this transition; self-approval is not allowed.",
            hint="Another approver must decide.",
        )
    already = await conn.fetchval(
        "SELECT 1 FROM rapport.approval_tasks WHERE request_id = $1::uuid AND decided_by = $2",
        task["request_id"],
        principal.subject,
    )
    if already:
        raise Forbidden(
            "You already decided another slot of this request.",
            hint="Each slot needs a different approver.",
        )
    status = "approved" if approve else "rejected"
    await conn.execute(
        "UPDATE rapport.approval_tasks SET status = $2, decided_by = $3, on_behalf_of = $4, "
        "comment = $5, decided_at = $6 WHERE id = $1::uuid",
        task_id,
        status,
        principal.subject,
        on_behalf,
        comment,
        context.now,
    )
    await outlets.audit(
        conn,
        tenant_id=context.tenant.id,
        actor=principal.subject,
        action=f"workflow.{'approve' if approve else 'reject'}",
        entity=request["entity"],
        record_id=str(request["record_id"]),
        data={"request": task["request_id"], "task": task_id, "comment": comment},
    )
    if not approve:
        await _close(conn, request["id"], "rejected", context.now)
        return Decision(task["request_id"], "rejected", None)
    approved = int(
        await conn.fetchval(
            "SELECT count(*) FROM rapport.approval_tasks "
            "WHERE request_id = $1::uuid AND status = 'approved'",
            task["request_id"],
        )
    )
    total = int(
        await conn.fetchval(
            "SELECT count(*) FROM rapport.approval_tasks WHERE request_id = $1::uuid",
            task["request_id"],
        )
    )
    mode = ApprovalMode(request["mode"])
    needed = {ApprovalMode.ANY: 1, ApprovalMode.QUORUM: int(request["quorum"])}.get(mode, total)
    if approved < needed:
        if mode is ApprovalMode.SEQUENTIAL:
            await conn.execute(
                "UPDATE rapport.approval_tasks SET status = 'pending' WHERE request_id = $1::uuid "
                "AND position = (SELECT min(position) FROM rapport.approval_tasks "
                "WHERE request_id = $1::uuid AND status = 'waiting')",
                task["request_id"],
            )
        return Decision(task["request_id"], "pending", None)
    await _close(conn, request["id"], "approved", context.now)
    state = await _complete(conn, context, request)
    return Decision(task["request_id"], "approved", state)


async def _close(conn: Connection, request_id: Any, status: str, now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE rapport.approval_requests SET status = $2, decided_at = $3 WHERE id = $1",
        request_id,
        status,
        now,
    )
    await conn.execute(
        "UPDATE rapport.approval_tasks SET status = 'skipped' "
        "WHERE request_id = $1 AND status IN ('pending', 'waiting')",
        request_id,
    )


async def _complete(conn: Connection, context: WorkflowContext, request: Mapping[str, Any]) -> str:
    """The state change of an approved request, by the last approver, in their transaction."""
    workflow = workflows_of(context.metadata).by_id(request["workflow"])
    entity = context.metadata.model.entity(request["entity"])
    transition = workflow.transition(request["transition"]) if workflow else None
    if workflow is None or transition is None:
        raise TransitionNotAllowed(
            f"The workflow no longer has transition {request['transition']!r}.",
            hint="The workflow changed since the request was made; submit again.",
            details={"reasons": ["workflow changed"], "allowed": []},
        )
    record_id = str(request["record_id"])
    parsed = parse_id(record_id)
    ids = [parsed] if parsed is not None else []
    found = await load_records(conn, context.tenant.schema, entity, ids, lock=True)
    record = found.get(record_id)
    if record is None or record.get(workflow.field) != request["from_state"]:
        raise TransitionNotAllowed(
            "The record left the state the approval was requested in.",
            hint="Submit the transition again from the record's current state.",
            details={"reasons": ["record moved"], "allowed": []},
        )
    data = {"approvalRequest": str(request["id"]), "requestedBy": request["requested_by"]}
    after = await change_state(
        conn, context, workflow, entity, record, transition, request["comment"], data=data
    )
    return str(after[workflow.field])


async def delegate(
    conn: Connection,
    context: WorkflowContext,
    *,
    to: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
) -> str:
    """Hand the principal's approval tasks to ``to`` for ``[starts_at, ends_at)``."""
    errors = []
    if to == context.principal.subject:
        errors.append(FieldError(("to",), "you cannot delegate to yourself"))
    if starts_at >= ends_at:
        errors.append(FieldError(("until",), "the period must end after it starts"))
    if errors:
        raise ValidationFailed(errors)
    return str(
        await conn.fetchval(
            "INSERT INTO rapport.approval_delegations (tenant_id, delegator, delegate, starts_at, "
            "ends_at, created_at) VALUES ($1::uuid, $2, $3, $4, $5, $6) RETURNING id::text",
            context.tenant.id,
            context.principal.subject,
            to,
            starts_at,
            ends_at,
            context.now,
        )
    )
