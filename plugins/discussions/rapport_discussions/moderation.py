"""Moderation and reactions: hide, unhide, lock, unlock; reports of abuse; reactions.

A board's moderators (``board_moderator`` rows) and HR moderate; their changes are written with
the board's authority under their own name (the audit shows who). Reports and reactions store
the person only as a keyed hash (:func:`rapport.plugins.anonymity.pseudonym`): one report per
person and post, one reaction of each kind, and no list of who reported or reacted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from rapport.composition import KERNEL
from rapport.db.database import Connection
from rapport.errors import FieldError, Forbidden, NotFound, ValidationFailed
from rapport.naming import qualified
from rapport.notify import notify
from rapport.plugins.anonymity import (
    ANONYMOUS_VIA,
    anonymous_principal,
    create_anonymous,
    pseudonym,
)
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter

__all__ = ["Action", "is_moderator", "moderate", "react", "report", "unreact"]

HR_ROLES = frozenset({"hr", "hr_manager", ADMIN_ROLE})


class Action(StrEnum):
    HIDE = "hide"
    UNHIDE = "unhide"
    LOCK = "lock"
    UNLOCK = "unlock"


_CHANGE = {
    Action.HIDE: ("hidden", True),
    Action.UNHIDE: ("hidden", False),
    Action.LOCK: ("locked", True),
    Action.UNLOCK: ("locked", False),
}


async def is_moderator(
    conn: Connection, writer: RecordWriter, principal: Principal, board_id: str
) -> bool:
    if principal.roles & HR_ROLES:
        return True
    found = await conn.fetchval(
        f"SELECT 1 FROM {qualified(writer.tenant.schema, 'discussions_board_moderator')} "
        "WHERE board_id = $1::uuid AND user_id = $2",
        board_id,
        principal.subject,
    )
    return found is not None


async def _post(conn: Connection, writer: RecordWriter, post_id: str) -> tuple[str, Any]:
    """Which entity ``post_id`` is (topic or reply) and its board, version and hidden flag."""
    schema = writer.tenant.schema
    topics, replies = qualified(schema, "discussions_topic"), qualified(schema, "discussions_reply")
    row = await conn.fetchrow(
        f"SELECT 'discussions/topic' AS entity, board_id::text AS board_id, version, title "
        f"FROM {topics} WHERE id = $1::uuid "
        f"UNION ALL SELECT 'discussions/reply', t.board_id::text, r.version, t.title "
        f"FROM {replies} AS r JOIN {topics} AS t ON t.id = r.topic_id WHERE r.id = $1::uuid",
        post_id,
    )
    if row is None:
        raise NotFound(f"No topic or reply has id {post_id!r}.", hint="Check the id.", path=("id",))
    return str(row["entity"]), row


async def moderate(
    conn: Connection, writer: RecordWriter, principal: Principal, post_id: str, action: Action
) -> None:
    entity_id, row = await _post(conn, writer, post_id)
    if not await is_moderator(conn, writer, principal, row["board_id"]):
        raise Forbidden("Only the board's moderators and HR moderate.", hint="Report it instead.")
    field, value = _CHANGE[action]
    if field == "locked" and entity_id != "discussions/topic":
        raise ValidationFailed(
            [FieldError(("id",), "replies cannot be locked")], hint="Lock the topic instead."
        )
    acting = Principal(tenant=principal.tenant, subject=principal.subject,
                       roles=principal.roles | {ADMIN_ROLE}, attributes=principal.attributes)  # fmt: skip
    await writer.update(
        conn,
        writer.metadata.model.entity(entity_id),
        post_id,
        {field: value},
        expected_version=int(row["version"]),
        principal=acting,
        via="moderation",
    )


async def report(
    conn: Connection,
    writer: RecordWriter,
    principal: Principal,
    post_id: str,
    reason: str,
    details: str | None,
) -> None:
    _, row = await _post(conn, writer, post_id)
    reporter = await pseudonym(conn, writer, f"report:{post_id}", principal.subject)
    system = Principal(
        tenant=writer.tenant.slug, subject="system:discussions", roles=frozenset({ADMIN_ROLE})
    )
    input = {
        "boardId": row["board_id"],
        "subjectId": post_id,
        "reason": reason,
        "reporterHash": reporter,
    }
    await writer.create(
        conn,
        writer.metadata.model.entity("discussions/abuse_report"),
        {**input, "details": details} if details else input,
        principal=system,
        via="report",
    )
    moderators = await conn.fetch(
        f"SELECT user_id FROM {qualified(writer.tenant.schema, 'discussions_board_moderator')} "
        "WHERE board_id = $1::uuid",
        row["board_id"],
    )
    await notify(
        conn,
        tenant_id=writer.tenant.id,
        recipients=[m["user_id"] for m in moderators] or ["role:hr"],
        title=f"举报 / Abuse reported: {row['title']}"[:200],
        body=reason,
        link=f"discussions/{post_id}",
        metadata=(writer.tenant, writer.metadata),
        participants=KERNEL.participants,
    )


async def react(
    conn: Connection, writer: RecordWriter, principal: Principal, post_id: str, kind: str
) -> None:
    await _post(conn, writer, post_id)
    reactor = await pseudonym(conn, writer, f"reaction:{post_id}", principal.subject)
    # Written as the fixed principal ``anonymous``: no createdBy or audit actor names the reactor.
    await create_anonymous(
        conn,
        writer,
        writer.metadata.model.entity("discussions/reaction"),
        {"subjectId": post_id, "kind": kind, "reactorHash": reactor},
    )


async def unreact(
    conn: Connection, writer: RecordWriter, principal: Principal, post_id: str, kind: str
) -> None:
    reactor = await pseudonym(conn, writer, f"reaction:{post_id}", principal.subject)
    entity = writer.metadata.model.entity("discussions/reaction")
    found = await conn.fetchval(
        f"SELECT id::text FROM {qualified(writer.tenant.schema, entity.table)} "
        "WHERE subject_id = $1::uuid AND kind = $2 AND reactor_hash = $3",
        post_id,
        kind,
        reactor,
    )
    if found is None:
        raise NotFound("You have not reacted so to this post.", hint="React first.")
    await writer.delete(
        conn, entity, found, principal=anonymous_principal(writer.tenant.slug), via=ANONYMOUS_VIA
    )
