"""What a topic or reply must satisfy, whatever path writes it (run by the hooks).

Anonymous posts come only through the anonymous path and only on boards that allow them; named
posts get their author from the signed-in employee; a question addressed to HR gets its answer
deadline in working days (from midnight for an anonymous one: its exact time is not kept);
replies go to unlocked topics, one level deep; an answer by HR or a manager is marked official.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.naming import qualified
from rapport.plugins.anonymity import ANONYMOUS_VIA
from rapport.records.change import PendingChange
from rapport.workflow.calendar import add_working_days
from rapport.workflow.document import Calendar

__all__ = ["official_role", "reply_rules", "topic_rules"]

OFFICIAL = (("hr", "hr"), ("hr_manager", "hr"), ("manager", "manager"))


def _refuse(change: PendingChange, field: str, message: str, hint: str) -> ValidationFailed:
    return ValidationFailed([FieldError((*change.path, field), message)], hint=hint)


def official_role(roles: frozenset[str]) -> str:
    return next((mark for role, mark in OFFICIAL if role in roles), "none")


def _author(change: PendingChange, board: Mapping[str, Any]) -> dict[str, Any]:
    input = dict(change.input)
    if input.get("anonymous"):
        if change.via != ANONYMOUS_VIA:
            raise _refuse(change, "anonymous", "anonymous posts have their own path",
                          "Use postAnonymousTopic or replyAnonymously.")  # fmt: skip
        if not board["allow_anonymous"]:
            raise _refuse(change, "anonymous", "this board does not allow anonymous posts",
                          "Post with your name, or ask the board's moderators.")  # fmt: skip
        if input.get("authorId") is not None:
            raise _refuse(change, "authorId", "an anonymous post has no author",
                          "Leave authorId empty.")  # fmt: skip
        return input
    employee = change.principal.attributes.get("employee")
    if input.get("authorId") is None and employee:
        input["authorId"] = employee
    return input


async def topic_rules(conn: Connection, change: PendingChange) -> PendingChange:
    board = await conn.fetchrow(
        f"SELECT allow_anonymous, answer_days FROM {qualified(change.tenant.schema, 'discussions_board')} "
        "WHERE id = $1::uuid",
        change.input.get("boardId"),
    )
    if board is None:
        raise _refuse(change, "boardId", "no such board", "Choose an existing board.")
    input = _author(change, board)
    if input.get("kind") == "question" and input.get("addressedTo") == "hr":
        start = dt.datetime.now(dt.UTC)
        if change.via == ANONYMOUS_VIA:
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        workflow = change.metadata.workflows.for_entity(change.entity.id)
        calendar = workflow.calendar if workflow is not None else Calendar.CN
        input["answerDueAt"] = add_working_days(
            start, int(board["answer_days"] or 2), calendar
        ).isoformat()
    return change.with_input(input)


async def reply_rules(conn: Connection, change: PendingChange) -> PendingChange:
    schema = change.tenant.schema
    topic = await conn.fetchrow(
        f"SELECT t.locked, t.hidden, b.allow_anonymous FROM {qualified(schema, 'discussions_topic')} AS t "
        f"JOIN {qualified(schema, 'discussions_board')} AS b ON b.id = t.board_id WHERE t.id = $1::uuid",
        change.input.get("topicId"),
    )
    if topic is None:
        raise _refuse(change, "topicId", "no such topic", "Reply to an existing topic.")
    if topic["locked"] or topic["hidden"]:
        raise _refuse(change, "topicId", "the topic is locked", "Locked topics take no replies.")
    parent_id = change.input.get("parentId")
    if parent_id is not None:
        parent = await conn.fetchrow(
            f"SELECT topic_id::text AS topic_id, parent_id FROM {qualified(schema, 'discussions_reply')} "
            "WHERE id = $1::uuid",
            parent_id,
        )
        if parent is None or parent["topic_id"] != str(change.input.get("topicId")):
            raise _refuse(
                change,
                "parentId",
                "not a reply of this topic",
                "Reply to a reply of the same topic.",
            )
        if parent["parent_id"] is not None:
            raise _refuse(change, "parentId", "threads are one level deep",
                          "Reply to the top-level reply instead.")  # fmt: skip
    input = _author(change, topic)
    input["official"] = "none" if input.get("anonymous") else official_role(change.principal.roles)
    return change.with_input(input)
