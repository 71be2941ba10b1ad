"""Audit entries of anonymous writes: held for the day, then appended in random order.

An anonymous write (``via="anonymous"``, rapport_complaints.anonymous) must leave a complete
audit log — every write has its entry — without a timing join: the exact time or the sequence
number of its entry, next to a login entry of the same minute, would name the submitter. So:

- :func:`hold_entry` (called by the AuditParticipant in the write's transaction) stores the
  entry in ``rapport.audit_held`` with no actor, the day of the write and a random id;
- :func:`release_held` (the daily cron job ``audit.release``) appends every entry held on
  a day before today to the log in a random order (``secrets.SystemRandom``), each with
  ``at`` = midnight UTC of its day, in one transaction that also deletes them from the holding
  table. Each tenant's entries of one day get consecutive numbers in that tenant's log after
  whatever it logged before the release, so their numbers say nothing about when, or in which
  order, they were written. The tenant log's hash chain and checkpoints cover them like any
  other entry.

The price: an anonymous write shows in the log the day after it happened.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from typing import Any

from rapport.audit.log import append_entry
from rapport.db.database import Connection, Database
from rapport.jobs.context import CronContext

__all__ = ["ANONYMOUS_VIA", "audit_release_cron", "hold_entry", "release_held"]

ANONYMOUS_VIA = "anonymous"  # the write path whose entries are held (RecordWriter via=)


async def hold_entry(
    conn: Connection,
    *,
    tenant_id: str,
    action: str,
    entity: str | None,
    record_id: str | None,
    data: Mapping[str, Any],
) -> None:
    """Keep one anonymous entry until the day is over (no actor, no time finer than the day)."""
    await conn.execute(
        """
        INSERT INTO rapport.audit_held (day, tenant_id, action, entity, record_id, data)
        VALUES ((now() AT TIME ZONE 'UTC')::date, $1::uuid, $2, $3, $4, $5::text::jsonb)
        """,
        tenant_id,
        action,
        entity,
        record_id,
        json.dumps(dict(data), ensure_ascii=False, sort_keys=True, default=str),
    )


async def release_held(db: Database, *, today: dt.date | None = None) -> int:
    """Append every entry held on a day before ``today`` (UTC) in random order; how many."""
    today = today or dt.datetime.now(dt.UTC).date()
    async with db.transaction() as conn:
        rows = await conn.fetch(
            "DELETE FROM rapport.audit_held WHERE day < $1 "
            "RETURNING day, tenant_id::text AS tenant_id, action, entity, record_id, data",
            today,
        )
        shuffled = list(rows)
        secrets.SystemRandom().shuffle(shuffled)
        # Stable: random within a tenant, tenants in a fixed order so two transactions that
        # append to several logs take the logs' head locks in the same order.
        shuffled.sort(key=lambda row: row["tenant_id"])
        for row in shuffled:
            data = row["data"]
            await append_entry(
                conn,
                tenant_id=row["tenant_id"],
                actor=None,
                action=row["action"],
                entity=row["entity"],
                record_id=row["record_id"],
                data=json.loads(data) if isinstance(data, str) else data,
                at=dt.datetime.combine(row["day"], dt.time(), dt.UTC),
            )
    return len(shuffled)


async def audit_release_cron(ctx: CronContext) -> None:
    """The worker's cron entry (hourly; only the first run after midnight finds entries)."""
    await release_held(ctx.db)
