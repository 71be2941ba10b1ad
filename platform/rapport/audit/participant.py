"""AuditParticipant: every record create, update and delete appends an audit entry.

The entry (action ``record.create|update|delete``) names the entity and record and holds the
fields that changed, each as ``{"before": …, "after": …}``, plus the write path (``via``). A
sensitive field's values appear only as ``hmac-sha256:<hex>``: a keyed hash (the key derived
from the tenant's first data key), so the log never holds plaintext and a reader of the log
cannot guess a salary by hashing candidates, while someone holding the key can confirm a claimed
value. The entry is appended in the write's transaction, last, so it holds its tenant log's head
lock for as short a time as possible (see ``rapport.audit.log``). Entries of anonymous writes
(``via="anonymous"``) have no actor and are held until the day is over (``rapport.audit.held``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from rapport.audit.held import ANONYMOUS_VIA, hold_entry
from rapport.audit.log import append_entry
from rapport.crypto.cipher import key_id_of
from rapport.crypto.fields import open_value
from rapport.crypto.keys import KeyRing, default_keyring
from rapport.db.database import Connection
from rapport.metadata.ir import EntityDef, FieldDef
from rapport.records.change import Change, WriteParticipant

__all__ = ["AuditParticipant", "sensitive_hash"]


def sensitive_hash(hash_key: bytes, field: str, plaintext: str | None) -> str | None:
    if plaintext is None:
        return None
    digest = hmac.new(hash_key, f"{field}\x00{plaintext}".encode(), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest}"


class AuditParticipant(WriteParticipant):
    def __init__(self, keyring: KeyRing | None = None) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> KeyRing:
        return self._keyring or default_keyring()

    async def after_write(self, conn: Connection, change: Change) -> None:
        changed = await self._changed(conn, change)
        if change.via == ANONYMOUS_VIA:
            # No actor, and appended with the day's other anonymous entries in random order
            # once the day is over: no timing or sequence join (rapport.audit.held).
            await hold_entry(
                conn,
                tenant_id=change.tenant.id,
                action=f"record.{change.action.value}",
                entity=change.entity.id,
                record_id=change.record_id,
                data={"via": change.via, "changed": changed},
            )
            return
        await append_entry(
            conn,
            tenant_id=change.tenant.id,
            actor=change.principal.subject,
            action=f"record.{change.action.value}",
            entity=change.entity.id,
            record_id=change.record_id,
            data={"via": change.via, "changed": changed},
        )

    async def _changed(self, conn: Connection, change: Change) -> dict[str, Any]:
        before = change.before or {}
        after = change.after or {}
        fields = _stored_fields(change.entity)
        secrets = [f for f in fields.values() if f.sensitive]
        hash_key = b""
        if secrets and any(
            before.get(f.graphql_input_name) or after.get(f.graphql_input_name) for f in secrets
        ):
            hash_key = await self.keyring.hash_key(conn, change.tenant.id)
        changed: dict[str, Any] = {}
        for name in sorted(set(before) | set(after)):
            field = fields.get(name)
            if field is None:
                continue  # system fields (version, updatedAt…) change on every write
            old, new = before.get(name), after.get(name)
            if field.sensitive:
                old = await self._hashed(conn, change, field, old, hash_key)
                new = await self._hashed(conn, change, field, new, hash_key)
            if old != new:
                changed[name] = {"before": old, "after": new}
        return changed

    async def _hashed(
        self, conn: Connection, change: Change, field: FieldDef, sealed: Any, hash_key: bytes
    ) -> str | None:
        if sealed is None:
            return None
        raw = bytes(sealed)
        keys = await self.keyring.for_read(conn, change.tenant.id, [key_id_of(raw)])
        plaintext = open_value(keys, raw, change.record_id, field.name)
        return sensitive_hash(hash_key, field.name, plaintext)


def _stored_fields(entity: EntityDef) -> Mapping[str, FieldDef]:
    return {f.graphql_input_name: f for f in entity.stored_fields if f.column}
