"""Publishing: one receipt per recipient of a revision, and the recipients notified.

Receipts are written through the RecordWriter as the system principal ``system:announcements``
(their workflow arms the reminder timers), and the notification goes through the notify layer,
so every channel and preference it offers applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.metadata.bundle import TenantMetadata
from rapport.naming import qualified
from rapport.notify import notify
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter
from rapport.workflow.calendar import add_working_days
from rapport.workflow.document import Calendar
from rapport_announcements.audience import Recipient

__all__ = ["RECEIPT", "SUBJECT", "create_receipts", "previous_recipients"]

RECEIPT = "announcements/announcement_receipt"
SUBJECT = "system:announcements"
_PREVIEW = 200  # characters of the body in the notification


async def create_receipts(
    conn: Connection,
    tenant: Tenant,
    metadata: TenantMetadata,
    announcement: Mapping[str, Any],
    recipients: Sequence[Recipient],
    *,
    now: dt.datetime,
    updated: bool = False,
) -> None:
    workflow = metadata.workflows.for_entity(RECEIPT)
    calendar = workflow.calendar if workflow is not None else Calendar.CN
    remind = add_working_days(now, int(announcement.get("remindAfterDays") or 3), calendar)
    acknowledge_by = remind.isoformat() if announcement.get("mustAcknowledge") else None
    inputs = [
        {
            "announcementId": announcement["id"],
            "revision": int(announcement["revision"]),
            "employeeId": r.employee_id,
            "userId": r.user_id,
            "departmentId": r.department_id,
            "remindAt": remind.isoformat(),
            "acknowledgeBy": acknowledge_by,
        }
        for r in recipients
    ]
    writer = RecordWriter(
        tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    principal = Principal(tenant=tenant.slug, subject=SUBJECT, roles=frozenset({ADMIN_ROLE}))
    await writer.create_many(
        conn,
        metadata.model.entity(RECEIPT),
        [{k: v for k, v in i.items() if v is not None} for i in inputs],
        principal=principal,
        paths=[("recipients", n) for n in range(len(inputs))],
        via="announcements",
    )
    prefix = "公告更新 / Updated" if updated else "公告 / Announcement"
    await notify(
        conn,
        tenant_id=tenant.id,
        recipients=[r.user_id for r in recipients],
        title=f"{prefix}: {announcement['title']}"[:200],
        body=str(announcement.get("body") or "")[:_PREVIEW],
        link=f"announcements/{announcement['id']}",
        metadata=(tenant, metadata),
        participants=KERNEL.participants,
    )


async def previous_recipients(
    conn: Connection, tenant: Tenant, announcement_id: str, revision: int
) -> list[Recipient]:
    """The stored audience of ``revision``: a new revision goes to the same people."""
    rows = await conn.fetch(
        f"SELECT employee_id::text AS employee_id, user_id, department_id::text AS department_id "
        f"FROM {qualified(tenant.schema, 'announcements_announcement_receipt')} "
        "WHERE announcement_id = $1::uuid AND revision = $2 ORDER BY employee_id",
        announcement_id,
        revision,
    )
    return [Recipient(r["employee_id"], r["user_id"], r["department_id"]) for r in rows]
