"""Upvotes: one per employee and suggestion, and no record of who voted.

The vote is written as the fixed principal ``anonymous`` (times cut to the day, audit held,
rapport.plugins.anonymity), and the voter is stored only as a keyed hash of the suggestion and
the user: the unique index on it refuses a second vote, and no one can list who voted. The
caller must be able to read the suggestion: the resolver asks the permission-checked read path.
"""

from __future__ import annotations

from rapport.db.database import Connection
from rapport.errors import NotFound
from rapport.naming import qualified
from rapport.plugins.anonymity import (
    ANONYMOUS_VIA,
    anonymous_principal,
    create_anonymous,
    pseudonym,
)
from rapport.records.writer import RecordWriter

__all__ = ["upvote", "withdraw"]

ENTITY = "suggestions/suggestion_upvote"


async def upvote(conn: Connection, writer: RecordWriter, suggestion_id: str, voter: str) -> None:
    voter_hash = await pseudonym(conn, writer, f"suggestion:{suggestion_id}", voter)
    entity = writer.metadata.model.entity(ENTITY)
    await create_anonymous(
        conn, writer, entity, {"suggestionId": suggestion_id, "voterHash": voter_hash}
    )


async def withdraw(conn: Connection, writer: RecordWriter, suggestion_id: str, voter: str) -> None:
    voter_hash = await pseudonym(conn, writer, f"suggestion:{suggestion_id}", voter)
    entity = writer.metadata.model.entity(ENTITY)
    vote_id = await conn.fetchval(
        f"SELECT id::text FROM {qualified(writer.tenant.schema, entity.table)} "
        "WHERE suggestion_id = $1::uuid AND voter_hash = $2",
        suggestion_id,
        voter_hash,
    )
    if vote_id is None:
        raise NotFound("You have not upvoted this suggestion.", hint="Upvote it first.")
    await writer.delete(
        conn,
        entity,
        vote_id,
        principal=anonymous_principal(writer.tenant.slug),
        via=ANONYMOUS_VIA,
    )
