"""Transition history: an append-only log per record (who, when, from, to, comment)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport.db.tenants import Queryable

__all__ = ["HistoryEntry", "append_history", "read_history"]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    transition: str | None
    from_state: str | None
    to_state: str
    actor: str | None
    comment: str | None
    at: dt.datetime
    data: Mapping[str, Any]


async def append_history(
    db: Queryable,
    *,
    tenant_id: str,
    entity: str,
    record_id: str,
    workflow: str,
    transition: str | None,
    from_state: str | None,
    to_state: str,
    actor: str | None,
    comment: str | None,
    at: dt.datetime,
    data: Mapping[str, Any] | None = None,
) -> None:
    await db.execute(
        """
        INSERT INTO rapport.workflow_history
            (tenant_id, entity, record_id, workflow, transition, from_state, to_state, actor,
             comment, data, at)
        VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
        """,
        tenant_id,
        entity,
        record_id,
        workflow,
        transition,
        from_state,
        to_state,
        actor,
        comment,
        json.dumps(dict(data or {}), default=str),
        at,
    )


async def read_history(db: Queryable, *, tenant_id: str, record_id: str) -> list[HistoryEntry]:
    rows = await db.fetch(
        """
        SELECT transition, from_state, to_state, actor, comment, at, data
        FROM rapport.workflow_history
        WHERE tenant_id = $1::uuid AND record_id = $2::uuid ORDER BY id
        """,
        tenant_id,
        record_id,
    )
    return [
        HistoryEntry(
            r["transition"],
            r["from_state"],
            r["to_state"],
            r["actor"],
            r["comment"],
            r["at"],
            json.loads(r["data"]),
        )
        for r in rows
    ]
