"""One request's credentials → Principal: kernel JWT, OIDC token, or API key.

``Authorization: Bearer rk_…`` or (without an Authorization header) ``X-API-Key: rk_…`` is an
API key; a Bearer JWT whose issuer
is the configured OIDC issuer is verified by :class:`~rapport.auth.oidc.OidcVerifier`; any other
Bearer token is a kernel token (HS256, cached by :class:`~rapport.auth.tokens.TokenVerifier`)
and is then checked against the revoked-token list; a login user's token gets the user's
stored attributes (``$user.*``) and stops working when the user is disabled. Nothing in the
request other than the credential decides the tenant.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from starlette.datastructures import Headers

from rapport.auth.api_keys import PREFIX, ApiKeyVerifier
from rapport.auth.oidc import OidcVerifier
from rapport.auth.revocation import RevocationList
from rapport.auth.throttle import LoginThrottle
from rapport.auth.tokens import TokenVerifier
from rapport.crypto.keys import KeyRing, default_keyring
from rapport.db.database import Database
from rapport.errors import Unauthenticated
from rapport.principal import Principal
from rapport.settings import Settings

__all__ = ["Authenticator", "UserDirectory", "bearer"]


def bearer(headers: Headers) -> str | None:
    header = headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "The Authorization header is not `Bearer <token>`.",
            hint="Send `Authorization: Bearer <token>` with a token from `rapport token issue`.",
        )
    return token.strip()


class Authenticator:
    def __init__(self, settings: Settings, db: Database, tokens: TokenVerifier) -> None:
        ttl = settings.identity.revocation_cache_seconds
        self.tokens = tokens
        self.revocations = RevocationList(db, ttl)
        self.api_keys = ApiKeyVerifier(db, cache_seconds=ttl)
        self.oidc = OidcVerifier(settings.identity) if settings.identity.oidc_issuer else None
        self.users = UserDirectory(db, ttl)
        # Login attempts and TOTP secrets (sealed with the tenant keyring) for /auth/*.
        self.logins = LoginThrottle(settings.identity)
        # The same key ring as the tenant APIs' record writers (sealed fields), so one tenant
        # data key serves both.
        self.keyring: KeyRing = default_keyring()

    async def authenticate(self, headers: Headers) -> Principal:
        token = bearer(headers)
        if token is None:
            api_key = headers.get("x-api-key")
            if api_key is not None:
                return await self.api_keys.verify(api_key.strip())
        elif token.startswith(PREFIX):
            return await self.api_keys.verify(token)
        elif self.oidc is not None and self.oidc.claims_issuer(token):
            return await self.oidc.verify(token)
        principal = self.tokens.verify(token)
        await self.revocations.check(principal)
        return await self.users.enrich(principal)


class UserDirectory:
    """Attaches a login user's stored attributes (``$user.*``) to its principal, and refuses
    the access tokens of a user disabled since they were issued.

    Kept per (tenant, user id) for ``ttl`` seconds (bounded LRU); subjects that are no user
    (tokens from ``rapport token issue``) are remembered as such, so they cost no query either.
    """

    def __init__(self, db: Database, ttl: float, *, max_size: int = 4096) -> None:
        self._db = db
        self._ttl = ttl
        self._max_size = max_size
        self._cache: OrderedDict[tuple[str, str], tuple[float, Mapping[str, Any] | None]] = (
            OrderedDict()
        )

    async def enrich(self, principal: Principal) -> Principal:
        if principal.tenant is None or not _UUID.match(principal.subject):
            return principal
        key = (principal.tenant, principal.subject)
        hit = self._cache.get(key)
        if hit is None or time.monotonic() - hit[0] > self._ttl:
            hit = (time.monotonic(), await self._load(*key))
            self._cache[key] = hit
            if len(self._cache) > self._max_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        attributes = hit[1]
        if attributes is None:
            return principal
        if attributes is _DISABLED:
            raise Unauthenticated(
                "The account was disabled.", hint="Ask a system administrator of your tenant."
            )
        return replace(principal, attributes=attributes)

    async def _load(self, tenant: str, user_id: str) -> Mapping[str, Any] | None:
        row = await self._db.fetchrow(
            "SELECT u.attributes, u.status FROM rapport.users u "
            "JOIN rapport.tenants t ON t.id = u.tenant_id WHERE u.id = $1::uuid AND t.slug = $2",
            user_id,
            tenant,
        )
        if row is None:
            return None
        if row["status"] != "active":
            return _DISABLED
        value = row["attributes"]
        return MappingProxyType(dict(json.loads(value) if isinstance(value, str) else value))


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DISABLED: Mapping[str, Any] = MappingProxyType({"": "disabled"})
