"""Every record write becomes an event: an outbox row for webhooks, a NOTIFY for subscriptions.

:class:`OutboxParticipant` is the last write participant. For each created, updated or deleted
record it enqueues ``entity.<action>`` (payload: entity, record id, actor, path, changed fields
and the record as written — sensitive fields left out) in the write's transaction, and sends
``NOTIFY rapport_events`` with a small JSON ``{tenant, entity, id, action}`` that PostgreSQL
delivers at commit to the ``<entity>Changed`` subscriptions of every app instance
(:mod:`rapport.graphql.ws`). A rolled-back write sends neither. Events of anonymous writes
(``via="anonymous"``) name no actor and are stored day-coarse, delivered after the day ends.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from rapport.audit.held import ANONYMOUS_VIA
from rapport.db.database import Connection
from rapport.jobs.outbox import enqueue
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind
from rapport.records.change import Change, WriteParticipant

__all__ = ["EVENTS_CHANNEL", "OutboxParticipant"]

EVENTS_CHANNEL = "rapport_events"
_SYSTEM_TIMES = tuple(f.name for f in SYSTEM_FIELDS if f.kind is FieldKind.DATETIME)


class OutboxParticipant(WriteParticipant):
    async def after_write(self, conn: Connection, change: Change) -> None:
        record = change.after if change.after is not None else change.before
        # An anonymous write's event has no actor and no exact time (rapport.audit.held).
        anonymous = change.via == ANONYMOUS_VIA
        public = _public(change.entity, record)
        await enqueue(
            conn,
            tenant_id=change.tenant.id,
            topic=f"entity.{change.action.value}",
            payload={
                "entity": change.entity.id,
                "recordId": change.record_id,
                "action": change.action.value,
                "actor": None if anonymous else change.principal.subject,
                "via": change.via,
                "changedFields": list(change.changed_fields),
                "record": _day_coarse(public) if anonymous else public,
            },
            day_coarse=anonymous,
        )
        notice = {
            "tenant": change.tenant.slug,
            "entity": change.entity.id,
            "id": change.record_id,
            "action": change.action.value,
        }
        await conn.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL, json.dumps(notice))


def _day_coarse(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record with its system times cut to the day (the write's time is not kept)."""
    if record is None:
        return None
    for name in _SYSTEM_TIMES:
        value = record.get(name)
        if isinstance(value, dt.datetime):
            record[name] = value.astimezone(dt.UTC).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
        elif isinstance(value, str):
            record[name] = value[:10] + "T00:00:00+00:00"  # ISO text; the date part is UTC
    return record


def _public(entity: EntityDef, record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The record without its sensitive fields: events leave the platform."""
    if record is None:
        return None
    hidden = {f.graphql_input_name for f in entity.stored_fields if f.sensitive} | {
        f.name for f in entity.stored_fields if f.sensitive
    }
    return {k: v for k, v in record.items() if k not in hidden}
