"""RecordWriter: the one way records are created, updated and deleted.

It wraps the SQL of :mod:`rapport.sql.mutations` with the write participants: each pending
change goes through every participant's ``before_write`` (which may refuse it or adjust its
input), is written, and then goes through every ``after_write`` with the record as stored
before and after — all inside the caller's transaction, so a participant that raises rolls the
whole change back. With no participants, nothing extra is read. The participants are the
kernel's (``rapport.composition.KERNEL.participants``): every writer is given them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.errors import NotFound, PathSegment
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import EntityDef
from rapport.metadata.validation import Validators
from rapport.naming import qualified, quote_ident
from rapport.principal import Principal
from rapport.records.change import Action, Change, PendingChange, WriteParticipant
from rapport.records.rows import load_records, parse_id
from rapport.sql import mutations
from rapport.sql.mutations import Sealer
from rapport.sql.write_errors import conflict

__all__ = ["RecordWriter", "Sealers"]


class Sealers(Protocol):
    """Where the writer gets the sealer of a tenant's sensitive fields (the crypto layer's
    ``rapport.crypto.sealing.KeyRingSealers`` is the one the kernel uses)."""

    async def sealer(self, conn: Connection, tenant_id: str) -> Sealer: ...


class RecordWriter:
    """Writes one tenant's records at one metadata version (shared by all its requests)."""

    def __init__(
        self,
        tenant: Tenant,
        metadata: TenantMetadata,
        *,
        participants: Sequence[WriteParticipant],
        sealers: Sealers,
        validators: Validators | None = None,
    ) -> None:
        self.tenant = tenant
        self.metadata = metadata
        self.validators = validators or Validators(metadata.model)
        self.participants = tuple(participants)
        self.sealers = sealers

    async def _sealer(self, conn: Connection, entity: EntityDef) -> Sealer | None:
        """The tenant's current data key when the entity has sensitive fields (one indexed
        read per write, so a rotation by another process applies at once)."""
        if not any(f.sensitive for f in entity.fields):
            return None
        return await self.sealers.sealer(conn, self.tenant.id)

    @property
    def _schema(self) -> str:
        return self.tenant.schema

    async def create(
        self,
        conn: Connection,
        entity: EntityDef,
        input: Mapping[str, Any],
        *,
        principal: Principal,
        path: tuple[PathSegment, ...] = ("input",),
        via: str = "graphql",
    ) -> str:
        (record_id,) = await self.create_many(
            conn, entity, [input], principal=principal, paths=[path], via=via
        )
        return record_id

    async def create_many(
        self,
        conn: Connection,
        entity: EntityDef,
        inputs: Sequence[Mapping[str, Any]],
        *,
        principal: Principal,
        paths: Sequence[tuple[PathSegment, ...]],
        via: str = "graphql",
    ) -> list[str]:
        """Create all or none; ids in input order. Errors carry ``paths[i]`` + field path."""
        pending = [
            await self._before(
                conn, self._pending(entity, Action.CREATE, principal, input, None, None, path, via)
            )
            for input, path in zip(inputs, paths, strict=True)
        ]
        ids = await mutations.insert_records(
            conn,
            self._schema,
            entity,
            [p.input for p in pending],
            actor=principal.subject,
            validators=self.validators,
            path_prefixes=list(paths),
            sealer=await self._sealer(conn, entity),
        )
        if self.participants:
            after = await load_records(
                conn, self._schema, entity, [u for i in ids if (u := parse_id(i))]
            )
            for change, record_id in zip(pending, ids, strict=True):
                await self._after(conn, change, record_id, after.get(record_id))
        return ids

    async def update(
        self,
        conn: Connection,
        entity: EntityDef,
        record_id: str,
        patch: Mapping[str, Any],
        *,
        expected_version: int | None,
        principal: Principal,
        path: tuple[PathSegment, ...] = ("input",),
        via: str = "graphql",
    ) -> str:
        before = await self._locked(conn, entity, record_id)
        change = await self._before(
            conn,
            self._pending(entity, Action.UPDATE, principal, patch, before, record_id, path, via),
        )
        written = await mutations.update_record(
            conn,
            self._schema,
            entity,
            record_id,
            change.input,
            expected_version=expected_version,
            actor=principal.subject,
            validators=self.validators,
            path_prefix=path,
            sealer=await self._sealer(conn, entity),
        )
        await self._after_one(conn, change, written)
        return written

    async def delete(
        self,
        conn: Connection,
        entity: EntityDef,
        record_id: str,
        *,
        principal: Principal,
        via: str = "graphql",
    ) -> str:
        before = await self._locked(conn, entity, record_id)
        change = await self._before(
            conn, self._pending(entity, Action.DELETE, principal, {}, before, record_id, (), via)
        )
        deleted = await mutations.delete_record(conn, self._schema, entity, record_id)
        if self.participants:
            await self._after(conn, change, deleted, None)
        return deleted

    async def upsert(
        self,
        conn: Connection,
        entity: EntityDef,
        input: Mapping[str, Any],
        *,
        key: str,
        principal: Principal,
        path: tuple[PathSegment, ...] = ("input",),
        via: str = "graphql",
    ) -> str:
        """Create, or update the record holding the input's ``key`` value (participants see
        which of the two it is)."""
        before = None
        existing_id = None
        if self.participants:
            existing_id = await self._id_by_key(conn, entity, key, input)
            if existing_id is not None:
                before = await self._locked(conn, entity, existing_id)
        action = Action.CREATE if before is None else Action.UPDATE
        pending = self._pending(entity, action, principal, input, before, existing_id, path, via)
        try:
            change = await self._before(conn, pending)
        except NotFound:
            if existing_id is None:
                raise
            # The key belongs to a record the principal cannot read: answer what a create
            # with this value answers — a conflict on the principal's own input, nothing of
            # the other record (not even that it exists beyond the clash itself).
            key_field = next(
                f for f in entity.unique_fields if key in (f.name, f.graphql_input_name)
            )
            raise conflict(entity, [key_field], [path], upsert_hint=False) from None
        written = await mutations.upsert_record(
            conn,
            self._schema,
            entity,
            change.input,
            key=key,
            actor=principal.subject,
            validators=self.validators,
            path_prefix=path,
            sealer=await self._sealer(conn, entity),
        )
        await self._after_one(conn, change, written)
        return written

    # -- participants ------------------------------------------------------------------------

    def _pending(
        self,
        entity: EntityDef,
        action: Action,
        principal: Principal,
        input: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        record_id: str | None,
        path: tuple[PathSegment, ...],
        via: str,
    ) -> PendingChange:
        return PendingChange(
            tenant=self.tenant,
            metadata=self.metadata,
            entity=entity,
            action=action,
            principal=principal,
            input=input,
            before=before,
            record_id=record_id,
            path=path,
            via=via,
        )

    async def _before(self, conn: Connection, change: PendingChange) -> PendingChange:
        for participant in self.participants:
            change = await participant.before_write(conn, change)
        return change

    async def _after_one(self, conn: Connection, change: PendingChange, record_id: str) -> None:
        if not self.participants:
            return
        parsed = parse_id(record_id)
        after = await load_records(conn, self._schema, change.entity, [parsed] if parsed else [])
        await self._after(conn, change, record_id, after.get(record_id))

    async def _after(
        self,
        conn: Connection,
        pending: PendingChange,
        record_id: str,
        after: Mapping[str, Any] | None,
    ) -> None:
        change = Change(
            tenant=pending.tenant,
            metadata=pending.metadata,
            entity=pending.entity,
            action=pending.action,
            principal=pending.principal,
            input=pending.input,
            record_id=record_id,
            before=pending.before,
            after=after,
            via=pending.via,
        )
        for participant in self.participants:
            await participant.after_write(conn, change)

    async def _locked(
        self, conn: Connection, entity: EntityDef, record_id: str
    ) -> Mapping[str, Any] | None:
        """The stored record, locked; None when absent or malformed (the SQL layer then
        raises its NotFound or ValidationFailed, with the right path)."""
        if not self.participants:
            return None
        parsed = parse_id(record_id)
        if parsed is None:
            return None
        return (await load_records(conn, self._schema, entity, [parsed], lock=True)).get(
            str(parsed)
        )

    async def _id_by_key(
        self, conn: Connection, entity: EntityDef, key: str, input: Mapping[str, Any]
    ) -> str | None:
        field = next(
            (f for f in entity.unique_fields if key in (f.name, f.graphql_input_name)), None
        )
        if field is None or field.column is None or input.get(field.graphql_input_name) is None:
            return None  # upsert_record reports the bad key or the missing value
        found = await conn.fetchval(
            f"SELECT id FROM {qualified(self._schema, entity.table)} "
            f"WHERE {quote_ident(field.column)} = $1",
            input[field.graphql_input_name],
        )
        return None if found is None else str(found)
