"""The sealed-value layout and AES-256-GCM: wrong keys and moved values fail loudly."""

from __future__ import annotations

import struct

import pytest

from rapport.crypto.cipher import AES_256_GCM, Sealed, key_id_of
from rapport.crypto.fields import field_aad
from rapport.errors import DecryptionFailed

KEY = bytes(range(32))
AAD = field_aad("6f1d4c52-8d4e-4d7b-9a53-2f0c2f7c7a11", "salary")


def test_layout_is_cipher_id_key_id_nonce_ciphertext() -> None:
    # given / when
    raw = Sealed.seal(AES_256_GCM, 7, KEY, b'"8000.00"', AAD)

    # then
    assert raw[0] == 0x01
    assert struct.unpack(">I", raw[1:5])[0] == 7 == key_id_of(raw)
    assert len(raw) == 1 + 4 + 12 + len(b'"8000.00"') + 16
    assert b"8000" not in raw
    assert Sealed.parse(raw).open(KEY, AAD) == b'"8000.00"'


def test_the_same_value_seals_differently_each_time() -> None:
    assert Sealed.seal(AES_256_GCM, 1, KEY, b"1", AAD) != Sealed.seal(
        AES_256_GCM, 1, KEY, b"1", AAD
    )


@pytest.mark.parametrize(
    "key, aad",
    [
        (bytes(32), AAD),  # wrong key
        (KEY, field_aad("6f1d4c52-8d4e-4d7b-9a53-2f0c2f7c7a11", "bonus")),  # another field
        (KEY, field_aad("00000000-8d4e-4d7b-9a53-2f0c2f7c7a11", "salary")),  # another row
    ],
)
def test_a_wrong_key_or_place_is_a_clear_error(key: bytes, aad: bytes) -> None:
    # given
    raw = Sealed.seal(AES_256_GCM, 1, KEY, b"secret", AAD)
    # when / then
    with pytest.raises(DecryptionFailed, match="does not open"):
        Sealed.parse(raw).open(key, aad)


def test_a_flipped_bit_or_truncation_is_detected() -> None:
    # given
    raw = bytearray(Sealed.seal(AES_256_GCM, 1, KEY, b"secret", AAD))
    raw[-1] ^= 1
    # when / then
    with pytest.raises(DecryptionFailed):
        Sealed.parse(bytes(raw)).open(KEY, AAD)
    with pytest.raises(DecryptionFailed, match="truncated"):
        Sealed.parse(bytes(raw[:10]))
    with pytest.raises(DecryptionFailed, match="cipher 0x09"):
        Sealed.parse(b"\x09" + bytes(raw[1:]))
