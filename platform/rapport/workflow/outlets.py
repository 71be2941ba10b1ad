"""Where workflow side effects leave the transaction: the outbox, notifications, the audit log.

Each call writes rows on the caller's connection, so an effect exists exactly when the
transition (or the SLA sweep step) that caused it commits (DESIGN.md D9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rapport.audit.log import append_entry
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.jobs.outbox import enqueue
from rapport.metadata.bundle import TenantMetadata
from rapport.notify import notify
from rapport.records.change import WriteParticipant

__all__ = ["TRANSITION_TOPIC", "audit", "emit", "send_notification"]

TRANSITION_TOPIC = "workflow.transition"  # the webhook fan-out topic of every transition


async def emit(
    conn: Connection,
    *,
    tenant_id: str,
    topic: str,
    payload: Mapping[str, Any],
    dedupe_key: str | None = None,
) -> str:
    return await enqueue(
        conn, tenant_id=tenant_id, topic=topic, payload=payload, dedupe_key=dedupe_key
    )


async def send_notification(
    conn: Connection,
    *,
    tenant_id: str,
    recipients: Sequence[str],
    title: str,
    body: str,
    link: str | None,
    metadata: tuple[Tenant, TenantMetadata] | None = None,
    participants: Sequence[WriteParticipant],
) -> None:
    await notify(
        conn,
        tenant_id=tenant_id,
        recipients=recipients,
        title=title,
        body=body,
        link=link,
        metadata=metadata,
        participants=participants,
    )


async def audit(
    conn: Connection,
    *,
    tenant_id: str,
    actor: str | None,
    action: str,
    entity: str,
    record_id: str,
    data: Mapping[str, Any],
) -> None:
    await append_entry(
        conn,
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity=entity,
        record_id=record_id,
        data=data,
    )
