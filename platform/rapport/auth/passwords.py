"""Password hashing (argon2id) and the password policy.

The policy follows MLPS 2.0 level 3 ("password complexity"): at least ``min_length``
characters (12 by default), at least three of four character classes (lower, upper, digit,
other), not the login, and not one of the commonly used passwords below. Every problem is
reported at once, so a user fixes the password in one go.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rapport.errors import WeakPassword

__all__ = ["check_password_policy", "hash_password", "verify_dummy", "verify_password"]

# argon2-cffi's defaults are the RFC 9106 "low memory" profile (argon2id, 64 MiB, t=3).
_HASHER = PasswordHasher()

# Frequent passwords (and their obvious stretches to 12 characters) from public breach lists.
_COMMON = frozenset(
    {
        "123456789012",
        "password1234",
        "password123!",
        "Password123!",
        "Password@123",
        "P@ssw0rd1234",
        "qwertyuiop12",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "iloveyou1234",
        "admin1234567",
        "Admin@123456",
        "welcome12345",
        "Welcome@1234",
        "abc123456789",
        "Aa123456789!",
        "changeme1234",
        "letmein12345",
        "passw0rd1234",
        "woaini131452",
        "a123456789012",
        "zxcvbnm12345",
    }
)
_COMMON_FOLDED = frozenset(p.lower() for p in _COMMON)
# Computed once: unknown users are checked against it so their login takes as long as others'.
_DUMMY_HASH = _HASHER.hash("rapport-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_dummy(password: str) -> None:
    """Spend the time of one verification (for unknown logins: no timing oracle)."""
    verify_password(_DUMMY_HASH, password)


def check_password_policy(password: str, *, login: str, min_length: int) -> None:
    """Raise WEAK_PASSWORD naming every rule ``password`` breaks."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"it has {len(password)} characters; at least {min_length} are needed")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 3:
        problems.append(
            "it mixes fewer than three of: lowercase, uppercase, digits, other characters"
        )
    folded = password.lower()
    if login and login.lower() in folded:
        problems.append("it contains the login")
    if folded in _COMMON_FOLDED:
        problems.append("it is a commonly used password")
    if problems:
        raise WeakPassword(
            "The password is too weak: " + "; ".join(problems) + ".",
            hint=f"Choose at least {min_length} characters mixing upper- and lowercase letters, "
            "digits and symbols, unrelated to the login (a passphrase works well).",
            details={"problems": problems},
        )
