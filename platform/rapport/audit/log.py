"""Appending to the audit log: one entry, in the caller's transaction, to its tenant's log.

Logs. Every tenant has its own log — hash chain, RFC 6962 Merkle tree, signed checkpoints —
and catalog-level events without a tenant (operator acts) have one more, the operator log
(``tenant_id`` NULL). An entry's number (``tenant_seq``) is its place in its log, 1, 2, 3…; its
hash covers that number and the tenant (rapport.audit.canonical). ``seq`` is only the row's
storage id (a sequence: insertion order, gaps possible, never hashed nor shown to tenants).

Ordering. Every append locks its log's row of ``rapport.audit_tenant_heads`` (an upsert, so a
log's first entry creates it) and holds that lock until its transaction ends. So appends to
one log are serialized: number order is commit order, a rolled-back transaction gives its
number back (no gaps), and the previous leaf hash and the Merkle frontier come from that row
instead of a scan. Appends to different logs share no lock: tenants commit concurrently.

Time comes from the database's ``clock_timestamp()`` taken under the lock, so time never runs
backwards along a log — except for entries given their own ``at``: the anonymous entries
released once a day by :mod:`rapport.audit.held` carry the day of their write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rapport.audit.canonical import Entry, plain
from rapport.audit.checkpoints import CheckpointSigner, default_signer, write_checkpoint
from rapport.audit.logs import log_where
from rapport.audit.merkle import extend_frontier, frontier_root
from rapport.db.database import Connection

__all__ = ["append_entry"]

_HEAD = """
INSERT INTO rapport.audit_tenant_heads AS h (tenant_id, seq) VALUES ($1::uuid, 1)
ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + 1
RETURNING seq, leaf_hash, frontier, legacy, date_trunc('microseconds', clock_timestamp()) AS at
"""

# One round trip: the entry, and its log head's new hash and frontier (locked by _HEAD).
_INSERT = """
WITH entry AS (
    INSERT INTO rapport.audit_entries
        (tenant_seq, at, tenant_id, actor, action, entity, record_id, data, prev_hash, leaf_hash)
    VALUES ($2, $3, $1::uuid, $4, $5, $6, $7, $8::text::jsonb, $9, $10)
)
UPDATE rapport.audit_tenant_heads SET leaf_hash = $10, frontier = $11 WHERE {log}
"""
_INSERT_TENANT = _INSERT.format(log=log_where("tenant"))
_INSERT_OPERATOR = _INSERT.format(log=log_where(None))


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
    """Append one entry to ``tenant_id``'s log (None: the operator log) in the caller's
    transaction; its number in that log.

    When the log's new size is a multiple of the signer's interval
    (RAPPORT_AUDIT_CHECKPOINT_INTERVAL), a signed checkpoint of that log is written in the same
    transaction. ``signer`` defaults to the one
    built from the process settings. ``at`` (aware) replaces the clock time (held anonymous
    entries: their day).
    """
    tenant_id = None if tenant_id is None else str(tenant_id)
    head = await conn.fetchrow(_HEAD, tenant_id)
    assert head is not None  # an upsert always returns its row
    entry = Entry(
        seq=int(head["seq"]),
        at=(head["at"] if at is None else at).astimezone(UTC),
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity=entity,
        record_id=None if record_id is None else str(record_id),
        data=plain(dict(data or {})),
        prev_hash=bytes(head["leaf_hash"]),
    )
    leaf = entry.leaf_hash()
    # A log not yet re-chained since migration 0011 has no frontier: rapport.audit.rechain
    # recomputes its hashes and checkpoints, this entry's included.
    legacy = bool(head["legacy"])
    frontier = (
        [] if legacy else extend_frontier([bytes(f) for f in head["frontier"]], entry.seq - 1, leaf)
    )
    await conn.execute(
        _INSERT_OPERATOR if tenant_id is None else _INSERT_TENANT,
        entry.tenant_id,
        entry.seq,
        entry.at,
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
    if entry.seq % signer.interval == 0 and not legacy:
        await write_checkpoint(
            conn, signer, tenant_id, size=entry.seq, root=frontier_root(frontier)
        )
    return entry.seq


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
