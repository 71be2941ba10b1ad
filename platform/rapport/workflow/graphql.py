"""The workflow's GraphQL fields (a :data:`rapport.graphql.contributions.Contributor`).

For each entity with a workflow (``Complaint`` here):

* ``complaintTransitions(id)``: every transition with ``allowed`` and the ``reasons`` it is not
  allowed for the current user;
* ``complaintHistory(id)``: who moved the record from where to where, when, with what comment;
* ``transitionComplaint(id, transition, comment, expectedVersion)``.

And once per tenant with workflows: ``myApprovals`` (the current user's open approval tasks)
and the mutations ``approve(taskId, comment)``, ``reject(taskId, comment)`` and
``delegate(to, from, until)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.auth.permissions.access import authorize
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import DATETIME, JSON
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import EntityDef
from rapport.workflow import approvals, engine
from rapport.workflow.context import WorkflowContext
from rapport.workflow.history import read_history
from rapport.workflow.kind import workflows_of

__all__ = ["contribute"]

ORIGIN = "kernel:workflow"


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def _context(info: Any) -> tuple[RequestContext, WorkflowContext]:
    context: RequestContext = info.context
    api = context.api
    return context, WorkflowContext(
        api.tenant, api.metadata, api.writer, context.principal, context.now
    )


def _types(ctx: BuildContext) -> dict[str, GraphQLObjectType]:
    transition = GraphQLObjectType(
        "WorkflowTransition",
        lambda: {
            "name": GraphQLField(_nn(GraphQLString)),
            "to": GraphQLField(_nn(GraphQLString)),
            "allowed": GraphQLField(_nn(GraphQLBoolean)),
            "reasons": GraphQLField(_nn(GraphQLList(_nn(GraphQLString)))),
            "needsApproval": GraphQLField(_nn(GraphQLBoolean)),
        },
        description="A transition of a record's workflow as the current user sees it now.",
    )
    history = GraphQLObjectType(
        "WorkflowHistoryEntry",
        lambda: {
            "transition": GraphQLField(GraphQLString, description="null: the record was created"),
            "from": GraphQLField(GraphQLString),
            "to": GraphQLField(_nn(GraphQLString)),
            "actor": GraphQLField(GraphQLString),
            "comment": GraphQLField(GraphQLString),
            "at": GraphQLField(_nn(DATETIME)),
            "data": GraphQLField(_nn(JSON)),
        },
    )
    result = GraphQLObjectType(
        "TransitionResult",
        lambda: {
            "id": GraphQLField(_nn(GraphQLID)),
            "state": GraphQLField(_nn(GraphQLString)),
            "version": GraphQLField(_nn(GraphQLInt)),
            "approvalRequest": GraphQLField(
                GraphQLID, description="Set when the transition waits for approvals."
            ),
            "warnings": GraphQLField(_nn(GraphQLList(_nn(GraphQLString)))),
        },
    )
    task = GraphQLObjectType(
        "ApprovalTask",
        lambda: {
            "id": GraphQLField(_nn(GraphQLID)),
            "requestId": GraphQLField(_nn(GraphQLID)),
            "entity": GraphQLField(_nn(GraphQLString)),
            "recordId": GraphQLField(_nn(GraphQLID)),
            "transition": GraphQLField(_nn(GraphQLString)),
            "approver": GraphQLField(_nn(GraphQLString)),
            "requestedBy": GraphQLField(_nn(GraphQLString)),
            "comment": GraphQLField(GraphQLString),
            "createdAt": GraphQLField(_nn(DATETIME)),
            "mode": GraphQLField(_nn(GraphQLString)),
        },
    )
    decision = GraphQLObjectType(
        "ApprovalDecision",
        lambda: {
            "requestId": GraphQLField(_nn(GraphQLID)),
            "status": GraphQLField(_nn(GraphQLString)),
            "state": GraphQLField(GraphQLString, description="The record's state once approved."),
        },
    )
    types = {
        "transition": transition,
        "history": history,
        "result": result,
        "task": task,
        "decision": decision,
    }
    for type_ in types.values():
        ctx.registry.add(type_, origin=ORIGIN)
    return types


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    entities = [
        metadata.model.entity(w.entity)
        for w in workflows_of(metadata).workflows
        if metadata.model.has_entity(w.entity)
    ]
    if not entities:
        return Contribution()
    types = _types(ctx)
    query: dict[str, GraphQLField] = {}
    mutation: dict[str, GraphQLField] = {}
    id_arg = {"id": GraphQLArgument(_nn(GraphQLID))}
    for entity in entities:
        query[f"{entity.single_name}Transitions"] = GraphQLField(
            _nn(GraphQLList(_nn(types["transition"]))),
            args=id_arg,
            resolve=_transitions(entity),
            description=f"The transitions of a {entity.type_name} for the current user.",
        )
        query[f"{entity.single_name}History"] = GraphQLField(
            _nn(GraphQLList(_nn(types["history"]))),
            args=id_arg,
            resolve=_history(entity),
            description=f"The state history of a {entity.type_name}.",
        )
        mutation[f"transition{entity.type_name}"] = GraphQLField(
            _nn(types["result"]),
            args={
                "id": GraphQLArgument(_nn(GraphQLID)),
                "transition": GraphQLArgument(_nn(GraphQLString)),
                "comment": GraphQLArgument(GraphQLString),
                "expectedVersion": GraphQLArgument(GraphQLInt),
            },
            resolve=_transition(entity),
        )
    query["myApprovals"] = GraphQLField(_nn(GraphQLList(_nn(types["task"]))), resolve=_my_approvals)
    decide_args = {
        "taskId": GraphQLArgument(_nn(GraphQLID)),
        "comment": GraphQLArgument(GraphQLString),
    }
    mutation["approve"] = GraphQLField(
        _nn(types["decision"]), args=decide_args, resolve=_decide(approve=True)
    )
    mutation["reject"] = GraphQLField(
        _nn(types["decision"]), args=decide_args, resolve=_decide(approve=False)
    )
    mutation["delegate"] = GraphQLField(
        _nn(GraphQLID),
        args={
            "to": GraphQLArgument(_nn(GraphQLString)),
            "from": GraphQLArgument(DATETIME, description="Default: now."),
            "until": GraphQLArgument(_nn(DATETIME)),
        },
        resolve=_delegate,
        description="Hand your approval tasks to another user for a period.",
    )
    return Contribution(query=query, mutation=mutation)


def _transitions(entity: EntityDef) -> Any:
    async def resolve(_root: object, info: Any, id: str) -> list[dict[str, Any]]:
        request, context = _context(info)
        authorize(context.principal, context.metadata, entity.id, "read")
        async with request.db.acquire() as conn:
            items = await engine.available(conn, context, entity, id)
        return [
            {
                "name": a.name,
                "to": a.target,
                "allowed": a.allowed,
                "reasons": list(a.reasons),
                "needsApproval": a.needs_approval,
            }
            for a in items
        ]

    return resolve


def _history(entity: EntityDef) -> Any:
    async def resolve(_root: object, info: Any, id: str) -> list[dict[str, Any]]:
        request, context = _context(info)
        authorize(context.principal, context.metadata, entity.id, "read")
        async with request.db.acquire() as conn:
            await engine.available(conn, context, entity, id)  # NOT_FOUND for unknown ids
            entries = await read_history(conn, tenant_id=context.tenant.id, record_id=id)
        return [
            {
                "transition": e.transition,
                "from": e.from_state,
                "to": e.to_state,
                "actor": e.actor,
                "comment": e.comment,
                "at": e.at,
                "data": dict(e.data),
            }
            for e in entries
        ]

    return resolve


def _transition(entity: EntityDef) -> Any:
    async def resolve(
        _root: object,
        info: Any,
        id: str,
        transition: str,
        comment: str | None = None,
        expectedVersion: int | None = None,
    ) -> dict[str, Any]:
        request, context = _context(info)
        # Shares its commit with the tenant's concurrent writes (rapport.db.group).
        async with request.db.grouped(context.tenant.id) as conn:
            outcome = await engine.transition(
                conn,
                context,
                entity,
                id,
                transition,
                comment=comment,
                expected_version=expectedVersion,
            )
        return {
            "id": outcome.record_id,
            "state": outcome.state,
            "version": outcome.version,
            "approvalRequest": outcome.approval_request,
            "warnings": list(outcome.warnings),
        }

    return resolve


async def _my_approvals(_root: object, info: Any) -> list[dict[str, Any]]:
    request, context = _context(info)
    tasks = await approvals.inbox(
        request.db,
        tenant_id=context.tenant.id,
        subject=context.principal.subject,
        roles=context.principal.roles,
        now=context.now,
    )
    return [
        {
            "id": t.id,
            "requestId": t.request_id,
            "entity": t.entity,
            "recordId": t.record_id,
            "transition": t.transition,
            "approver": t.approver,
            "requestedBy": t.requested_by,
            "comment": t.comment,
            "createdAt": t.created_at,
            "mode": t.mode,
        }
        for t in tasks
    ]


def _decide(*, approve: bool) -> Any:
    async def resolve(
        _root: object, info: Any, taskId: str, comment: str | None = None
    ) -> dict[str, Any]:
        request, context = _context(info)
        async with request.db.transaction() as conn:
            decision = await approvals.decide(
                conn, context, taskId, approve=approve, comment=comment
            )
        return {
            "requestId": decision.request_id,
            "status": decision.status,
            "state": decision.state,
        }

    return resolve


async def _delegate(_root: object, info: Any, to: str, until: dt.datetime, **kwargs: Any) -> str:
    request, context = _context(info)
    starts = kwargs.get("from") or context.now
    async with request.db.transaction() as conn:
        return await approvals.delegate(conn, context, to=to, starts_at=starts, ends_at=until)
