"""Envelope encryption: per-tenant data keys, wrapped by the master key from the settings.

- The master key (RAPPORT_MASTER_KEY; a generated one in the data dir in development, required
  in production) never touches the database. Its id is a fingerprint
  (``mk:`` + 16 hex of SHA-256), stored with every data key it wraps, so a wrong master key is
  named as such instead of producing garbage.
- Each tenant has numbered data keys in ``rapport.tenant_keys`` (created on the first sensitive
  write), wrapped with AES-256-GCM under the master key (associated data: tenant id and key id,
  so a wrapped key cannot be moved to another tenant). The highest ``active`` key encrypts;
  every key not ``retired`` decrypts — a re-encryption runs while readers see both versions.
- Unwrapped keys are cached per process (they never change: a rotation adds a new key id).
  The id of the key to encrypt with is read per write (one indexed row), so a rotation started
  by another process takes effect on the next write everywhere.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Iterable

from asyncpg import Record

from rapport.crypto.cipher import AES_256_GCM, Cipher, cipher_by_name
from rapport.db.database import Connection
from rapport.errors import DecryptionFailed
from rapport.settings import Settings

__all__ = ["DataKey", "KeyRing", "default_keyring", "master_key_id"]

_WRAP = AES_256_GCM


def master_key_id(key: bytes) -> str:
    return "mk:" + hashlib.sha256(key).hexdigest()[:16]


class DataKey:
    __slots__ = ("cipher", "key", "key_id", "tenant_id")

    def __init__(self, tenant_id: str, key_id: int, cipher: Cipher, key: bytes) -> None:
        self.tenant_id = tenant_id
        self.key_id = key_id
        self.cipher = cipher
        self.key = key


def _aad(tenant_id: str, key_id: int) -> bytes:
    return f"rapport-data-key|{tenant_id}|{key_id}".encode()


class KeyRing:
    """Master keys (current first) and the unwrapped data keys this process has used."""

    def __init__(self, master_keys: Iterable[bytes], *, cipher: Cipher = AES_256_GCM) -> None:
        self.master_keys = {master_key_id(k): k for k in master_keys}
        if not self.master_keys:
            raise ValueError("a KeyRing needs at least one master key")
        self.current_master = next(iter(self.master_keys))
        self.cipher = cipher
        self._cache: dict[tuple[str, int], DataKey] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        return cls(settings.master_keys)

    # -- wrapping -----------------------------------------------------------------------------

    def wrap(self, tenant_id: str, key_id: int, key: bytes) -> tuple[str, bytes]:
        master = self.master_keys[self.current_master]
        nonce = os.urandom(_WRAP.nonce_size)
        return self.current_master, nonce + _WRAP.seal(master, nonce, key, _aad(tenant_id, key_id))

    def unwrap(self, tenant_id: str, key_id: int, master_id: str, wrapped: bytes) -> bytes:
        master = self.master_keys.get(master_id)
        if master is None:
            raise DecryptionFailed(
                f"Data key {key_id} of tenant {tenant_id} is wrapped by master key {master_id}, "
                f"which is not configured (configured: {', '.join(self.master_keys)}).",
                hint="Set RAPPORT_MASTER_KEY to the key this data was encrypted under, or list "
                "it in RAPPORT_MASTER_KEYS_PREVIOUS while `rapport keys rotate` re-wraps.",
            )
        nonce, body = wrapped[: _WRAP.nonce_size], wrapped[_WRAP.nonce_size :]
        return _WRAP.open(master, nonce, body, _aad(tenant_id, key_id))

    # -- data keys ----------------------------------------------------------------------------

    async def for_write(self, conn: Connection, tenant_id: str) -> DataKey:
        """The tenant's current data key; the first one is created on first use."""
        row = await conn.fetchrow(_ACTIVE, tenant_id)
        if row is None:
            await self.create(conn, tenant_id, key_id=1)
            row = await conn.fetchrow(_ACTIVE, tenant_id)
            if row is None:  # pragma: no cover - created just above
                raise RuntimeError("no active data key after creating one")
        return self._unwrapped(tenant_id, row)

    async def for_read(
        self, conn: Connection, tenant_id: str, key_ids: Iterable[int]
    ) -> dict[int, DataKey]:
        wanted = sorted(set(key_ids))
        found = {k: self._cache[(tenant_id, k)] for k in wanted if (tenant_id, k) in self._cache}
        missing = [k for k in wanted if k not in found]
        if missing:
            rows = await conn.fetch(
                "SELECT key_id, cipher, master_key_id, wrapped FROM rapport.tenant_keys "
                "WHERE tenant_id = $1::uuid AND key_id = ANY($2::integer[]) AND state <> 'retired'",
                tenant_id,
                missing,
            )
            for row in rows:
                found[int(row["key_id"])] = self._unwrapped(tenant_id, row)
        absent = [k for k in wanted if k not in found]
        if absent:
            raise DecryptionFailed(
                f"Tenant {tenant_id} has no usable data key {absent[0]}.",
                hint="The key was retired or deleted while values still use it; restore "
                "rapport.tenant_keys from a backup.",
            )
        return found

    async def hash_key(self, conn: Connection, tenant_id: str) -> bytes:
        """The tenant's key for audit hashes of sensitive values: derived from its first data
        key, which is never deleted (even retired), so hashes stay comparable across
        rotations."""
        first = self._cache.get((tenant_id, 1))
        if first is None:
            row = await conn.fetchrow(
                "SELECT key_id, cipher, master_key_id, wrapped FROM rapport.tenant_keys "
                "WHERE tenant_id = $1::uuid AND key_id = 1",
                tenant_id,
            )
            if row is None:
                await self.for_write(conn, tenant_id)
                return await self.hash_key(conn, tenant_id)
            first = self._unwrapped(tenant_id, row)
        return hmac.new(first.key, b"rapport-audit-hash", hashlib.sha256).digest()

    async def create(self, conn: Connection, tenant_id: str, *, key_id: int) -> None:
        master_id, wrapped = self.wrap(tenant_id, key_id, os.urandom(self.cipher.key_size))
        await conn.execute(
            "INSERT INTO rapport.tenant_keys (tenant_id, key_id, cipher, master_key_id, wrapped) "
            "VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            tenant_id,
            key_id,
            self.cipher.name,
            master_id,
            wrapped,
        )

    def _unwrapped(self, tenant_id: str, row: Record) -> DataKey:
        key_id = int(row["key_id"])
        cached = self._cache.get((tenant_id, key_id))
        if cached is not None:
            return cached
        key = self.unwrap(tenant_id, key_id, row["master_key_id"], bytes(row["wrapped"]))
        data_key = DataKey(tenant_id, key_id, cipher_by_name(row["cipher"]), key)
        self._cache[(tenant_id, key_id)] = data_key
        return data_key


# FOR SHARE: a rotation marks the old key 'retiring' only after every write that picked it has
# committed, so no value sealed with the old key appears after the re-encryption passed by.
_ACTIVE = (
    "SELECT key_id, cipher, master_key_id, wrapped FROM rapport.tenant_keys "
    "WHERE tenant_id = $1::uuid AND state = 'active' ORDER BY key_id DESC LIMIT 1 FOR SHARE"
)


@functools.cache
def default_keyring() -> KeyRing:
    """The key ring of this process's settings, for writers built without one."""
    return KeyRing.from_settings(Settings.from_env())
