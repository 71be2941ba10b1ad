"""Audit entries for identity events, appended in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.audit.log import append_entry
from rapport.db.database import Connection

__all__ = ["audit"]


async def audit(
    conn: Connection,
    *,
    tenant_id: str | None,
    actor: str | None,
    action: str,
    record_id: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """One ``auth.*`` / ``user.*`` / ``apikey.*`` entry; never carries secrets or passwords."""
    await append_entry(
        conn, tenant_id=tenant_id, actor=actor, action=action, record_id=record_id, data=data
    )
