"""Every record write becomes an event: an outbox row for webhooks, a NOTIFY for subscriptions.

:class:`OutboxParticipant` is the last write participant. For each created, updated or deleted
record it enqueues ``entity.<action>`` (payload: entity, record id, actor, path, changed fields
and the record as written — sensitive fields left out) in the write's transaction, and sends
``NOTIFY rapport_events`` with a small JSON ``{tenant, entity, id, action}`` that PostgreSQL
delivers at commit to the ``<entity>Changed`` subscriptions of every app instance
(:mod:`rapport.graphql.ws`). A rolled-back write sends neither.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rapport.db.database import Connection
from rapport.jobs.outbox import enqueue
from rapport.metadata.ir import EntityDef
from rapport.records.change import Change, WriteParticipant

__all__ = ["EVENTS_CHANNEL", "OutboxParticipant"]

EVENTS_CHANNEL = "rapport_events"


class OutboxParticipant(WriteParticipant):
    async def after_write(self, conn: Connection, change: Change) -> None:
        record = change.after if change.after is not None else change.before
        await enqueue(
            conn,
            tenant_id=change.tenant.id,
            topic=f"entity.{change.action.value}",
            payload={
                "entity": change.entity.id,
                "recordId": change.record_id,
                "action": change.action.value,
                "actor": change.principal.subject,
                "via": change.via,
                "changedFields": list(change.changed_fields),
                "record": _public(change.entity, record),
            },
        )
        notice = {
            "tenant": change.tenant.slug,
            "entity": change.entity.id,
            "id": change.record_id,
            "action": change.action.value,
        }
        await conn.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL, json.dumps(notice))


def _public(entity: EntityDef, record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The record without its sensitive fields: events leave the platform."""
    if record is None:
        return None
    hidden = {f.graphql_input_name for f in entity.stored_fields if f.sensitive} | {
        f.name for f in entity.stored_fields if f.sensitive
    }
    return {k: v for k, v in record.items() if k not in hidden}
