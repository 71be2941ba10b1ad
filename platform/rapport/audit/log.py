"""Appending to the audit log: one entry, in the caller's transaction.

Ordering. Every append locks the single row of ``rapport.audit_head`` (``UPDATE … RETURNING``)
and holds that lock until its transaction ends. So appends are serialized catalog-wide:
sequence order is commit order, a rolled-back transaction gives its number back (no gaps), and
the previous leaf hash and the Merkle frontier come from that row instead of a scan. The cost:
two audited transactions cannot commit concurrently once both have appended — the lock is held
from the append (the last statement of a write, see ``AuditParticipant``) to the commit.
Measured throughput is in the report; a sequence object would allow concurrency but gives gaps
and an order that differs from commit order, which a Merkle tree cannot tolerate.

Time comes from the database's ``clock_timestamp()`` taken under the lock, so time never runs
backwards along the sequence — except for entries given their own ``at``: the anonymous
entries released once a day by :mod:`rapport.audit.held` carry the day of their write.

Per-tenant numbering. A tenant's entry also gets ``tenant_seq``, the next number of that
tenant's row in ``rapport.audit_tenant_heads`` (locked in the same transaction): its audit admin
sees 1, 2, 3… with no gap where another tenant's event was logged. Platform entries (no tenant)
have none. The hash chain and the Merkle tree still run over the catalog-wide ``seq``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rapport.audit.canonical import Entry, plain
from rapport.audit.checkpoints import CheckpointSigner, default_signer, write_checkpoint
from rapport.audit.merkle import extend_frontier, frontier_root
from rapport.db.database import Connection

__all__ = ["append_entry"]

_HEAD = """
UPDATE rapport.audit_head SET seq = seq + 1
WHERE singleton
RETURNING seq, leaf_hash, frontier, date_trunc('microseconds', clock_timestamp()) AS at
"""

# One round trip: the tenant's next number, the entry, and the head's new hash and frontier
# (the head row is locked; the tenant's head row is locked by the upsert).
_INSERT = """
WITH tenant_head AS (
    INSERT INTO rapport.audit_tenant_heads AS h (tenant_id, seq)
    SELECT $3::uuid, 1 WHERE $3::uuid IS NOT NULL
    ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + 1
    RETURNING seq
), entry AS (
    INSERT INTO rapport.audit_entries
        (seq, at, tenant_id, actor, action, entity, record_id, data, prev_hash, leaf_hash,
         tenant_seq)
    VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, $8::text::jsonb, $9, $10,
            (SELECT seq FROM tenant_head))
)
UPDATE rapport.audit_head SET leaf_hash = $10, frontier = $11 WHERE singleton
"""


async def append_entry(
    conn: Connection,
    *,
    tenant_id: str | None,
    actor: str | None,
    action: str,
    entity: str | None = None,
    record_id: str | None = None,
    data: Mapping[str, Any] | None = None,
    signer: CheckpointSigner | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry in the caller's transaction; its sequence number.

    When the new size is a multiple of the signer's interval (RAPPORT_AUDIT_CHECKPOINT_INTERVAL),
    a signed checkpoint is written in the same transaction. ``signer`` defaults to the one
    built from the process settings. ``at`` (aware) replaces the clock time (held anonymous
    entries: their day).
    """
    head = await conn.fetchrow(_HEAD)
    if head is None:
        raise RuntimeError("rapport.audit_head is missing: run the catalog migrations")
    entry = Entry(
        seq=int(head["seq"]),
        at=(head["at"] if at is None else at).astimezone(UTC),
        tenant_id=None if tenant_id is None else str(tenant_id),
        actor=actor,
        action=action,
        entity=entity,
        record_id=None if record_id is None else str(record_id),
        data=plain(dict(data or {})),
        prev_hash=bytes(head["leaf_hash"]),
    )
    leaf = entry.leaf_hash()
    frontier = extend_frontier([bytes(f) for f in head["frontier"]], entry.seq - 1, leaf)
    await conn.execute(
        _INSERT,
        entry.seq,
        entry.at,
        entry.tenant_id,
        entry.actor,
        entry.action,
        entry.entity,
        entry.record_id,
        _json(entry.data),
        entry.prev_hash,
        leaf,
        frontier,
    )
    signer = signer or default_signer()
    if entry.seq % signer.interval == 0:
        await write_checkpoint(conn, signer, size=entry.seq, root=frontier_root(frontier))
    return entry.seq


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
