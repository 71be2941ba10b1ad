"""Anonymous topics and replies, on :mod:`rapport.plugins.anonymity`, and accepting answers.

An anonymous topic's author gets a follow-up code (shown once, stored as its SHA-256), the only
way to accept an answer to it; a named topic's answer is accepted by its author, a moderator or
HR. Accepting an answer of an open topic also answers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rapport.db.database import Connection
from rapport.errors import FieldError, Forbidden, NotFound, ValidationFailed
from rapport.naming import qualified
from rapport.plugins.anonymity import (
    create_anonymous,
    hash_code,
    new_follow_up_code,
    refuse_fields,
    update_anonymous,
)
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter
from rapport.workflow.context import WorkflowContext
from rapport.workflow.engine import transition
from rapport_discussions.moderation import is_moderator

__all__ = ["accept_answer", "accept_answer_by_code", "post_anonymous_topic", "reply_anonymously"]

_TOPIC_FIELDS = ("boardId", "title", "body", "kind", "addressedTo")
_REPLY_FIELDS = ("topicId", "parentId", "body")
SYSTEM = "system:discussions"


async def post_anonymous_topic(
    conn: Connection, writer: RecordWriter, input: Mapping[str, Any]
) -> str:
    refuse_fields(input, _TOPIC_FIELDS, "an anonymous topic")
    code = new_follow_up_code()
    entity = writer.metadata.model.entity("discussions/topic")
    await create_anonymous(
        conn, writer, entity, {**input, "anonymous": True, "followUpHash": hash_code(code)}
    )
    return code


async def reply_anonymously(
    conn: Connection, writer: RecordWriter, input: Mapping[str, Any]
) -> None:
    refuse_fields(input, _REPLY_FIELDS, "an anonymous reply")
    entity = writer.metadata.model.entity("discussions/reply")
    await create_anonymous(conn, writer, entity, {**input, "anonymous": True})


async def _reply(conn: Connection, writer: RecordWriter, reply_id: str) -> Any:
    schema = writer.tenant.schema
    row = await conn.fetchrow(
        f"SELECT r.id::text AS id, t.id::text AS topic_id, t.board_id::text AS board_id, t.status, "
        f"t.version, t.anonymous, e.user_id AS author_user "
        f"FROM {qualified(schema, 'discussions_reply')} AS r "
        f"JOIN {qualified(schema, 'discussions_topic')} AS t ON t.id = r.topic_id "
        f"LEFT JOIN {qualified(schema, 'org_employee')} AS e ON e.id = t.author_id "
        "WHERE r.id = $1::uuid AND NOT r.hidden FOR UPDATE OF t",
        reply_id,
    )
    if row is None:
        raise NotFound(f"No reply has id {reply_id!r}.", hint="Check the id.", path=("replyId",))
    return row


async def accept_answer(
    conn: Connection, writer: RecordWriter, principal: Principal, reply_id: str
) -> None:
    row = await _reply(conn, writer, reply_id)
    allowed = row["author_user"] == principal.subject or await is_moderator(
        conn, writer, principal, row["board_id"]
    )
    if not allowed:
        raise Forbidden(
            "Only the topic's author, its board's moderators or HR accept an answer.",
            hint="Ask the author to accept it.",
        )
    # The author accepts with the board's authority: no employee may update topics directly.
    acting = Principal(tenant=principal.tenant, subject=principal.subject,
                       roles=principal.roles | {ADMIN_ROLE}, attributes=principal.attributes)  # fmt: skip
    _open(row)
    entity = writer.metadata.model.entity("discussions/topic")
    await writer.update(conn, entity, row["topic_id"], {"acceptedAnswerId": row["id"]},
                        expected_version=row["version"], principal=acting)  # fmt: skip
    if row["status"] == "open":
        system = Principal(tenant=writer.tenant.slug, subject=SYSTEM, roles=frozenset({ADMIN_ROLE}))
        context = WorkflowContext(
            writer.tenant, writer.metadata, writer, system, dt.datetime.now(dt.UTC)
        )
        await transition(conn, context, entity, row["topic_id"], "answer")


async def accept_answer_by_code(
    conn: Connection, writer: RecordWriter, code: str, reply_id: str
) -> None:
    row = await _reply(conn, writer, reply_id)
    owner = await conn.fetchval(
        f"SELECT id::text FROM {qualified(writer.tenant.schema, 'discussions_topic')} "
        "WHERE follow_up_hash = $1 AND anonymous",
        hash_code(code),
    )
    if owner is None or owner != row["topic_id"]:
        raise NotFound(
            "No topic of this reply has this follow-up code.",
            hint="Use the code shown when you posted the question, and a reply to it.",
        )
    _open(row)
    # No transition here: its history would keep the exact time the anonymous author acted.
    entity = writer.metadata.model.entity("discussions/topic")
    await update_anonymous(conn, writer, entity, row["topic_id"], {"acceptedAnswerId": row["id"]},
                           expected_version=row["version"])  # fmt: skip


def _open(row: Any) -> None:
    if row["status"] == "closed":
        raise ValidationFailed(
            [FieldError(("replyId",), "the topic is closed")], hint="Reopen the topic first."
        )
