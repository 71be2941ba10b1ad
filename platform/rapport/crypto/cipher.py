"""Authenticated ciphers behind one small protocol, and the layout of a sealed value.

A sealed value (the ``bytea`` of a sensitive column) is::

    cipher id (1 byte) ‖ data key id (4 bytes, big-endian) ‖ nonce ‖ ciphertext ‖ tag

The cipher id says which :class:`Cipher` sealed it (0x01 AES-256-GCM), so a later cipher can be
added without re-encrypting old values: readers pick the cipher by the first byte. The
associated data (the record id and field name, see ``rapport.crypto.fields``) is authenticated
but not stored: a value copied to another row or field fails to open.

Slot for SM4 (密评, GB/T 39786-2021): an ``Sm4Gcm`` cipher with id 0x02, a 16-byte key and a
12-byte nonce (e.g. from ``gmssl``), added to :data:`CIPHERS`; tenants then get data keys of
that cipher (``rapport.tenant_keys.cipher``) on their next rotation.
"""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rapport.errors import DecryptionFailed

__all__ = ["AES_256_GCM", "CIPHERS", "AesGcm", "Cipher", "Sealed", "cipher_by_id", "cipher_by_name"]


class Cipher(Protocol):
    """An AEAD cipher: ``open`` raises :class:`DecryptionFailed` rather than return garbage."""

    id: int  # the first byte of every value it seals
    name: str  # stored with each data key
    key_size: int
    nonce_size: int

    def seal(self, key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes: ...

    def open(self, key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes: ...


@functools.lru_cache(maxsize=256)
def _aead(key: bytes) -> AESGCM:
    # Building the key schedule once per key, not per value: a 1,000-row read opens 1,000 values.
    return AESGCM(key)


class AesGcm:
    id = 0x01
    name = "aes-256-gcm"
    key_size = 32
    nonce_size = 12  # random per value: 2^32 values per key keep the collision risk negligible

    def seal(self, key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return _aead(key).encrypt(nonce, plaintext, aad)

    def open(self, key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return _aead(key).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise DecryptionFailed(
                "An encrypted value does not open with its key: the key is wrong, or the value "
                "was altered or copied from another record or field.",
                hint="Check RAPPORT_MASTER_KEY (and RAPPORT_MASTER_KEYS_PREVIOUS during a "
                "rotation); restore the value from a backup if it was tampered with.",
            ) from None


AES_256_GCM = AesGcm()
CIPHERS: MappingProxyType[int, Cipher] = MappingProxyType({AES_256_GCM.id: AES_256_GCM})

_HEADER = struct.Struct(">BI")


def cipher_by_id(cipher_id: int) -> Cipher:
    found = CIPHERS.get(cipher_id)
    if found is None:
        raise DecryptionFailed(
            f"An encrypted value uses cipher {cipher_id:#04x}, which this server does not have.",
            hint="Upgrade Rapport to a version that supports it.",
        )
    return found


def cipher_by_name(name: str) -> Cipher:
    for cipher in CIPHERS.values():
        if cipher.name == name:
            return cipher
    raise DecryptionFailed(
        f"A data key uses the cipher {name!r}, which this server does not have.",
        hint="Upgrade Rapport to a version that supports it.",
    )


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed value taken apart."""

    cipher: Cipher
    key_id: int
    nonce: bytes
    ciphertext: bytes

    @classmethod
    def parse(cls, raw: bytes) -> Sealed:
        if len(raw) < _HEADER.size:
            raise DecryptionFailed(
                "An encrypted value is truncated.", hint="Restore the value from a backup."
            )
        cipher_id, key_id = _HEADER.unpack_from(raw)
        cipher = cipher_by_id(cipher_id)
        start = _HEADER.size + cipher.nonce_size
        if len(raw) < start + 16:
            raise DecryptionFailed(
                "An encrypted value is truncated.", hint="Restore the value from a backup."
            )
        return cls(cipher, key_id, raw[_HEADER.size : start], raw[start:])

    @staticmethod
    def seal(cipher: Cipher, key_id: int, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(cipher.nonce_size)
        return _HEADER.pack(cipher.id, key_id) + nonce + cipher.seal(key, nonce, plaintext, aad)

    def open(self, key: bytes, aad: bytes) -> bytes:
        return self.cipher.open(key, self.nonce, self.ciphertext, aad)


def key_id_of(raw: bytes) -> int:
    """The data key id of a sealed value, without opening it."""
    if len(raw) < _HEADER.size:
        raise DecryptionFailed(
            "An encrypted value is truncated.", hint="Restore the value from a backup."
        )
    return int(_HEADER.unpack_from(raw)[1])
