"""Signed checkpoints (tree heads): Ed25519 over the tree size, root hash and time.

A checkpoint says "the audit log of this tenant (or the operator log) had ``size`` entries with
Merkle root ``root`` at ``time``", signed with the audit signing key (RAPPORT_AUDIT_SIGNING_KEY,
a generated one in the data dir in development). Anyone with the public key can check an
inclusion proof against it without trusting the database; copies anchored elsewhere (RFC 3161
timestamp, an evidence-chain service) make rewriting history detectable even by someone who
controls the database.

Signed message: canonical JSON
``{"log":"rapport-audit","root":<hex>,"size":n,"tenant":<id or null>,"time":<iso>}``: the
tenant is signed, so one log's checkpoint cannot pass for another's.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from asyncpg import Record
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rapport.audit.logs import LogId, log_where
from rapport.audit.merkle import frontier_root
from rapport.db.database import Connection
from rapport.settings import Settings

__all__ = [
    "Checkpoint",
    "CheckpointSigner",
    "checkpoint_message",
    "default_signer",
    "latest_checkpoint",
    "load_checkpoints",
    "write_checkpoint",
    "write_current_checkpoint",
]


def checkpoint_message(tenant_id: LogId, size: int, root: bytes, at: datetime) -> bytes:
    body = {
        "log": "rapport-audit",
        "root": root.hex(),
        "size": size,
        "tenant": tenant_id,
        "time": at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    tenant_id: LogId
    size: int
    root: bytes
    at: datetime
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        return checkpoint_message(self.tenant_id, self.size, self.root, self.at)


class CheckpointSigner:
    """Signs and checks checkpoints with one Ed25519 key (from a 32-byte seed)."""

    def __init__(self, seed: bytes, *, interval: int = 1000) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self._private.public_key()
        self.key_id = key_id(self.public)
        self.interval = interval

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckpointSigner:
        return cls(settings.audit_signing_key, interval=settings.audit_checkpoint_interval)

    def public_key_hex(self) -> str:
        return self.public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(self, tenant_id: LogId, size: int, root: bytes, at: datetime) -> Checkpoint:
        signature = self._private.sign(checkpoint_message(tenant_id, size, root, at))
        return Checkpoint(tenant_id, size, root, at, self.key_id, signature)

    def is_valid(self, checkpoint: Checkpoint) -> bool:
        if checkpoint.key_id != self.key_id:
            return False
        try:
            self.public.verify(checkpoint.signature, checkpoint.message())
        except InvalidSignature:
            return False
        return True


@functools.cache
def default_signer() -> CheckpointSigner:
    """The signer of this process's settings (immutable; built once)."""
    return CheckpointSigner.from_settings(Settings.from_env())


async def write_checkpoint(
    conn: Connection, signer: CheckpointSigner, tenant_id: LogId, *, size: int, root: bytes
) -> Checkpoint:
    at = await conn.fetchval("SELECT date_trunc('microseconds', clock_timestamp())")
    checkpoint = signer.sign(tenant_id, size, root, at)
    await conn.execute(
        "INSERT INTO rapport.audit_checkpoints "
        "(tenant_id, tree_size, root_hash, at, key_id, signature) "
        "VALUES ($1::uuid, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, tree_size) DO NOTHING",
        tenant_id,
        checkpoint.size,
        checkpoint.root,
        checkpoint.at,
        checkpoint.key_id,
        checkpoint.signature,
    )
    return checkpoint


async def write_current_checkpoint(
    conn: Connection, signer: CheckpointSigner, tenant_id: LogId
) -> Checkpoint:
    """A checkpoint of ``tenant_id``'s log as it is now (``rapport audit checkpoint``); must run
    in a transaction: it locks the log's head so no append slips between reading and signing.
    A log without entries gets the empty tree's head (size 0)."""
    head = await conn.fetchrow(
        f"SELECT seq, frontier FROM rapport.audit_tenant_heads WHERE {log_where(tenant_id)} "
        "FOR UPDATE",
        tenant_id,
    )
    size = 0 if head is None else int(head["seq"])
    existing = await conn.fetchrow(
        f"SELECT * FROM rapport.audit_checkpoints WHERE {log_where(tenant_id)} AND tree_size = $2",
        tenant_id,
        size,
    )
    if existing is not None:
        return _row(existing)
    root = frontier_root([] if head is None else [bytes(f) for f in head["frontier"]])
    return await write_checkpoint(conn, signer, tenant_id, size=size, root=root)


async def load_checkpoints(conn: Connection, tenant_id: LogId) -> list[Checkpoint]:
    rows = await conn.fetch(
        f"SELECT * FROM rapport.audit_checkpoints WHERE {log_where(tenant_id)} ORDER BY tree_size",
        tenant_id,
    )
    return [_row(r) for r in rows]


async def latest_checkpoint(
    conn: Connection, tenant_id: LogId, *, at_least: int = 0
) -> Checkpoint | None:
    row = await conn.fetchrow(
        f"SELECT * FROM rapport.audit_checkpoints WHERE {log_where(tenant_id)} "
        "AND tree_size >= $2 ORDER BY tree_size DESC LIMIT 1",
        tenant_id,
        at_least,
    )
    return None if row is None else _row(row)


def _row(row: Record) -> Checkpoint:
    return Checkpoint(
        tenant_id=None if row["tenant_id"] is None else str(row["tenant_id"]),
        size=int(row["tree_size"]),
        root=bytes(row["root_hash"]),
        at=row["at"],
        key_id=row["key_id"],
        signature=bytes(row["signature"]),
    )
