"""In-app notifications: records of the kernel entity ``core/notification``.

:func:`notify` is what workflows, SLA sweeps and plug-ins call inside their transaction. It
writes one notification record per recipient through the tenant's :class:`RecordWriter` (as
the system principal, so audit and outbox events see it like any write), and one outbox row per
other channel, sent after commit by the worker: ``notify.email``, ``notify.app`` (WeCom and
DingTalk app messages to the users mapped to platform accounts, :mod:`rapport.notify.app_delivery`)
and, when asked for by name, ``notification.created`` for the group robots. Which channels each
recipient gets is decided by :mod:`rapport.notify.preferences`.

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
from rapport.notify.app_delivery import APP_CHANNELS, APP_TOPIC
from rapport.notify.preferences import CHANNELS, ROLE_PREFIX, Routing, route
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import WriteParticipant
from rapport.records.writer import RecordWriter

__all__ = ["CHANNELS", "ENTITY", "ROLE_PREFIX", "notify", "system_principal"]

ENTITY = "core/notification"
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
    channels: Sequence[str] | None = None,
    metadata: tuple[Tenant, TenantMetadata] | None = None,
    participants: Sequence[WriteParticipant],
) -> None:
    """Notify ``recipients``, in the caller's transaction.

    ``channels=None``: in-app plus the channels each recipient prefers (else the tenant
    default); explicit channels are a ceiling that preferences narrow
    (:mod:`rapport.notify.preferences`). ``metadata`` (the tenant and its compiled metadata)
    saves loading them when the caller has them, e.g. a write participant. ``participants``
    are the kernel's: in-app notifications are records written like any other.
    """
    targets = list(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if not targets:
        raise ValidationFailed(
            [FieldError(("recipients",), "no recipient")],
            hint="Name at least one user id or role:<name>.",
        )
    routing = await route(conn, tenant_id, targets, channels)
    if routing.in_app:
        tenant, compiled = metadata or await _load(conn, tenant_id)
        writer = RecordWriter(tenant, compiled, participants=participants, sealers=KeyRingSealers())
        entity = compiled.model.entity(ENTITY)
        inputs = [
            {"recipient": r, "title": title, "body": body, "link": link} for r in routing.in_app
        ]
        await writer.create_many(
            conn,
            entity,
            inputs,
            principal=system_principal(tenant),
            paths=[("recipients", i) for i in range(len(inputs))],
            via="notify",
        )
    message = {"title": title, "body": body, "link": link}
    if routing.on("email"):
        await enqueue(
            conn,
            tenant_id=tenant_id,
            topic="notify.email",
            payload={"recipients": list(routing.on("email")), **message},
        )
    await _enqueue_app_messages(conn, tenant_id, routing, message)
    # Group robots post to a shared chat: only when the caller asked for them by name.
    robots = [c for c in ("wecom", "dingtalk") if channels is not None and c in channels]
    if robots:
        await enqueue(
            conn,
            tenant_id=tenant_id,
            topic="notification.created",
            payload={"recipients": targets, **message, "formats": robots},
        )


async def _enqueue_app_messages(
    conn: Connection, tenant_id: str, routing: Routing, message: dict[str, str | None]
) -> None:
    """One ``notify.app`` job per platform the tenant has an app on and someone receives on."""
    wanted = [p for p in APP_CHANNELS if routing.on(p)]
    if not wanted:
        return
    configured = await conn.fetch(
        "SELECT platform FROM rapport.im_apps WHERE tenant_id = $1::uuid "
        "AND platform = ANY($2::text[]) ORDER BY platform",
        tenant_id,
        wanted,
    )
    for row in configured:
        users = list(routing.on(row["platform"]))
        await enqueue(
            conn,
            tenant_id=tenant_id,
            topic=APP_TOPIC,
            payload={"platform": row["platform"], "users": users, **message},
        )


async def _load(conn: Connection, tenant_id: str) -> tuple[Tenant, TenantMetadata]:
    slug = await conn.fetchval("SELECT slug FROM rapport.tenants WHERE id = $1::uuid", tenant_id)
    if slug is None:
        raise ValidationFailed(
            [FieldError(("tenantId",), f"there is no tenant with id {tenant_id}")],
            hint="Pass the id of an existing tenant (rapport.tenants.id).",
        )
    return await load_published(conn, slug)
