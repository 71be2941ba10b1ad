"""Re-chaining the logs migration 0011 marked ``legacy``: one chain and tree per tenant.

Before 0011 the whole catalog had one hash chain over a catalog-wide ``seq``; 0011 numbered
every entry in its own tenant's log (or the operator log) and marked each log's head
``legacy``. This start-up step (the app and ``rapport audit`` run it after the catalog
migrations) recomputes each legacy log's hashes in its entries' old order, signs a
checkpoint at every multiple of the checkpoint interval and at the log's end, and clears the
mark — all in one transaction, so a failure leaves every log as it was. The old chain's hashes
and checkpoints stay in ``audit_v1_hashes`` / ``audit_v1_checkpoints``.

Re-chaining must not launder damage: before anything is rewritten, every entry of the old
chain is checked against its old hash and link (the old canonical form: ``seq`` was the
catalog-wide number). A damaged old chain is refused, naming its first bad entry, and nothing
changes.

Rewriting hashes is the one change ever made to logged rows: it needs the append-only triggers
off, so it takes the tables' exclusive lock (appends wait; this happens once). Entries appended
to a legacy log after the migration (e.g. by a worker started first) are re-chained with it.
"""

from __future__ import annotations

from rapport.audit.canonical import stored_entry
from rapport.audit.checkpoints import CheckpointSigner, write_checkpoint
from rapport.audit.logs import LogId, log_where
from rapport.audit.merkle import extend_frontier, frontier_root
from rapport.db.database import Connection, Database
from rapport.errors import RapportError

__all__ = ["rechain_legacy_logs"]

_ZERO = bytes(32)
_TRIGGERS = (
    ("audit_entries", "audit_entries_append_only"),
    ("audit_checkpoints", "audit_checkpoints_append_only"),
)


async def rechain_legacy_logs(db: Database, signer: CheckpointSigner) -> int:
    """Re-chain and re-sign every legacy log; how many (0 once done: cheap to call always)."""
    if not await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM rapport.audit_tenant_heads WHERE legacy)"
    ):
        return 0
    async with db.transaction() as conn:
        for table, trigger in _TRIGGERS:
            await conn.execute(f"ALTER TABLE rapport.{table} DISABLE TRIGGER {trigger}")
        logs = await conn.fetch(
            "SELECT tenant_id::text AS tenant_id FROM rapport.audit_tenant_heads WHERE legacy "
            "ORDER BY tenant_id NULLS FIRST FOR UPDATE"
        )
        await _check_old_chain(conn)
        for log in logs:
            await _rechain(conn, signer, log["tenant_id"])
        for table, trigger in _TRIGGERS:
            await conn.execute(f"ALTER TABLE rapport.{table} ENABLE TRIGGER {trigger}")
    return len(logs)


async def _check_old_chain(conn: Connection) -> None:
    rows = await conn.fetch(
        "SELECT e.*, v.prev_hash AS old_prev, v.leaf_hash AS old_leaf "
        "FROM rapport.audit_v1_hashes v LEFT JOIN rapport.audit_entries e USING (seq) "
        "ORDER BY v.seq"
    )
    link = _ZERO
    for expected, row in enumerate(rows, start=1):
        if row["seq"] != expected or row["action"] is None:
            damage = "is missing"
        elif bytes(row["old_prev"]) != link or stored_entry(
            row, seq=expected, prev=link
        ).leaf_hash() != bytes(row["old_leaf"]):
            damage = "no longer matches its hash"
        else:
            link = bytes(row["old_leaf"])
            continue
        raise RapportError(
            f"The catalog-wide audit log (before migration 0011) is damaged: entry {expected} "
            f"{damage}; it was not re-chained, nothing was changed.",
            hint="Restore rapport.audit_entries from a backup taken before the damage, then "
            "start again; re-chaining a damaged log would hide the damage.",
        )


async def _rechain(conn: Connection, signer: CheckpointSigner, tenant_id: LogId) -> None:
    where = log_where(tenant_id)
    rows = await conn.fetch(
        f"SELECT * FROM rapport.audit_entries WHERE {where} ORDER BY tenant_seq", tenant_id
    )
    await conn.execute(f"DELETE FROM rapport.audit_checkpoints WHERE {where}", tenant_id)
    prev, frontier = _ZERO, list[bytes]()
    updates: list[tuple[int, bytes, bytes]] = []
    for number, row in enumerate(rows, start=1):
        if row["tenant_seq"] != number:
            raise RuntimeError(
                f"audit log of {tenant_id}: entry {number} is missing; not re-chained"
            )
        leaf = stored_entry(row, seq=number, prev=prev).leaf_hash()
        frontier = extend_frontier(frontier, number - 1, leaf)
        updates.append((int(row["seq"]), prev, leaf))
        if number % signer.interval == 0 or number == len(rows):
            await write_checkpoint(
                conn, signer, tenant_id, size=number, root=frontier_root(frontier)
            )
        prev = leaf
    await conn.executemany(
        "UPDATE rapport.audit_entries SET prev_hash = $2, leaf_hash = $3 WHERE seq = $1", updates
    )
    await conn.execute(
        f"UPDATE rapport.audit_tenant_heads SET seq = $2, leaf_hash = $3, frontier = $4, "
        f"legacy = false WHERE {where}",
        tenant_id,
        len(rows),
        prev,
        frontier,
    )
