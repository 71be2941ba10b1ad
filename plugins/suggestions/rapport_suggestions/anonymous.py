"""Anonymous suggestions and their follow-up code, on :mod:`rapport.plugins.anonymity`.

The suggestion is written as the fixed principal ``anonymous`` with no submitter and times cut
to the day; the code is shown once and stored only as its SHA-256. With the code the submitter
reads the status, the outcome and the follow-up tasks, and adds comments; nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport.db.database import Connection
from rapport.errors import NotFound
from rapport.naming import qualified
from rapport.plugins.anonymity import (
    create_anonymous,
    hash_code,
    new_follow_up_code,
    refuse_fields,
)
from rapport.records.writer import RecordWriter

__all__ = ["FollowUp", "FollowUpTask", "attach", "comment", "follow_up", "submit"]

_FIELDS = ("title", "body", "category", "departmentId")


@dataclass(frozen=True, slots=True)
class FollowUpTask:
    title: str
    status: str
    due_at: str | None


@dataclass(frozen=True, slots=True)
class FollowUp:
    status: str
    resolution: str | None
    rejection_reason: str | None
    upvotes: int
    comments: int
    tasks: tuple[FollowUpTask, ...]


async def submit(conn: Connection, writer: RecordWriter, input: Mapping[str, Any]) -> str:
    """Create the anonymous suggestion; returns the follow-up code (shown once, never stored)."""
    refuse_fields(input, _FIELDS, "an anonymous suggestion")
    code = new_follow_up_code()
    entity = writer.metadata.model.entity("suggestions/suggestion")
    await create_anonymous(
        conn, writer, entity, {**input, "anonymous": True, "followUpHash": hash_code(code)}
    )
    return code


async def follow_up(conn: Connection, writer: RecordWriter, code: str) -> FollowUp:
    row = await _find(conn, writer, code)
    schema = writer.tenant.schema
    (counts,) = await conn.fetch(
        f"SELECT (SELECT count(*) FROM {qualified(schema, 'suggestions_suggestion_upvote')} "
        "WHERE suggestion_id = $1::uuid) AS upvotes, "
        f"(SELECT count(*) FROM {qualified(schema, 'suggestions_suggestion_comment')} "
        "WHERE suggestion_id = $1::uuid) AS comments",
        row["id"],
    )
    tasks = await conn.fetch(
        f"SELECT title, status, due_at FROM {qualified(schema, 'core_task')} "
        "WHERE subject_entity = 'suggestions/suggestion' AND subject_id = $1::uuid "
        "ORDER BY due_at NULLS LAST, title",
        row["id"],
    )
    return FollowUp(
        status=row["status"],
        resolution=row["resolution"],
        rejection_reason=row["rejection_reason"],
        upvotes=int(counts["upvotes"]),
        comments=int(counts["comments"]),
        tasks=tuple(
            FollowUpTask(t["title"], t["status"], t["due_at"].isoformat() if t["due_at"] else None)
            for t in tasks
        ),
    )


async def comment(conn: Connection, writer: RecordWriter, code: str, body: str) -> None:
    row = await _find(conn, writer, code)
    entity = writer.metadata.model.entity("suggestions/suggestion_comment")
    await create_anonymous(
        conn, writer, entity, {"suggestionId": row["id"], "body": body, "fromSubmitter": True}
    )


async def attach(
    conn: Connection, writer: RecordWriter, code: str, file: Mapping[str, Any]
) -> None:
    """Attach a file reference (key, name, size, contentType, sha256) to the suggestion."""
    row = await _find(conn, writer, code)
    entity = writer.metadata.model.entity("suggestions/suggestion_attachment")
    await create_anonymous(conn, writer, entity, {"suggestionId": row["id"], "file": dict(file)})


async def _find(conn: Connection, writer: RecordWriter, code: str) -> Any:
    # By the code's hash only; a wrong code and a missing suggestion look the same.
    row = await conn.fetchrow(
        f"SELECT id::text AS id, status, resolution, rejection_reason "
        f"FROM {qualified(writer.tenant.schema, 'suggestions_suggestion')} "
        "WHERE follow_up_hash = $1 AND anonymous",
        hash_code(code),
    )
    if row is None:
        raise NotFound(
            "No suggestion has this follow-up code.",
            hint="Check the code as it was shown when you submitted (letters and digits 2-7).",
        )
    return row
