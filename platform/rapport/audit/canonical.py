"""The canonical form of an audit entry: what its leaf hash covers.

Canonical JSON is ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` of
``{"action", "actor", "at", "data", "entity", "prev", "record", "seq", "tenant"}`` with ``at``
in ISO 8601 UTC with microseconds, ``tenant`` the tenant id (null in the operator log), ``seq``
the entry's number in its tenant's log and ``prev`` the previous entry's leaf hash in that log,
in hex; so an entry cannot be moved to another log or place unnoticed. ``data``
is first reduced to JSON that survives a round trip through ``jsonb`` unchanged (strings,
integers, booleans, null, lists, objects; floats and decimals become strings, NUL characters
are escaped), so ``verify`` recomputes the exact bytes from the stored columns.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from asyncpg import Record

from rapport.audit.merkle import leaf_hash

__all__ = ["Entry", "plain", "stored_entry"]


def plain(value: Any) -> Any:
    """``value`` as jsonb-stable JSON (see the module docstring)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, float | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    return str(value)


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int  # the number in its log (rapport.audit_entries.tenant_seq)
    at: datetime
    tenant_id: str | None
    actor: str | None
    action: str
    entity: str | None
    record_id: str | None
    data: Mapping[str, Any]
    prev_hash: bytes

    def canonical(self) -> bytes:
        body = {
            "action": self.action,
            "actor": self.actor,
            "at": self.at.isoformat(timespec="microseconds"),
            "data": self.data,
            "entity": self.entity,
            "prev": self.prev_hash.hex(),
            "record": self.record_id,
            "seq": self.seq,
            "tenant": self.tenant_id,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical())


def stored_entry(row: Record, *, seq: int, prev: bytes) -> Entry:
    """The entry a row of ``rapport.audit_entries`` holds, numbered ``seq`` after ``prev``."""
    data = row["data"]
    return Entry(
        seq=seq,
        at=row["at"].astimezone(UTC),
        tenant_id=None if row["tenant_id"] is None else str(row["tenant_id"]),
        actor=row["actor"],
        action=row["action"],
        entity=row["entity"],
        record_id=row["record_id"],
        data=json.loads(data) if isinstance(data, str) else data,
        prev_hash=prev,
    )
