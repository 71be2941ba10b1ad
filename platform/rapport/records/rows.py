"""Loading stored records as participants see them: by GraphQL name, with Python values."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from rapport.db.database import Connection
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind
from rapport.naming import qualified, quote_ident
from rapport.records.change import Record

__all__ = ["load_records", "parse_id"]

_JSON_KINDS = frozenset({FieldKind.JSON, FieldKind.FILE})


def parse_id(value: Any) -> uuid.UUID | None:
    """The uuid of a record id given by a client, or None when it is not one."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def load_records(
    conn: Connection,
    schema: str,
    entity: EntityDef,
    ids: Sequence[uuid.UUID],
    *,
    lock: bool = False,
) -> dict[str, Record]:
    """The records with these ids that exist, keyed by record id (as text).

    ``lock`` takes the rows ``FOR UPDATE``, so what a participant checks before a write is what
    the write changes.
    """
    if not ids:
        return {}
    names = [(s.name, s.column, s.kind) for s in SYSTEM_FIELDS] + [
        (f.graphql_input_name, f.column, f.kind) for f in entity.stored_fields if f.column
    ]
    select = ", ".join(quote_ident(c) for _, c, _ in names)
    sql = f"SELECT {select} FROM {qualified(schema, entity.table)} WHERE id = ANY($1::uuid[])" + (
        " FOR UPDATE" if lock else ""
    )
    rows = await conn.fetch(sql, list(ids))
    records: dict[str, Record] = {}
    for row in rows:
        record = {name: _value(row[column], kind) for name, column, kind in names}
        records[str(record["id"])] = record
    return records


def _value(value: Any, kind: FieldKind) -> Any:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if kind in _JSON_KINDS and isinstance(value, str):
        return json.loads(value)
    return value
