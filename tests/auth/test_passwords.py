"""The password policy and argon2id hashing."""

from __future__ import annotations

import pytest

from rapport.auth.passwords import check_password_policy, hash_password, verify_password
from rapport.errors import WeakPassword


def test_a_good_password_hashes_with_argon2id_and_verifies() -> None:
    stored = hash_password("Correct-Horse-42!")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "Correct-Horse-42!")
    assert not verify_password(stored, "correct-horse-42!")
    assert not verify_password("not a hash", "Correct-Horse-42!")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Short-1!", "at least 12"),
        ("alllowercaseletters", "fewer than three"),
        ("Ada-Lovelace-1815", "contains the login"),
        ("Password123!", "commonly used"),
    ],
)
def test_weak_passwords_are_refused_with_every_reason(password: str, problem: str) -> None:
    with pytest.raises(WeakPassword) as caught:
        check_password_policy(password, login="ada-lovelace", min_length=12)
    assert caught.value.code == "WEAK_PASSWORD"
    assert problem in caught.value.message
    assert caught.value.hint


def test_the_minimum_length_is_a_setting() -> None:
    check_password_policy("Abcdefgh-1234", login="x", min_length=12)
    with pytest.raises(WeakPassword):
        check_password_policy("Abcdefgh-1234", login="x", min_length=16)
