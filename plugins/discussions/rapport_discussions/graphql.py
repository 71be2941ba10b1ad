"""GraphQL fields of the discussions plug-in (contributed through ``DiscussionHooks.graphql``).

Topics, replies and boards are the generic API (``createTopic``, ``createReply``, ``topics``…).
These fields add what needs more than a record write:

- ``postAnonymousTopic(input)`` → ``{followUpCode}`` and ``replyAnonymously(input)``: for
  signed-in employees on boards that allow it; written as the fixed principal ``anonymous``,
  the resolvers never pass on who asked;
- ``acceptDiscussionAnswer(replyId)`` (the author, a moderator, HR) and
  ``acceptAnonymousTopicAnswer(code, replyId)``;
- ``moderateDiscussion(id, action)``, ``reportDiscussionAbuse(id, reason, details)``,
  ``reactToDiscussion(id, kind)`` and ``withdrawDiscussionReaction(id, kind)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.db.database import Connection
from rapport.errors import Forbidden
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_discussions import moderation, posting

__all__ = ["contribute"]

ORIGIN = "plugin:discussions"


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("discussions/topic"):
        return Contribution()
    receipt = GraphQLObjectType(
        "AnonymousTopicReceipt",
        lambda: {
            "followUpCode": GraphQLField(
                _nn(GraphQLString),
                description="Keep it: it is shown once; with it you accept an answer.",
            )
        },
    )
    topic_input = GraphQLInputObjectType(
        "AnonymousTopicInput",
        lambda: {
            "boardId": GraphQLInputField(_nn(GraphQLID)),
            "title": GraphQLInputField(_nn(GraphQLString)),
            "body": GraphQLInputField(_nn(GraphQLString)),
            "kind": GraphQLInputField(GraphQLString, description="discussion or question"),
            "addressedTo": GraphQLInputField(GraphQLString, description="anyone, hr or manager"),
        },
    )
    reply_input = GraphQLInputObjectType(
        "AnonymousReplyInput",
        lambda: {
            "topicId": GraphQLInputField(_nn(GraphQLID)),
            "parentId": GraphQLInputField(GraphQLID),
            "body": GraphQLInputField(_nn(GraphQLString)),
        },
    )
    action = GraphQLEnumType("DiscussionModeration", {a.name: a.value for a in moderation.Action})
    for type_ in (receipt, topic_input, reply_input, action):
        ctx.registry.add(type_, origin=ORIGIN)
    post = {"id": GraphQLArgument(_nn(GraphQLID))}
    kind = {**post, "kind": GraphQLArgument(_nn(GraphQLString))}
    reply = {"replyId": GraphQLArgument(_nn(GraphQLID))}
    flag = _nn(GraphQLBoolean)
    return Contribution(
        mutation={
            "postAnonymousTopic": GraphQLField(
                _nn(receipt), args={"input": GraphQLArgument(_nn(topic_input))}, resolve=_post_topic
            ),
            "replyAnonymously": GraphQLField(
                flag, args={"input": GraphQLArgument(_nn(reply_input))}, resolve=_reply
            ),
            "acceptDiscussionAnswer": GraphQLField(flag, args=reply, resolve=_accept),
            "acceptAnonymousTopicAnswer": GraphQLField(
                flag,
                args={**reply, "code": GraphQLArgument(_nn(GraphQLString))},
                resolve=_accept_code,
            ),
            "moderateDiscussion": GraphQLField(
                flag, args={**post, "action": GraphQLArgument(_nn(action))}, resolve=_moderate
            ),
            "reportDiscussionAbuse": GraphQLField(
                flag,
                args={
                    **post,
                    "reason": GraphQLArgument(_nn(GraphQLString)),
                    "details": GraphQLArgument(GraphQLString),
                },
                resolve=_report,
            ),
            "reactToDiscussion": GraphQLField(flag, args=kind, resolve=_react),
            "withdrawDiscussionReaction": GraphQLField(flag, args=kind, resolve=_unreact),
        }
    )


def _employee(context: RequestContext) -> None:
    # Anonymous posting is for colleagues: a signed-in employee, whose identity is not kept.
    if "employee" not in context.principal.roles:
        raise Forbidden("Anonymous posts are for signed-in employees.", hint="Sign in first.")


async def _run(info: Any, work: Callable[[Connection, RequestContext], Awaitable[Any]]) -> Any:
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        return await work(conn, context)


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


async def _post_topic(_root: object, info: Any, input: dict[str, Any]) -> dict[str, str]:
    _employee(info.context)
    code = await _run(
        info, lambda c, x: posting.post_anonymous_topic(c, x.api.writer, _given(input))
    )
    return {"followUpCode": code}


async def _reply(_root: object, info: Any, input: dict[str, Any]) -> bool:
    _employee(info.context)
    await _run(info, lambda c, x: posting.reply_anonymously(c, x.api.writer, _given(input)))
    return True


async def _accept(_root: object, info: Any, replyId: str) -> bool:
    await _run(info, lambda c, x: posting.accept_answer(c, x.api.writer, x.principal, replyId))
    return True


async def _accept_code(_root: object, info: Any, replyId: str, code: str) -> bool:
    await _run(info, lambda c, x: posting.accept_answer_by_code(c, x.api.writer, code, replyId))
    return True


async def _moderate(_root: object, info: Any, id: str, action: str) -> bool:
    chosen = moderation.Action(action)
    await _run(info, lambda c, x: moderation.moderate(c, x.api.writer, x.principal, id, chosen))
    return True


async def _report(
    _root: object, info: Any, id: str, reason: str, details: str | None = None
) -> bool:
    await _run(
        info, lambda c, x: moderation.report(c, x.api.writer, x.principal, id, reason, details)
    )
    return True


async def _react(_root: object, info: Any, id: str, kind: str) -> bool:
    await _run(info, lambda c, x: moderation.react(c, x.api.writer, x.principal, id, kind))
    return True


async def _unreact(_root: object, info: Any, id: str, kind: str) -> bool:
    await _run(info, lambda c, x: moderation.unreact(c, x.api.writer, x.principal, id, kind))
    return True
