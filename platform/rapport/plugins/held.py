"""Anonymous records held back, then written in shuffled batches (no transaction join).

:func:`rapport.plugins.anonymity.create_anonymous` keeps no author on a record, but a plug-in
that writes an anonymous record *and* a named one in the same transaction — a survey response
and the respondent's participation ("answered") — leaves a join anyway: rows written by one
transaction share ``xmin``, consecutive transactions have consecutive ids, and the two rows sit
next to each other on disk and in every log. So the anonymous record is not written there:

- :func:`hold_anonymous` (in the named transaction) stores only the record's input in
  ``rapport.anonymous_held`` under a *batch* (e.g. one survey wave), with the batch's
  ``minimum`` and ``release_by`` (the same for every row of the batch: nothing of the author);
- :func:`release_anonymous` (the cron job ``anonymity.release``, hourly) writes every batch
  that holds at least ``minimum`` inputs, or whose ``release_by`` has passed, through the
  tenant's RecordWriter with :func:`create_anonymous` in a random order
  (``secrets.SystemRandom``), in one transaction per batch that also deletes the held rows.

Every record of a batch then shares the release's ``xmin``, day-coarse times and an audit entry
held for the day (rapport.audit.held): what joins a record to its author is only "one of the
people who answered since the last release", at least ``minimum`` of them until the batch's
deadline. The input is validated by the RecordWriter when it is released; a plug-in validates
it before holding (so a bad answer is refused to the person who gave it).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection, Database
from rapport.jobs.context import CronContext
from rapport.metadata.ir import EntityDef
from rapport.metadata.lifecycle import load_published
from rapport.plugins.anonymity import create_anonymous
from rapport.records.change import WriteParticipant
from rapport.records.writer import RecordWriter

__all__ = [
    "anonymity_release_cron",
    "held_count",
    "hold_anonymous",
    "release_anonymous",
    "release_now",
]


async def hold_anonymous(
    conn: Connection,
    writer: RecordWriter,
    entity: EntityDef,
    input: Mapping[str, Any],
    *,
    batch: str,
    minimum: int,
    release_by: dt.datetime,
) -> None:
    """Hold ``input`` of an anonymous ``entity`` record until its batch is released."""
    await conn.execute(
        "INSERT INTO rapport.anonymous_held (tenant_id, entity, batch, minimum, release_by, input)"
        " VALUES ($1::uuid, $2, $3, $4, $5, $6::text::jsonb)",
        writer.tenant.id,
        entity.id,
        batch,
        max(1, minimum),
        release_by,
        json.dumps(dict(input), ensure_ascii=False, sort_keys=True, default=str),
    )


async def held_count(conn: Connection, tenant_id: str, entity: str, batch: str) -> int:
    """How many inputs of ``batch`` wait (a plug-in shows "n answers not yet released")."""
    found: int = await conn.fetchval(
        "SELECT count(*) FROM rapport.anonymous_held"
        " WHERE tenant_id = $1::uuid AND entity = $2 AND batch = $3",
        tenant_id,
        entity,
        batch,
    )
    return found


async def release_now(conn: Connection, tenant_id: str, entity: str, batch: str) -> None:
    """Let ``batch`` go out at the next release whatever its size (e.g. its wave closed early:
    no one can join it any more, so waiting for more answers would only delay them)."""
    await conn.execute(
        "UPDATE rapport.anonymous_held SET release_by = least(release_by, now())"
        " WHERE tenant_id = $1::uuid AND entity = $2 AND batch = $3",
        tenant_id,
        entity,
        batch,
    )


async def release_anonymous(
    db: Database,
    *,
    participants: Sequence[WriteParticipant],
    now: dt.datetime | None = None,
    sealers: KeyRingSealers | None = None,
) -> int:
    """Write every releasable batch (full, or past its deadline); how many records."""
    now = now or dt.datetime.now(dt.UTC)
    due = await db.fetch(
        """
        SELECT h.tenant_id::text AS tenant_id, t.slug, h.entity, h.batch
        FROM rapport.anonymous_held AS h JOIN rapport.tenants AS t ON t.id = h.tenant_id
        GROUP BY h.tenant_id, t.slug, h.entity, h.batch
        HAVING count(*) >= min(h.minimum) OR min(h.release_by) <= $1
        ORDER BY h.tenant_id, h.entity, h.batch
        """,
        now,
    )
    released = 0
    failed: list[Exception] = []
    for group in due:
        # One batch the writer refuses (an entity changed under held inputs) must not hold up
        # the others: it stays held, and the first failure is raised once all were tried.
        try:
            released += await _release_batch(
                db, group["slug"], group["entity"], group["batch"], participants, sealers, now
            )
        except Exception as error:
            failed.append(error)
    if failed:
        raise failed[0]
    return released


async def _release_batch(
    db: Database,
    slug: str,
    entity_id: str,
    batch: str,
    participants: Sequence[WriteParticipant],
    sealers: KeyRingSealers | None,
    now: dt.datetime,
) -> int:
    tenant, metadata = await load_published(db, slug)
    if not metadata.model.has_entity(entity_id):
        return 0  # the plug-in was uninstalled: the inputs wait rather than being lost
    writer = RecordWriter(
        tenant, metadata, participants=tuple(participants), sealers=sealers or KeyRingSealers()
    )
    entity = metadata.model.entity(entity_id)
    try:
        return await _write_batch(db, writer, entity, batch, now)
    except _NothingToRelease:
        return 0


async def _write_batch(
    db: Database, writer: RecordWriter, entity: EntityDef, batch: str, now: dt.datetime
) -> int:
    async with db.transaction() as conn:
        rows = await conn.fetch(
            "DELETE FROM rapport.anonymous_held AS h WHERE h.id IN ("
            " SELECT id FROM rapport.anonymous_held"
            " WHERE tenant_id = $1::uuid AND entity = $2 AND batch = $3 FOR UPDATE SKIP LOCKED)"
            " RETURNING h.input, h.minimum, h.release_by",
            writer.tenant.id,
            entity.id,
            batch,
        )
        # Re-checked under the lock: another worker may have taken part of the batch.
        if not rows or (
            len(rows) < min(r["minimum"] for r in rows) and min(r["release_by"] for r in rows) > now
        ):
            raise _NothingToRelease
        inputs = [
            json.loads(r["input"]) if isinstance(r["input"], str) else r["input"] for r in rows
        ]
        secrets.SystemRandom().shuffle(inputs)
        for input in inputs:
            await create_anonymous(conn, writer, entity, input)
    return len(inputs)


class _NothingToRelease(Exception):
    """Rolls the batch's transaction back (its rows stay held)."""


async def anonymity_release_cron(ctx: CronContext) -> None:
    """The worker's cron entry (hourly)."""
    await release_anonymous(ctx.db, participants=ctx.participants)
