"""The announcements plug-in's hooks: publishing and revisions, whatever path writes them.

A publish is the announcement's status becoming ``published`` — by the ``publish`` transition
or by the ``publish-at`` timer of a scheduled one — so it is handled here, on the write, rather
than in one of them. Before the write the audience is resolved (nobody: refused, nothing
written) and ``publishedAt``/``recipientCount`` set; after it the receipts are created. A
content edit of a published announcement bumps ``revision``, keeps the old content as an
``announcement_revision`` and gives the same recipients receipts for the new revision; the old
receipts stay as they are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.plugins import Hooks
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import Change, PendingChange
from rapport.records.writer import RecordWriter
from rapport_announcements.audience import resolve_audience
from rapport_announcements.publishing import SUBJECT, create_receipts, previous_recipients

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["AnnouncementHooks"]

ANNOUNCEMENT = "announcements/announcement"
CONTENT = ("title", "body", "translations")
PUBLISHED = "published"


class AnnouncementHooks(Hooks):
    async def before_update(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id != ANNOUNCEMENT or change.before is None:
            return change
        before, input = change.before, change.input
        now = dt.datetime.now(dt.UTC).isoformat()
        if input.get("status") == PUBLISHED and before.get("status") != PUBLISHED:
            audience = _json(input.get("audience", before.get("audience")))
            recipients = await resolve_audience(conn, change.tenant, audience)
            if not recipients:
                raise ValidationFailed(
                    [FieldError((*change.path, "audience"), "the audience resolves to nobody")],
                    hint="Add roles, departments, projects or employees who can sign in "
                    "(employees need a userId), or remove exclusions, then publish again.",
                )
            return change.with_input(
                {**input, "publishedAt": now, "recipientCount": len(recipients)}
            )
        if before.get("status") == PUBLISHED and any(
            name in input and input[name] != before.get(name) for name in CONTENT
        ):
            return change.with_input(
                {**input, "revision": int(before.get("revision") or 1) + 1, "publishedAt": now}
            )
        return change

    async def after_update(self, conn: Connection, change: Change) -> None:
        if change.entity.id != ANNOUNCEMENT or change.before is None or change.after is None:
            return
        before, after = change.before, change.after
        now = dt.datetime.now(dt.UTC)
        if after.get("status") == PUBLISHED and before.get("status") != PUBLISHED:
            recipients = await resolve_audience(conn, change.tenant, _json(after.get("audience")))
            await create_receipts(conn, change.tenant, change.metadata, after, recipients, now=now)
        elif before.get("status") == PUBLISHED and after.get("revision") != before.get("revision"):
            await _keep_revision(conn, change, before)
            recipients = await previous_recipients(
                conn, change.tenant, change.record_id, int(before.get("revision") or 1)
            )
            await create_receipts(
                conn, change.tenant, change.metadata, after, recipients, now=now, updated=True
            )

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_announcements.graphql import contribute

        return (contribute,)


async def _keep_revision(conn: Connection, change: Change, before: Mapping[str, Any]) -> None:

    writer = RecordWriter(
        change.tenant, change.metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    principal = Principal(tenant=change.tenant.slug, subject=SUBJECT, roles=frozenset({ADMIN_ROLE}))
    snapshot = {
        "announcementId": change.record_id,
        "revision": int(before.get("revision") or 1),
        "title": before.get("title"),
        "body": before.get("body"),
        "translations": _json(before.get("translations")),
        "publishedAt": _iso(before.get("publishedAt")),
    }
    await writer.create(
        conn,
        change.metadata.model.entity("announcements/announcement_revision"),
        {k: v for k, v in snapshot.items() if v is not None},
        principal=principal,
        via="announcements",
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value
