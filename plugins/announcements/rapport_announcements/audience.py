"""An announcement's audience -> its recipients: the members of the audience as the org plug-in
resolves it (:func:`rapport_org.audience.resolve_audience`, one SQL statement) — employees who
can sign in and have not left, since a receipt is for someone who can read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport_org.audience import resolve_audience as members_of

from rapport.db.database import Connection
from rapport.db.tenants import Tenant

__all__ = ["Recipient", "resolve_audience"]


@dataclass(frozen=True, slots=True)
class Recipient:
    employee_id: str
    user_id: str
    department_id: str | None


async def resolve_audience(
    conn: Connection, tenant: Tenant, audience: Mapping[str, Any] | None
) -> list[Recipient]:
    return [
        Recipient(m.employee_id, m.user_id, m.department_id)
        for m in await members_of(conn, tenant, audience)
    ]
