"""Opening the sealed values in a response, and recording who read which sensitive fields.

Only responses that contain the sealed marker get here (the executor checks with one substring
test), so requests that select no sensitive field keep D6's "no Python per field". For the
others: one regex pass over the JSON text, one key look-up per key id (cached), one AES-GCM open
per value, and the plaintext JSON spliced in place of the marked string.

Audit: one ``sensitive.read`` entry per request and entity, naming the fields and the number of
records — not one per row: a list of 1,000 salaries is one act of reading, and per-row entries
would multiply the log (and its serialized appends) by the page size without telling an
investigator more than "who saw which fields of how many records, when, by which request".
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport.audit.log import append_entry
from rapport.crypto.cipher import key_id_of
from rapport.crypto.fields import open_value
from rapport.crypto.keys import KeyRing
from rapport.db.database import Connection
from rapport.sql.sealed import SEALED_MARKER, SEALED_VALUE

__all__ = ["SensitiveReads", "contains_sealed", "open_sealed"]


def contains_sealed(text: str) -> bool:
    return SEALED_MARKER in text


@dataclass(slots=True)
class SensitiveReads:
    """What one request read: fields and record ids per entity."""

    fields: dict[str, set[str]] = field(default_factory=dict)
    records: dict[str, set[str]] = field(default_factory=dict)

    def add(self, entity: str, name: str, record_id: str) -> None:
        self.fields.setdefault(entity, set()).add(name)
        self.records.setdefault(entity, set()).add(record_id)

    def __bool__(self) -> bool:
        return bool(self.fields)

    async def record(
        self,
        conn: Connection,
        *,
        tenant_id: str,
        actor: str | None,
        via: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one ``sensitive.read`` entry per entity (in ``conn``'s transaction)."""
        for entity in sorted(self.fields):
            await append_entry(
                conn,
                tenant_id=tenant_id,
                actor=actor,
                action="sensitive.read",
                entity=entity,
                data={
                    "fields": sorted(self.fields[entity]),
                    "records": len(self.records[entity]),
                    "via": via,
                    **(extra or {}),
                },
            )
        self.fields.clear()
        self.records.clear()


async def open_sealed(
    conn: Connection, keyring: KeyRing, tenant_id: str, text: str, reads: SensitiveReads
) -> str:
    """``text`` with every sealed value replaced by its plaintext JSON; raises
    DecryptionFailed (a wrong key or a moved/altered ciphertext never yields garbage)."""
    matches = list(SEALED_VALUE.finditer(text))
    raws = {m.group(4): base64.b64decode(m.group(4)) for m in matches}
    keys = await keyring.for_read(conn, tenant_id, {key_id_of(raw) for raw in raws.values()})
    parts: list[str] = []
    last = 0
    for match in matches:
        entity, name, record_id, encoded = match.groups()
        parts.append(text[last : match.start()])
        parts.append(open_value(keys, raws[encoded], record_id, name))
        reads.add(entity, name, record_id)
        last = match.end()
    parts.append(text[last:])
    return "".join(parts)
