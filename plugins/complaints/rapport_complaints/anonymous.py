"""Anonymous submission (PIPL art. 73; ERM.md): the tenant cannot learn who submitted.

The writes go through :mod:`rapport.plugins.anonymity`, which every anonymous path shares.

What is stored for an anonymous complaint, and why nothing of it identifies the submitter:

- the complaint and its follow-up notes are written through the RecordWriter as the fixed
  principal ``anonymous`` (``via="anonymous"``), never as the caller: ``createdBy`` and the
  write's principal is the word ``anonymous``, whoever (if anyone) was signed in;
- no submitter, no user id, no token id, no IP address is written anywhere;
- ``createdAt``/``updatedAt`` of anonymous records are cut to the day right after the write,
  so they cannot be joined with the exact times of other events (logins, page views);
- the audit entry has no actor and joins the log only after the day is over, with the day's
  other anonymous entries in random order and dated midnight (rapport.audit.held); the outbox
  event and workflow history name no actor and keep only day-coarse times;
- the four operations need no login: ``POST /public/{tenant}/graphql`` serves exactly them
  (``ComplaintHooks.public_fields``) without reading any credential or client address;
- the submitter's follow-up code (160 random bits) is shown once and stored only as its
  SHA-256 (``followUpHash``): holding the code proves nothing but being the submitter, and the
  hash cannot be turned back into the code.

With the code the submitter reads the status and resolution, adds information and rates the
resolution; nothing else is reachable with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport.db.database import Connection
from rapport.errors import FieldError, NotFound, ValidationFailed
from rapport.naming import qualified
from rapport.plugins.anonymity import (
    ANONYMOUS,
    create_anonymous,
    hash_code,
    new_follow_up_code,
    refuse_fields,
    update_anonymous,
)
from rapport.records.writer import RecordWriter

__all__ = [
    "ANONYMOUS",
    "FollowUp",
    "add_information",
    "follow_up",
    "hash_code",
    "rate",
    "submit",
]

_FIELDS = ("kind", "category", "title", "description")
_RATEABLE = ("resolved", "archived")


@dataclass(frozen=True, slots=True)
class FollowUp:
    status: str
    resolution: str | None
    satisfaction: int | None
    notes: int  # how many notes the submitter added


async def submit(conn: Connection, writer: RecordWriter, input: Mapping[str, Any]) -> str:
    """Create the anonymous complaint; returns the follow-up code (shown once, never stored)."""
    refuse_fields(input, _FIELDS, "an anonymous complaint")
    code = new_follow_up_code()
    entity = writer.metadata.model.entity("complaints/complaint")
    await create_anonymous(
        conn, writer, entity, {**input, "anonymous": True, "followUpHash": hash_code(code)}
    )
    return code


async def follow_up(conn: Connection, writer: RecordWriter, code: str) -> FollowUp:
    row = await _find(conn, writer, code)
    notes = await conn.fetchval(
        f"SELECT count(*) FROM {qualified(writer.tenant.schema, 'complaints_note')} "
        "WHERE complaint_id = $1::uuid AND from_submitter",
        row["id"],
    )
    return FollowUp(row["status"], row["resolution"], row["satisfaction"], int(notes))


async def add_information(conn: Connection, writer: RecordWriter, code: str, text: str) -> None:
    row = await _find(conn, writer, code)
    entity = writer.metadata.model.entity("complaints/note")
    await create_anonymous(
        conn, writer, entity, {"complaintId": row["id"], "text": text, "fromSubmitter": True}
    )


async def rate(conn: Connection, writer: RecordWriter, code: str, satisfaction: int) -> None:
    row = await _find(conn, writer, code)
    if row["status"] not in _RATEABLE:
        raise ValidationFailed(
            [FieldError(("satisfaction",), f"the complaint is {row['status']}, not resolved")],
            hint="Rate the resolution once the complaint is resolved.",
        )
    entity = writer.metadata.model.entity("complaints/complaint")
    await update_anonymous(
        conn,
        writer,
        entity,
        row["id"],
        {"satisfaction": satisfaction},
        expected_version=row["version"],
    )


async def _find(conn: Connection, writer: RecordWriter, code: str) -> Any:
    # The lookup is by the code's hash only; a wrong code and a missing complaint look the same.
    row = await conn.fetchrow(
        f"SELECT id::text AS id, status, resolution, satisfaction, version "
        f"FROM {qualified(writer.tenant.schema, 'complaints_complaint')} "
        "WHERE follow_up_hash = $1 AND anonymous",
        hash_code(code),
    )
    if row is None:
        raise NotFound(
            "No complaint has this follow-up code.",
            hint="Check the code as it was shown when you submitted (letters and digits 2-7).",
        )
    return row
