"""Anonymous writes for plug-ins (PIPL art. 73; ERM.md): the tenant cannot learn who wrote.

What an anonymous record keeps, and why none of it identifies its author:

- it is written through the RecordWriter as the fixed principal ``anonymous`` with
  ``via="anonymous"``, never as the caller: ``createdBy`` is the word ``anonymous``;
- ``createdAt``/``updatedAt`` are cut to the day right after the write, so they cannot be
  joined with the exact times of other events (logins, page views); the audit, outbox and
  workflow participants treat ``via="anonymous"`` writes as actor-less and day-coarse
  (rapport.audit.held);
- the author's follow-up code (160 random bits) is shown once and stored only as its SHA-256:
  holding the code proves nothing but being the author, and the hash cannot be turned back.

The complaints, suggestions and discussions plug-ins all write their anonymous records here,
so the rules are the same everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rapport.audit.held import ANONYMOUS_VIA
from rapport.crypto.keys import default_keyring
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.metadata.ir import EntityDef
from rapport.naming import qualified
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.records.writer import RecordWriter

__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_VIA",
    "anonymous_principal",
    "create_anonymous",
    "hash_code",
    "new_follow_up_code",
    "pseudonym",
    "refuse_fields",
    "update_anonymous",
]

ANONYMOUS = "anonymous"  # subject and role of every anonymous write


def anonymous_principal(tenant_slug: str) -> Principal:
    return Principal(tenant=tenant_slug, subject=ANONYMOUS, roles=frozenset({ANONYMOUS}))


def new_follow_up_code() -> str:
    """160 random bits as 32 base32 characters: shown once to the author, never stored."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def refuse_fields(input: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    """Refuse input fields outside ``allowed``: an anonymous path accepts no identifying extra."""
    accepted = tuple(allowed)
    unknown = sorted(set(input) - set(accepted))
    if unknown:
        raise ValidationFailed(
            [FieldError(("input", name), f"not accepted for {what}") for name in unknown],
            hint="Send only " + ", ".join(accepted) + ".",
        )


async def create_anonymous(
    conn: Connection, writer: RecordWriter, entity: EntityDef, input: Mapping[str, Any]
) -> str:
    """Create a record as the principal ``anonymous``, its times cut to the day."""
    record_id = await writer.create(
        conn, entity, input, principal=anonymous_principal(writer.tenant.slug), via=ANONYMOUS_VIA
    )
    await _coarsen(conn, writer, entity, record_id)
    return record_id


async def update_anonymous(
    conn: Connection,
    writer: RecordWriter,
    entity: EntityDef,
    record_id: str,
    input: Mapping[str, Any],
    *,
    expected_version: int | None,
) -> None:
    """Update a record as the principal ``anonymous``, its times cut to the day."""
    await writer.update(
        conn,
        entity,
        record_id,
        input,
        expected_version=expected_version,
        principal=anonymous_principal(writer.tenant.slug),
        via=ANONYMOUS_VIA,
    )
    await _coarsen(conn, writer, entity, record_id)


async def _coarsen(
    conn: Connection, writer: RecordWriter, entity: EntityDef, record_id: str
) -> None:
    # System timestamps are not writable through the RecordWriter; cutting them to the day is
    # the one write around it, made in the same transaction, on records only this path writes.
    await conn.execute(
        f"UPDATE {qualified(writer.tenant.schema, entity.table)} "
        "SET created_at = date_trunc('day', created_at), "
        "updated_at = date_trunc('day', updated_at) WHERE id = $1::uuid",
        record_id,
    )


async def pseudonym(conn: Connection, writer: RecordWriter, scope: str, subject: str) -> str:
    """A per-tenant keyed hash of ``subject`` within ``scope`` (e.g. one vote per suggestion).

    It lets a plug-in enforce "once per person" without storing who: the key is derived from the
    tenant's data key, so a tenant admin holding the user list cannot recompute it.
    """
    # The writer's own key ring when it was handed one (tests rotate keys that way).
    sealers = writer.sealers
    keyring = sealers.keyring if isinstance(sealers, KeyRingSealers) else default_keyring()
    key = await keyring.hash_key(conn, writer.tenant.id)
    return hmac.new(key, f"{scope}\x00{subject}".encode(), hashlib.sha256).hexdigest()
