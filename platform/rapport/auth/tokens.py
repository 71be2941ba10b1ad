"""Access tokens: HS256 JWTs that carry who is asking and for which tenant.

Claims: ``iss="rapport"``, ``sub`` (user or client id), ``tenant`` (slug; absent for platform
operators), ``roles`` (list of role names), ``iat`` (with milliseconds: revocations that cut off a
subject's tokens compare it, rapport.auth.revocation), ``exp``, ``jti``. Later issues add users,
login and API keys on the same format, so the claim names are a contract.

Every rejection raises :class:`~rapport.errors.Unauthenticated` with a message that says what
is wrong with the token and a hint that says how to get a good one.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import jwt

from rapport.errors import ConfigurationError, Unauthenticated
from rapport.naming import SLUG
from rapport.principal import OPERATOR_ROLE, Principal
from rapport.settings import Settings

__all__ = [
    "ALGORITHM",
    "ISSUER",
    "TokenVerifier",
    "issue_token",
    "verify_token",
]

ALGORITHM = "HS256"
ISSUER = "rapport"
# Tolerated clock difference between the machine that issued a token and the one verifying it.
LEEWAY_SECONDS = 30
MIN_SECRET_BYTES = 32
_REQUIRED = ("iss", "sub", "roles", "iat", "exp", "jti")
_ISSUE_HINT = "Issue a new token with `rapport token issue --tenant SLUG --role admin`."


def issue_token(
    settings: Settings,
    *,
    tenant: str | None,
    subject: str,
    roles: Sequence[str],
    ttl_seconds: int | None = None,
) -> str:
    """A signed token for ``subject`` in ``tenant`` (None: a platform operator)."""
    secret = _secret(settings)
    if tenant is None and OPERATOR_ROLE not in roles:
        raise ConfigurationError(
            "A token without a tenant must carry the operator role.",
            hint="Pass a tenant slug, or issue an operator token (`rapport token issue --operator`).",
        )
    if tenant is not None and not SLUG.match(tenant):
        raise ConfigurationError(
            f"{tenant!r} is not a tenant slug.",
            hint="Tenant slugs are 2-40 characters: a lowercase letter, then a-z, 0-9 or _.",
        )
    if not subject:
        raise ConfigurationError("A token needs a subject.", hint="Pass --subject NAME.")
    bad_roles = [r for r in roles if not isinstance(r, str) or not r]
    if bad_roles:
        raise ConfigurationError(
            f"Role names must be non-empty strings, got {bad_roles!r}.", hint="Pass --role NAME."
        )
    ttl = settings.jwt_ttl_seconds if ttl_seconds is None else ttl_seconds
    if ttl < 1:
        raise ConfigurationError(
            f"A token lifetime of {ttl} seconds is not positive.", hint="Pass --ttl 1 or more."
        )
    now = round(time.time(), 3)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "roles": list(dict.fromkeys(roles)),
        "iat": now,
        "exp": int(now) + ttl,
        "jti": uuid.uuid4().hex,
    }
    if tenant is not None:
        claims["tenant"] = tenant
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(settings: Settings, token: str | None) -> Principal:
    """The principal a token stands for, or :class:`Unauthenticated` saying why not."""
    principal, _ = _verify(_secret(settings), _present(token))
    return principal


class TokenVerifier:
    """``verify_token`` with a small LRU of verified tokens, honouring each token's ``exp``.

    A client sends the same token on every request; verifying the HMAC and the claims again each
    time costs more than the rest of authentication, so one server keeps the answer until the
    token expires.
    """

    def __init__(self, settings: Settings, *, max_size: int = 1024) -> None:
        self._secret = _secret(settings)
        self._max_size = max_size
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str | None) -> Principal:
        token = _present(token)
        hit = self._cache.get(token)
        if hit is not None:
            principal, expires_at = hit
            if time.time() < expires_at:
                self._cache.move_to_end(token)
                return principal
            del self._cache[token]
        principal, expires_at = _verify(self._secret, token)
        self._cache[token] = (principal, expires_at)
        if len(self._cache) > self._max_size:
            self._cache.popitem(last=False)
        return principal

    def __len__(self) -> int:
        return len(self._cache)


def _secret(settings: Settings) -> str:
    if len(settings.jwt_secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"RAPPORT_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes.",
            hint="Set RAPPORT_JWT_SECRET to at least 32 random bytes (e.g. `openssl rand -hex 32`).",
        )
    return settings.jwt_secret


def _present(token: str | None) -> str:
    if not token:
        raise Unauthenticated(
            "No access token was sent.",
            hint="Send the header `Authorization: Bearer <token>`. " + _ISSUE_HINT,
        )
    return token


def _verify(secret: str, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": list(_REQUIRED)},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(
            f"The access token expired{_expired_at(token)}.", hint=_ISSUE_HINT
        ) from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated(
            "The access token's signature is not valid: it was forged or signed with another key.",
            hint="Use a token issued by this deployment (same RAPPORT_JWT_SECRET). " + _ISSUE_HINT,
        ) from None
    except jwt.InvalidAlgorithmError:
        raise Unauthenticated(
            f"The access token is signed with {_header_alg(token)!r}; only {ALGORITHM} is accepted.",
            hint=_ISSUE_HINT,
        ) from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated(
            f"The access token was issued by someone else (iss must be {ISSUER!r}).",
            hint=_ISSUE_HINT,
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(
            f"The access token lacks the {exc.claim!r} claim.", hint=_ISSUE_HINT
        ) from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated(
            "The access token is not valid yet (issued in the future).",
            hint="Check the clocks of the issuing machine and this server. " + _ISSUE_HINT,
        ) from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(
            f"The access token is malformed: {exc}.",
            hint="Send the JWT exactly as issued, after `Bearer `. " + _ISSUE_HINT,
        ) from None
    return _principal(claims), float(claims["exp"])


def _principal(claims: Mapping[str, Any]) -> Principal:
    subject = claims["sub"]
    roles = claims["roles"]
    tenant = claims.get("tenant")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("The access token's 'sub' claim is empty.", hint=_ISSUE_HINT)
    if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
        raise Unauthenticated(
            "The access token's 'roles' claim is not a list of role names.", hint=_ISSUE_HINT
        )
    if tenant is None:
        if OPERATOR_ROLE not in roles:
            raise Unauthenticated(
                "The access token lacks the 'tenant' claim.",
                hint="Only operator tokens may omit the tenant. " + _ISSUE_HINT,
            )
    elif not isinstance(tenant, str) or not SLUG.match(tenant):
        raise Unauthenticated(
            "The access token's 'tenant' claim is not a tenant slug.", hint=_ISSUE_HINT
        )
    jti = claims.get("jti")
    iat = claims.get("iat")
    return Principal(
        tenant=tenant,
        subject=subject,
        roles=frozenset(roles),
        token_id=jti if isinstance(jti, str) else None,
        issued_at=float(iat) if isinstance(iat, int | float) else None,
    )


def _expired_at(token: str) -> str:
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.InvalidTokenError:
        return ""
    if not isinstance(exp, int | float):
        return ""
    return " at " + datetime.fromtimestamp(exp, UTC).isoformat(timespec="seconds")


def _header_alg(token: str) -> str:
    try:
        return str(jwt.get_unverified_header(token).get("alg"))
    except jwt.InvalidTokenError:
        return "an unknown algorithm"
