"""Audit queries of a tenant's API, for the audit admin (role ``audit_admin``) only.

Each tenant has its own log (hash chain, Merkle tree, signed checkpoints): ``seq`` is the entry's
number in it (1, 2, 3… with no gaps from other tenants' activity) and its leaf index + 1, and a
checkpoint's ``treeSize`` counts this tenant's entries only; nothing here reveals another
tenant's activity.

- ``auditEntries(filter, first)``: the tenant's entries, newest first, filtered by action
  (exact or a dotted prefix such as ``record.``), actor, entity, record id, time range and
  ``beforeSeq`` (paging);
- ``auditProof(seq)``: an RFC 6962 inclusion proof of one entry against the newest signed
  checkpoint that covers it — checkable offline with the checkpoint's public key;
- ``auditCheckpoint``: the newest signed checkpoint of the tenant's log.

Separation of duties (三员分立): the tenant admin is the audited party, so it cannot browse the
evidence; the audit admin can read it and change nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from asyncpg import Record
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLString,
)

from rapport.audit.checkpoints import Checkpoint, default_signer, latest_checkpoint
from rapport.audit.merkle import inclusion_proof
from rapport.errors import Forbidden, NotFound
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import DATETIME, JSON
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata

if TYPE_CHECKING:
    Info = GraphQLResolveInfo[RequestContext]

__all__ = ["AUDIT_ROLE", "contribute_audit"]

AUDIT_ROLE = "audit_admin"
MAX_PAGE = 500


def _hex(name: str) -> Any:
    return lambda row, _info: bytes(row[name]).hex()


def contribute_audit(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    registry = ctx.registry
    entry = registry.add(
        GraphQLObjectType(
            "AuditEntry",
            {
                "seq": GraphQLField(
                    GraphQLNonNull(GraphQLInt),
                    resolve=_key("tenant_seq"),
                    description="The entry's number in this tenant's log, no gaps "
                    "(Merkle leaf seq - 1).",
                ),
                "at": GraphQLField(GraphQLNonNull(DATETIME), resolve=_key("at")),
                "actor": GraphQLField(GraphQLString, resolve=_key("actor")),
                "action": GraphQLField(GraphQLNonNull(GraphQLString), resolve=_key("action")),
                "entity": GraphQLField(GraphQLString, resolve=_key("entity")),
                "recordId": GraphQLField(GraphQLString, resolve=_key("record_id")),
                "data": GraphQLField(
                    GraphQLNonNull(JSON), resolve=lambda row, _info: json.loads(row["data"])
                ),
                "prevHash": GraphQLField(GraphQLNonNull(GraphQLString), resolve=_hex("prev_hash")),
                "leafHash": GraphQLField(GraphQLNonNull(GraphQLString), resolve=_hex("leaf_hash")),
            },
            description="One audit log entry. leafHash = SHA-256(0x00 ‖ canonical JSON).",
        ),
        origin="kernel",
    )
    checkpoint = registry.add(
        GraphQLObjectType(
            "AuditCheckpoint",
            {
                "treeSize": GraphQLField(GraphQLNonNull(GraphQLInt)),
                "rootHash": GraphQLField(GraphQLNonNull(GraphQLString)),
                "time": GraphQLField(GraphQLNonNull(DATETIME)),
                "keyId": GraphQLField(GraphQLNonNull(GraphQLString)),
                "signature": GraphQLField(GraphQLNonNull(GraphQLString)),
                "publicKey": GraphQLField(GraphQLNonNull(GraphQLString)),
                "message": GraphQLField(
                    GraphQLNonNull(GraphQLString), description="The exact bytes signed."
                ),
            },
            description="A signed tree head of this tenant's log (Ed25519, hex).",
        ),
        origin="kernel",
    )
    proof = registry.add(
        GraphQLObjectType(
            "AuditProof",
            {
                "seq": GraphQLField(GraphQLNonNull(GraphQLInt)),
                "leafHash": GraphQLField(GraphQLNonNull(GraphQLString)),
                "path": GraphQLField(
                    GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString))),
                    description="RFC 6962 audit path, leaf to root (hex).",
                ),
                "checkpoint": GraphQLField(GraphQLNonNull(checkpoint)),
            },
        ),
        origin="kernel",
    )
    where = registry.add(
        GraphQLInputObjectType(
            "AuditFilter",
            {
                "action": GraphQLInputField(
                    GraphQLString, description="Exact action, or a prefix ending in '.'."
                ),
                "actor": GraphQLInputField(GraphQLString),
                "entity": GraphQLInputField(GraphQLString),
                "recordId": GraphQLInputField(GraphQLString),
                "since": GraphQLInputField(DATETIME),
                "until": GraphQLInputField(DATETIME),
                "beforeSeq": GraphQLInputField(GraphQLInt, description="Page: entries below it."),
            },
        ),
        origin="kernel",
    )
    return Contribution(
        query={
            "auditEntries": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(entry))),
                args={
                    "filter": GraphQLArgument(where),
                    "first": GraphQLArgument(GraphQLInt, default_value=50),
                },
                resolve=_entries,
                description="The tenant's audit entries, newest first (audit admin only).",
            ),
            "auditProof": GraphQLField(
                GraphQLNonNull(proof),
                args={"seq": GraphQLArgument(GraphQLNonNull(GraphQLInt))},
                resolve=_proof,
                description="Inclusion proof of one entry against a signed checkpoint.",
            ),
            "auditCheckpoint": GraphQLField(
                checkpoint,
                resolve=_checkpoint,
                description="The newest signed checkpoint of this tenant's log.",
            ),
        }
    )


def _key(name: str) -> Any:
    return lambda row, _info: row[name]


def _context(info: Info) -> RequestContext:
    context: RequestContext = info.context
    if AUDIT_ROLE not in context.principal.roles:
        raise Forbidden(
            "Only the audit admin reads the audit log.",
            hint=f"Sign in with a user holding the {AUDIT_ROLE} role.",
        )
    return context


async def _entries(
    _root: object, info: Info, filter: dict[str, Any] | None = None, first: int = 50
) -> list[Record]:
    context = _context(info)
    conditions = ["tenant_id = $1::uuid"]
    args: list[Any] = [context.api.tenant.id]
    f = filter or {}

    def add(sql: str, value: Any) -> None:
        args.append(value)
        conditions.append(sql.replace("?", f"${len(args)}"))

    action = f.get("action")
    if action:
        if action.endswith("."):
            add("starts_with(action, ?)", action)
        else:
            add("action = ?", action)
    for key, column in (("actor", "actor"), ("entity", "entity"), ("recordId", "record_id")):
        if f.get(key) is not None:
            add(f"{column} = ?", f[key])
    if f.get("since") is not None:
        add("at >= ?", f["since"])
    if f.get("until") is not None:
        add("at < ?", f["until"])
    if f.get("beforeSeq") is not None:
        add("tenant_seq < ?", f["beforeSeq"])
    limit = max(1, min(int(first), MAX_PAGE))
    return await context.db.fetch(
        f"SELECT * FROM rapport.audit_entries WHERE {' AND '.join(conditions)} "
        f"ORDER BY tenant_seq DESC LIMIT {limit}",
        *args,
    )


def _checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    signer = default_signer()
    return {
        "treeSize": checkpoint.size,
        "rootHash": checkpoint.root.hex(),
        "time": checkpoint.at,
        "keyId": checkpoint.key_id,
        "signature": checkpoint.signature.hex(),
        "publicKey": signer.public_key_hex(),
        "message": checkpoint.message().decode(),
    }


async def _proof(_root: object, info: Info, seq: int) -> dict[str, Any]:
    context = _context(info)
    tenant_id = context.api.tenant.id
    async with context.db.acquire() as conn:
        leaf = await conn.fetchval(
            "SELECT leaf_hash FROM rapport.audit_entries "
            "WHERE tenant_id = $1::uuid AND tenant_seq = $2",
            tenant_id,
            seq,
        )
        if leaf is None:
            raise NotFound(f"The audit log of this tenant has no entry {seq}.", path=("seq",))
        checkpoint = await latest_checkpoint(conn, tenant_id, at_least=seq)
        if checkpoint is None:
            raise NotFound(
                f"No signed checkpoint covers entry {seq} yet.",
                hint="Checkpoints are signed every RAPPORT_AUDIT_CHECKPOINT_INTERVAL entries; "
                "an operator can sign one now with `rapport audit checkpoint`.",
            )
        # O(n) in the checkpoint size: the tenant's leaves are read once per proof.
        leaves = [
            bytes(r["leaf_hash"])
            for r in await conn.fetch(
                "SELECT leaf_hash FROM rapport.audit_entries "
                "WHERE tenant_id = $1::uuid AND tenant_seq <= $2 ORDER BY tenant_seq",
                tenant_id,
                checkpoint.size,
            )
        ]
    return {
        "seq": seq,
        "leafHash": bytes(leaf).hex(),
        "path": [h.hex() for h in inclusion_proof(seq - 1, leaves)],
        "checkpoint": _checkpoint_json(checkpoint),
    }


async def _checkpoint(_root: object, info: Info) -> dict[str, Any] | None:
    context = _context(info)
    async with context.db.acquire() as conn:
        checkpoint = await latest_checkpoint(conn, context.api.tenant.id)
    return None if checkpoint is None else _checkpoint_json(checkpoint)
