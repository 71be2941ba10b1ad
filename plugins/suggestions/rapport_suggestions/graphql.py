"""GraphQL fields of the suggestions plug-in (contributed through ``SuggestionHooks.graphql``).

Anonymous path (also served login-free at ``POST /public/{tenant}/graphql``; the resolvers never
look at who is asking): ``submitAnonymousSuggestion(input)`` → ``{followUpCode}``,
``anonymousSuggestionStatus(code)``, ``commentAnonymousSuggestion(code, body)`` and
``attachToAnonymousSuggestion(code, file)`` (a file reference already in the file store).
Signed-in: ``upvoteSuggestion(id)`` / ``withdrawSuggestionUpvote(id)`` (once per employee,
stored as a keyed hash), ``createSuggestionTasks(id, tasks)`` (HR, adopted suggestions) and
``suggestionStatistics(by)`` (HR; small groups suppressed).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.errors import Forbidden, NotFound
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.request import GraphQLRequest
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_suggestions import anonymous, votes
from rapport_suggestions.statistics import GroupBy, statistics
from rapport_suggestions.tasks import create_tasks

__all__ = ["contribute"]

ORIGIN = "plugin:suggestions"
HR_ROLES = frozenset({"hr", "hr_manager", "admin"})
_VISIBLE = "query($id: ID!) { suggestion(id: $id) { id } }"


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("suggestions/suggestion"):
        return Contribution()
    entity = metadata.model.entity("suggestions/suggestion")
    category = GraphQLEnumType(
        "AnonymousSuggestionCategory",
        {str(v): str(v) for v in entity.field("category").enum_values},
    )
    task = GraphQLObjectType(
        "SuggestionFollowUpTask",
        lambda: {
            "title": GraphQLField(_nn(GraphQLString)),
            "status": GraphQLField(_nn(GraphQLString)),
            "dueAt": GraphQLField(GraphQLString),
        },
    )
    status = GraphQLObjectType(
        "AnonymousSuggestionStatus",
        lambda: {
            "status": GraphQLField(_nn(GraphQLString)),
            "resolution": GraphQLField(GraphQLString),
            "rejectionReason": GraphQLField(GraphQLString),
            "upvotes": GraphQLField(_nn(GraphQLInt)),
            "comments": GraphQLField(_nn(GraphQLInt)),
            "tasks": GraphQLField(_nn(GraphQLList(_nn(task)))),
        },
    )
    receipt = GraphQLObjectType(
        "AnonymousSuggestionReceipt",
        lambda: {
            "followUpCode": GraphQLField(
                _nn(GraphQLString),
                description="Keep it: it is shown once and is the only way back to the suggestion.",
            )
        },
    )
    input_type = GraphQLInputObjectType(
        "AnonymousSuggestionInput",
        lambda: {
            "title": GraphQLInputField(_nn(GraphQLString)),
            "body": GraphQLInputField(_nn(GraphQLString)),
            "category": GraphQLInputField(_nn(category)),
            "departmentId": GraphQLInputField(GraphQLID),
        },
    )
    task_input = GraphQLInputObjectType(
        "SuggestionTaskInput",
        lambda: {
            "title": GraphQLInputField(_nn(GraphQLString)),
            "assignee": GraphQLInputField(_nn(GraphQLString), description="User id of the owner."),
            "dueAt": GraphQLInputField(_nn(GraphQLString), description="ISO 8601 date-time."),
            "description": GraphQLInputField(GraphQLString),
        },
    )
    file_input = GraphQLInputObjectType(
        "AnonymousSuggestionFileInput",
        lambda: {
            "key": GraphQLInputField(_nn(GraphQLString), description="Storage key."),
            "name": GraphQLInputField(_nn(GraphQLString)),
            "size": GraphQLInputField(_nn(GraphQLInt)),
            "contentType": GraphQLInputField(_nn(GraphQLString)),
            "sha256": GraphQLInputField(GraphQLString),
        },
    )
    group_by = GraphQLEnumType("SuggestionGroupBy", {g.name: g.value for g in GroupBy})
    group = GraphQLObjectType(
        "SuggestionGroup",
        lambda: {
            "key": GraphQLField(GraphQLString),
            "label": GraphQLField(GraphQLString),
            "count": GraphQLField(_nn(GraphQLInt)),
        },
    )
    stats = GraphQLObjectType(
        "SuggestionStatistics",
        lambda: {
            "minGroupSize": GraphQLField(_nn(GraphQLInt)),
            "groups": GraphQLField(_nn(GraphQLList(_nn(group)))),
            "suppressedGroups": GraphQLField(_nn(GraphQLInt)),
            "medianHoursToFirstResponse": GraphQLField(GraphQLFloat),
            "medianHoursToClose": GraphQLField(GraphQLFloat),
            "adoptionRate": GraphQLField(GraphQLFloat),
        },
    )
    types = (category, task, status, receipt, input_type, task_input, file_input, group_by)
    for type_ in (*types, group, stats):
        ctx.registry.add(type_, origin=ORIGIN)
    code = {"code": GraphQLArgument(_nn(GraphQLString))}
    by_id = {"id": GraphQLArgument(_nn(GraphQLID))}
    return Contribution(
        query={
            "anonymousSuggestionStatus": GraphQLField(_nn(status), args=code, resolve=_status),
            "suggestionStatistics": GraphQLField(
                _nn(stats), args={"by": GraphQLArgument(_nn(group_by))}, resolve=_statistics
            ),
        },
        mutation={
            "submitAnonymousSuggestion": GraphQLField(
                _nn(receipt), args={"input": GraphQLArgument(_nn(input_type))}, resolve=_submit
            ),
            "commentAnonymousSuggestion": GraphQLField(
                _nn(GraphQLBoolean),
                args={**code, "body": GraphQLArgument(_nn(GraphQLString))},
                resolve=_comment,
            ),
            "attachToAnonymousSuggestion": GraphQLField(
                _nn(GraphQLBoolean),
                args={**code, "file": GraphQLArgument(_nn(file_input))},
                resolve=_attach,
            ),
            "upvoteSuggestion": GraphQLField(_nn(GraphQLBoolean), args=by_id, resolve=_upvote),
            "withdrawSuggestionUpvote": GraphQLField(
                _nn(GraphQLBoolean), args=by_id, resolve=_withdraw
            ),
            "createSuggestionTasks": GraphQLField(
                _nn(GraphQLList(_nn(GraphQLID))),
                args={**by_id, "tasks": GraphQLArgument(_nn(GraphQLList(_nn(task_input))))},
                resolve=_tasks,
            ),
        },
    )


async def _submit(_root: object, info: Any, input: dict[str, Any]) -> dict[str, str]:
    context: RequestContext = info.context
    fields = {k: v for k, v in input.items() if v is not None}
    async with context.db.transaction() as conn:
        code = await anonymous.submit(conn, context.api.writer, fields)
    return {"followUpCode": code}


async def _status(_root: object, info: Any, code: str) -> dict[str, Any]:
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        found = await anonymous.follow_up(conn, context.api.writer, code)
    return {
        "status": found.status,
        "resolution": found.resolution,
        "rejectionReason": found.rejection_reason,
        "upvotes": found.upvotes,
        "comments": found.comments,
        "tasks": [{"title": t.title, "status": t.status, "dueAt": t.due_at} for t in found.tasks],
    }


async def _comment(_root: object, info: Any, code: str, body: str) -> bool:
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        await anonymous.comment(conn, context.api.writer, code, body)
    return True


async def _attach(_root: object, info: Any, code: str, file: dict[str, Any]) -> bool:
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        await anonymous.attach(
            conn, context.api.writer, code, {k: v for k, v in file.items() if v is not None}
        )
    return True


async def _upvote(_root: object, info: Any, id: str) -> bool:
    """Upvote a suggestion you can read; once per employee (a second vote is a conflict)."""
    context: RequestContext = info.context
    await _readable(context, id)
    async with context.db.transaction() as conn:
        await votes.upvote(conn, context.api.writer, id, context.principal.subject)
    return True


async def _withdraw(_root: object, info: Any, id: str) -> bool:
    context: RequestContext = info.context
    await _readable(context, id)
    async with context.db.transaction() as conn:
        await votes.withdraw(conn, context.api.writer, id, context.principal.subject)
    return True


async def _readable(context: RequestContext, suggestion_id: str) -> None:
    # The permission-checked read path decides, exactly as for a query of the suggestion.
    outcome = await context.api.execute(
        context.db,
        GraphQLRequest(_VISIBLE, variables={"id": suggestion_id}, allow_mutations=False),
        context.principal,
    )
    if (json.loads(outcome.body).get("data") or {}).get("suggestion") is None:
        raise NotFound(
            f"No suggestion you can read has id {suggestion_id!r}.",
            hint="Only suggestions HR made public to you can be upvoted.",
        )


async def _tasks(_root: object, info: Any, id: str, tasks: list[dict[str, Any]]) -> list[str]:
    context: RequestContext = info.context
    cleaned = [{k: v for k, v in t.items() if v is not None} for t in tasks]
    async with context.db.transaction() as conn:
        return await create_tasks(conn, context.api.writer, context.principal, id, cleaned)


async def _statistics(_root: object, info: Any, by: str) -> dict[str, Any]:
    context: RequestContext = info.context
    if not context.principal.roles & HR_ROLES:
        raise Forbidden(
            "Only HR may read suggestion statistics.", hint="Ask for the hr or hr_manager role."
        )
    async with context.db.transaction() as conn:
        found = await statistics(conn, context.api.writer.tenant.schema, GroupBy(by))
    return {
        "minGroupSize": found.min_group_size,
        "groups": [asdict(g) for g in found.groups],
        "suppressedGroups": found.suppressed_groups,
        "medianHoursToFirstResponse": found.median_hours_to_first_response,
        "medianHoursToClose": found.median_hours_to_close,
        "adoptionRate": found.adoption_rate,
    }
