"""The discussions plug-in's hooks: the posting rules, official answers and mentions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.naming import qualified
from rapport.notify import notify
from rapport.plugins import Hooks
from rapport.records.change import Change, PendingChange
from rapport.records.writer import RecordWriter
from rapport.workflow.context import WorkflowContext
from rapport.workflow.engine import transition
from rapport_discussions.mentions import notify_mentions
from rapport_discussions.rules import reply_rules, topic_rules

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["DiscussionHooks"]

TOPIC = "discussions/topic"
REPLY = "discussions/reply"


class DiscussionHooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id == TOPIC:
            return await topic_rules(conn, change)
        if change.entity.id == REPLY:
            return await reply_rules(conn, change)
        return change

    async def after_create(self, conn: Connection, change: Change) -> None:
        after = change.after or {}
        if change.entity.id == TOPIC:
            link = f"discussions/{change.record_id}"
            await notify_mentions(
                conn, change, str(after.get("body") or ""), str(after["title"]), link
            )
        elif change.entity.id == REPLY:
            await _replied(conn, change)

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_discussions.graphql import contribute

        return (contribute,)


async def _replied(conn: Connection, change: Change) -> None:
    """An official answer answers an open question; the named author and mentions hear of it."""
    after = change.after or {}
    schema = change.tenant.schema
    topic = await conn.fetchrow(
        f"SELECT t.id::text AS id, t.title, t.kind, t.status, e.user_id AS author_user "
        f"FROM {qualified(schema, 'discussions_topic')} AS t "
        f"LEFT JOIN {qualified(schema, 'org_employee')} AS e ON e.id = t.author_id "
        "WHERE t.id = $1::uuid",
        after.get("topicId"),
    )
    if topic is None:
        return
    link = f"discussions/{topic['id']}"
    if (
        after.get("official") not in (None, "none")
        and topic["kind"] == "question"
        and topic["status"] == "open"
    ):
        context = WorkflowContext(
            change.tenant,
            change.metadata,
            RecordWriter(
                change.tenant,
                change.metadata,
                participants=KERNEL.participants,
                sealers=KeyRingSealers(),
            ),
            change.principal,
            dt.datetime.now(dt.UTC),
        )
        await transition(conn, context, change.metadata.model.entity(TOPIC), topic["id"], "answer")
    author = topic["author_user"]
    if author and author != change.principal.subject:
        await notify(
            conn,
            tenant_id=change.tenant.id,
            recipients=[author],
            title=f"新回复 / New reply: {topic['title']}"[:200],
            body=str(after.get("body") or "")[:200],
            link=link,
            metadata=(change.tenant, change.metadata),
            participants=KERNEL.participants,
        )
    await notify_mentions(conn, change, str(after.get("body") or ""), str(topic["title"]), link)
