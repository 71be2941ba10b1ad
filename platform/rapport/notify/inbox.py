"""In-app notifications: records of the kernel entity ``core/notification``.

:func:`notify` is what workflows, SLA sweeps and plug-ins call inside their transaction. It
writes one notification record per recipient through the tenant's :class:`RecordWriter` (as
the system principal, so audit and outbox events see it like any write), and one outbox row per
other channel ("email", "wecom", "dingtalk"), sent after commit by the worker.

A recipient is a user id, or ``role:<name>``: the notification then reaches every user whose
token carries that role (``myNotifications`` matches the caller's roles); until a user
directory exists, such a notification is one record, read by the first who marks it read.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.errors import FieldError, ValidationFailed
from rapport.jobs.outbox import enqueue
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.lifecycle import load_published
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import WriteParticipant
from rapport.records.writer import RecordWriter

__all__ = ["CHANNELS", "ENTITY", "ROLE_PREFIX", "notify", "system_principal"]

ENTITY = "core/notification"
ROLE_PREFIX = "role:"
CHANNELS = frozenset({"in_app", "email", "wecom", "dingtalk"})
SYSTEM_SUBJECT = "system:notify"


def system_principal(tenant: Tenant) -> Principal:
    """Who notifications are written as: the platform itself, inside the tenant."""
    return Principal(tenant=tenant.slug, subject=SYSTEM_SUBJECT, roles=frozenset({ADMIN_ROLE}))


async def notify(
    conn: Connection,
    *,
    tenant_id: str,
    recipients: Sequence[str],
    title: str,
    body: str,
    link: str | None = None,
    channels: Sequence[str] = ("in_app",),
    metadata: tuple[Tenant, TenantMetadata] | None = None,
    participants: Sequence[WriteParticipant],
) -> None:
    """Notify ``recipients`` on ``channels``, in the caller's transaction.

    ``metadata`` (the tenant and its compiled metadata) saves loading them when the caller has
    them, e.g. a write participant. ``participants`` are the kernel's: in-app notifications are
    records written like any other.
    """
    unknown = sorted(set(channels) - CHANNELS)
    if unknown:
        raise ValidationFailed(
            [FieldError(("channels",), f"unknown channel(s): {', '.join(unknown)}")],
            hint=f"Use some of: {', '.join(sorted(CHANNELS))}.",
        )
    targets = list(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if not targets:
        raise ValidationFailed(
            [FieldError(("recipients",), "no recipient")],
            hint="Name at least one user id or role:<name>.",
        )
    if "in_app" in channels:
        tenant, compiled = metadata or await _load(conn, tenant_id)
        writer = RecordWriter(tenant, compiled, participants=participants, sealers=KeyRingSealers())
        entity = compiled.model.entity(ENTITY)
        inputs = [{"recipient": r, "title": title, "body": body, "link": link} for r in targets]
        await writer.create_many(
            conn,
            entity,
            inputs,
            principal=system_principal(tenant),
            paths=[("recipients", i) for i in range(len(inputs))],
            via="notify",
        )
    message = {"recipients": targets, "title": title, "body": body, "link": link}
    if "email" in channels:
        await enqueue(conn, tenant_id=tenant_id, topic="notify.email", payload=message)
    robots = [c for c in ("wecom", "dingtalk") if c in channels]
    if robots:
        await enqueue(
            conn,
            tenant_id=tenant_id,
            topic="notification.created",
            payload={**message, "formats": robots},
        )


async def _load(conn: Connection, tenant_id: str) -> tuple[Tenant, TenantMetadata]:
    slug = await conn.fetchval("SELECT slug FROM rapport.tenants WHERE id = $1::uuid", tenant_id)
    if slug is None:
        raise ValidationFailed(
            [FieldError(("tenantId",), f"there is no tenant with id {tenant_id}")],
            hint="Pass the id of an existing tenant (rapport.tenants.id).",
        )
    return await load_published(conn, slug)
