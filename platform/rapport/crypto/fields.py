"""Sealing and opening the values of sensitive fields.

The plaintext is the value's JSON text in its GraphQL wire form (decimals and money as exact
strings, dates ISO 8601), so the read path can splice a decrypted value into the response JSON
unchanged. The associated data binds a value to its place: ``record id ‖ field name`` — a
ciphertext copied to another row or field fails to open instead of showing up there.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rapport.crypto.cipher import Sealed
from rapport.crypto.keys import DataKey
from rapport.errors import DecryptionFailed
from rapport.metadata.ir import FieldDef, FieldKind

__all__ = ["FieldSealer", "field_aad", "open_value", "plaintext_json"]

_JSON_KINDS = frozenset({FieldKind.JSON, FieldKind.FILE})
_CENT = Decimal("0.01")


def field_aad(record_id: str | uuid.UUID, field_name: str) -> bytes:
    return f"rapport-field|{record_id}|{field_name}".encode()


def _wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def plaintext_json(field: FieldDef, value: Any) -> str:
    """The JSON text sealed for ``value`` (an asyncpg parameter from ``sql.values.db_value``)."""
    if field.kind in _JSON_KINDS and isinstance(value, str):
        return value  # already JSON text
    if field.kind is FieldKind.MONEY and isinstance(value, Decimal):
        value = value.quantize(_CENT)  # as numeric(18,2) would print it: "321.50"
    return json.dumps(_wire(value), ensure_ascii=False)


class FieldSealer:
    """Seals the sensitive values of one write with the tenant's current data key."""

    __slots__ = ("_key",)

    def __init__(self, key: DataKey) -> None:
        self._key = key

    def seal(self, field: FieldDef, record_id: str | uuid.UUID, value: Any) -> bytes | None:
        if value is None:
            return None  # NULL stays NULL: absence is not secret, and IS NULL stays usable
        return self.seal_json(field, record_id, plaintext_json(field, value))

    def seal_json(self, field: FieldDef, record_id: str | uuid.UUID, plaintext: str) -> bytes:
        """Seal an already encoded plaintext (re-encryption moves values between keys)."""
        return Sealed.seal(
            self._key.cipher,
            self._key.key_id,
            self._key.key,
            plaintext.encode(),
            field_aad(record_id, field.name),
        )


def open_value(
    keys: Mapping[int, DataKey], raw: bytes, record_id: str | uuid.UUID, field_name: str
) -> str:
    """The JSON text sealed in ``raw``; raises DecryptionFailed."""
    sealed = Sealed.parse(raw)
    key = keys.get(sealed.key_id)
    if key is None:
        raise DecryptionFailed(
            f"No data key {sealed.key_id} was loaded for this value.",
            hint="This is a bug in Rapport: the key ids were not collected before opening.",
        )
    return sealed.open(key.key, field_aad(record_id, field_name)).decode()
