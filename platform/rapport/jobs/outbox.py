"""The transactional outbox (DESIGN.md D9): side effects written in the business transaction.

:func:`enqueue` inserts a row into ``rapport.outbox`` on the caller's connection, so the side
effect exists exactly when the business change commits. It also sends ``NOTIFY rapport_outbox``
(delivered by PostgreSQL only at commit), which wakes the dispatcher; the dispatcher's periodic
scan finds rows whose notification was missed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rapport.db.tenants import Queryable
from rapport.errors import FieldError, ValidationFailed
from rapport.jobs.topics import TOPICS, is_plugin_topic

__all__ = ["CHANNEL", "OutboxRow", "enqueue", "load_row"]

CHANNEL = "rapport_outbox"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    tenant_id: str
    topic: str
    payload: Mapping[str, Any]
    not_before: datetime | None
    generation: int


async def enqueue(
    conn: Queryable,
    *,
    tenant_id: str,
    topic: str,
    payload: Mapping[str, Any],
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    day_coarse: bool = False,
) -> str:
    """Write one outbox row in the caller's transaction; return its id (the job id).

    With ``dedupe_key``, a second enqueue of the same (tenant, topic, key) returns the first
    row's id and writes nothing. ``not_before`` delays the job (an SLA deadline, a reminder).
    ``day_coarse`` (events of anonymous writes): ``created_at`` is midnight UTC of today and
    the job waits at least until the next midnight, so neither the row's times nor its
    ``dispatched_at`` can be joined with the exact time of the write.
    """
    if topic not in TOPICS and not is_plugin_topic(topic):
        known = ", ".join(sorted(TOPICS))
        raise ValidationFailed(
            [FieldError(("topic",), f"no job handler is registered for topic {topic!r}")],
            hint=f"Use a registered topic ({known}), or add the topic to rapport.jobs.topics "
            "and its handler to its capability (rapport.capability).",
        )
    if not_before is not None and not_before.tzinfo is None:
        raise ValidationFailed(
            [FieldError(("notBefore",), "not_before must be timezone-aware")],
            hint="Pass an aware datetime, e.g. datetime.now(UTC) + timedelta(days=2).",
        )
    created_at: datetime | None = None  # None: the database's now()
    if day_coarse:
        created_at = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        not_before = max(not_before or created_at, created_at + timedelta(days=1))
    body = json.dumps(payload, ensure_ascii=False, default=_json_default)
    row = await conn.fetchrow(
        """
        INSERT INTO rapport.outbox (tenant_id, topic, payload, dedupe_key, not_before, created_at)
        VALUES ($1::uuid, $2, $3::jsonb, $4, $5, coalesce($6::timestamptz, now()))
        ON CONFLICT (tenant_id, topic, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
        RETURNING id::text
        """,
        tenant_id,
        topic,
        body,
        dedupe_key,
        not_before,
        created_at,
    )
    if row is None:  # the dedupe key was used before: that row is the job
        found = await conn.fetchval(
            "SELECT id::text FROM rapport.outbox "
            "WHERE tenant_id = $1::uuid AND topic = $2 AND dedupe_key = $3",
            tenant_id,
            topic,
            dedupe_key,
        )
        return str(found)
    outbox_id = str(row["id"])
    if not_before is None or not_before <= datetime.now(UTC):
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, outbox_id)
    return outbox_id


async def load_row(conn: Queryable, outbox_id: str) -> OutboxRow | None:
    row = await conn.fetchrow(
        "SELECT id::text AS id, tenant_id::text AS tenant_id, topic, payload, not_before, "
        "generation FROM rapport.outbox WHERE id = $1::uuid",
        outbox_id,
    )
    if row is None:
        return None
    payload = row["payload"]
    return OutboxRow(
        id=row["id"],
        tenant_id=row["tenant_id"],
        topic=row["topic"],
        payload=json.loads(payload) if isinstance(payload, str) else payload,
        not_before=row["not_before"],
        generation=row["generation"],
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # Decimal, UUID, date: their text form is what a receiver expects
