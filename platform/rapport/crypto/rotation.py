"""Key rotation without downtime: re-wrap data keys, or rotate a tenant's data key.

- ``rewrap``: the data keys stay, their wrapping changes to the current master key (after an
  operator set a new RAPPORT_MASTER_KEY and listed the old one in RAPPORT_MASTER_KEYS_PREVIOUS).
  One short transaction per tenant; values are untouched.
- ``reencrypt``: a new data key becomes active (older ones ``retiring``: they still decrypt),
  then every sealed value is opened and sealed again with the new key in batches of
  ``batch_size`` rows, one transaction per batch with ``FOR UPDATE SKIP LOCKED`` — readers never
  wait and see either version, writers are delayed by one batch at most. When no value uses an
  old key, the old keys become ``retired`` (kept, never deleted: audit hashes derive from key 1).
  Record versions and ``updatedAt`` do not change: the business data did not. The catalog's
  sealed values the caller names (:class:`SealedColumn`: TOTP secrets, WeCom/DingTalk app
  secrets and access tokens) are re-sealed the same way.

Each rotation appends ``keys.rotate`` audit entries (start and end of a re-encryption).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapport.audit.log import append_entry
from rapport.crypto.cipher import Sealed, key_id_of
from rapport.crypto.fields import FieldSealer, open_value
from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.metadata.ir import EntityDef, Model
from rapport.naming import qualified, quote_ident

__all__ = ["Reencrypted", "SealedColumn", "reencrypt", "rewrap"]


async def rewrap(db: Database, keyring: KeyRing, tenant: Tenant, *, actor: str) -> int:
    """Re-wrap the tenant's data keys under the current master key; how many changed."""
    async with db.transaction() as conn:
        rows = await conn.fetch(
            "SELECT key_id, master_key_id, wrapped FROM rapport.tenant_keys "
            "WHERE tenant_id = $1::uuid AND master_key_id <> $2 ORDER BY key_id FOR UPDATE",
            tenant.id,
            keyring.current_master,
        )
        for row in rows:
            key = keyring.unwrap(
                tenant.id, row["key_id"], row["master_key_id"], bytes(row["wrapped"])
            )
            master_id, wrapped = keyring.wrap(tenant.id, row["key_id"], key)
            await conn.execute(
                "UPDATE rapport.tenant_keys SET master_key_id = $3, wrapped = $4 "
                "WHERE tenant_id = $1::uuid AND key_id = $2",
                tenant.id,
                row["key_id"],
                master_id,
                wrapped,
            )
        await append_entry(
            conn,
            tenant_id=tenant.id,
            actor=actor,
            action="keys.rotate",
            data={"mode": "rewrap", "keys": len(rows), "master": keyring.current_master},
        )
    return len(rows)


@dataclass(frozen=True, slots=True)
class Reencrypted:
    key_id: int
    values: int
    batches: int


async def reencrypt(
    db: Database,
    keyring: KeyRing,
    tenant: Tenant,
    model: Model,
    *,
    actor: str,
    batch_size: int = 500,
    on_batch: Callable[[int], object] | None = None,
    catalog: Sequence[SealedColumn] = (),
) -> Reencrypted:
    """Rotate the tenant's data key and re-seal every sensitive value with it: the sensitive
    fields of its records, and its values in the ``catalog`` columns."""
    async with db.transaction() as conn:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('rapport.keys.' || $1))", tenant.id
        )
        newest = await conn.fetchval(
            "SELECT coalesce(max(key_id), 0) FROM rapport.tenant_keys WHERE tenant_id = $1::uuid",
            tenant.id,
        )
        key_id = int(newest) + 1
        await keyring.create(conn, tenant.id, key_id=key_id)
        # Waits for writes holding the old active key (FOR SHARE in KeyRing.for_write).
        await conn.execute(
            "UPDATE rapport.tenant_keys SET state = 'retiring' "
            "WHERE tenant_id = $1::uuid AND state = 'active' AND key_id <> $2",
            tenant.id,
            key_id,
        )
        await append_entry(
            conn,
            tenant_id=tenant.id,
            actor=actor,
            action="keys.rotate",
            data={"mode": "reencrypt", "stage": "start", "key": key_id},
        )
    values = batches = 0
    entities = [e for e in model.entities if any(f.sensitive and f.column for f in e.fields)]
    work: list[Callable[[], Awaitable[int]]] = [
        functools.partial(_batch, db, keyring, tenant, entity, key_id, batch_size)
        for entity in entities
    ]
    work += [
        functools.partial(_catalog_batch, db, keyring, tenant, column, key_id, batch_size)
        for column in catalog
    ]
    for step in work:
        while True:
            changed = await step()
            if not changed:
                break
            values += changed
            batches += 1
            if on_batch is not None:
                on_batch(batches)
    async with db.transaction() as conn:
        retired = await conn.fetch(
            "UPDATE rapport.tenant_keys SET state = 'retired' "
            "WHERE tenant_id = $1::uuid AND state = 'retiring' RETURNING key_id",
            tenant.id,
        )
        await append_entry(
            conn,
            tenant_id=tenant.id,
            actor=actor,
            action="keys.rotate",
            data={
                "mode": "reencrypt",
                "stage": "done",
                "key": key_id,
                "values": values,
                "retired": sorted(r["key_id"] for r in retired),
            },
        )
    return Reencrypted(key_id, values, batches)


async def _batch(
    db: Database, keyring: KeyRing, tenant: Tenant, entity: EntityDef, key_id: int, size: int
) -> int:
    """Re-seal the sensitive values of up to ``size`` rows still under an older key."""
    fields = [f for f in entity.fields if f.sensitive and f.column]
    current = struct.pack(">I", key_id)
    stale = " OR ".join(
        f"substring({quote_ident(f.column or '')} from 2 for 4) <> $1::bytea" for f in fields
    )
    columns = ", ".join(quote_ident(f.column or "") for f in fields)
    table = qualified(tenant.schema, entity.table)
    async with db.transaction() as conn:
        rows = await conn.fetch(
            f"SELECT id, {columns} FROM {table} WHERE {stale} "
            f"LIMIT {int(size)} FOR UPDATE SKIP LOCKED",
            current,
        )
        if not rows:
            return 0
        key = await keyring.for_write(conn, tenant.id)
        if key.key_id != key_id:  # another rotation started meanwhile: let it finish the job
            return 0
        sealer = FieldSealer(key)
        wanted = {
            key_id_of(bytes(r[f.column or ""])) for r in rows for f in fields if r[f.column or ""]
        }
        keys = await keyring.for_read(conn, tenant.id, wanted)
        count = 0
        for row in rows:
            new_values: list[bytes | None] = []
            for f in fields:
                raw = row[f.column or ""]
                if raw is None:
                    new_values.append(None)
                    continue
                plain = open_value(keys, bytes(raw), str(row["id"]), f.name)
                new_values.append(sealer.seal_json(f, row["id"], plain))
                count += 1
            sets = ", ".join(
                f"{quote_ident(f.column or '')} = ${i + 2}" for i, f in enumerate(fields)
            )
            await conn.execute(f"UPDATE {table} SET {sets} WHERE id = $1", row["id"], *new_values)
        return count


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A catalog column of sealed values (not a tenant record's field), for ``reencrypt``.

    ``key`` names the columns that identify a row within its tenant; ``aad`` gives the
    associated data a value was sealed with, from the row's ``tenant_id`` and ``key`` columns.
    Its owner declares it (a TOTP secret, a WeCom/DingTalk app secret), the caller of
    :func:`reencrypt` lists them.
    """

    table: str  # qualified, e.g. rapport.users
    column: str
    key: tuple[str, ...]
    aad: Callable[[Mapping[str, Any]], bytes]


async def _catalog_batch(
    db: Database, keyring: KeyRing, tenant: Tenant, sealed: SealedColumn, key_id: int, size: int
) -> int:
    """Re-seal up to ``size`` values of one catalog column still under an older key."""
    column = quote_ident(sealed.column)
    keys = ", ".join(quote_ident(k) for k in sealed.key)
    async with db.transaction() as conn:
        rows = await conn.fetch(
            f"SELECT tenant_id, {keys}, {column} AS sealed FROM {sealed.table} "
            f"WHERE tenant_id = $1::uuid AND {column} IS NOT NULL "
            f"AND substring({column} from 2 for 4) <> $2::bytea "
            f"LIMIT {int(size)} FOR UPDATE SKIP LOCKED",
            tenant.id,
            struct.pack(">I", key_id),
        )
        if not rows:
            return 0
        key = await keyring.for_write(conn, tenant.id)
        if key.key_id != key_id:  # another rotation started meanwhile: let it finish the job
            return 0
        old = await keyring.for_read(conn, tenant.id, {key_id_of(bytes(r["sealed"])) for r in rows})
        match = " AND ".join(f"{quote_ident(k)} = ${i + 3}" for i, k in enumerate(sealed.key))
        for row in rows:
            parsed = Sealed.parse(bytes(row["sealed"]))
            aad = sealed.aad(row)
            plain = parsed.open(old[parsed.key_id].key, aad)
            await conn.execute(
                f"UPDATE {sealed.table} SET {column} = $2 WHERE tenant_id = $1::uuid AND {match}",
                tenant.id,
                Sealed.seal(key.cipher, key.key_id, key.key, plain, aad),
                *(row[k] for k in sealed.key),
            )
        return len(rows)
