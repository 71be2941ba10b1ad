"""Optional OIDC: RS256 access tokens from a configured issuer, mapped to a Principal.

Settings name the issuer, the audience, the JWKS (a file path, or an http(s) URL fetched in a
worker thread and cached by PyJWT's client) and the claims holding the user, the roles and the
tenant. The tenant claim is authoritative, exactly like the kernel token's ``tenant``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jwt

from rapport.errors import ConfigurationError, Unauthenticated
from rapport.naming import SLUG
from rapport.principal import Principal
from rapport.settings import IdentitySettings

__all__ = ["OidcVerifier"]

_HINT = "Send an access token from the configured identity provider."


class OidcVerifier:
    def __init__(self, settings: IdentitySettings) -> None:
        if settings.oidc_issuer is None or settings.oidc_jwks is None:
            raise ConfigurationError(
                "OIDC is not configured.", hint="Set RAPPORT_OIDC_ISSUER and RAPPORT_OIDC_JWKS."
            )
        self.settings = settings
        self.issuer = settings.oidc_issuer
        source = settings.oidc_jwks
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        if source.startswith(("http://", "https://")):
            self._client = jwt.PyJWKClient(source, cache_keys=True, lifespan=300)
        else:
            try:
                self._keys = jwt.PyJWKSet.from_dict(json.loads(Path(source).read_text()))
            except (OSError, ValueError, jwt.PyJWKSetError) as exc:
                raise ConfigurationError(
                    f"RAPPORT_OIDC_JWKS file {source} cannot be read as a JWKS: {exc}.",
                    hint="Point it at the issuer's JWKS JSON (the jwks_uri document).",
                ) from None

    def claims_issuer(self, token: str) -> bool:
        """True when the token's (unverified) ``iss`` is the configured issuer."""
        try:
            return bool(
                jwt.decode(token, options={"verify_signature": False}).get("iss") == self.issuer
            )
        except jwt.InvalidTokenError:
            return False

    async def verify(self, token: str) -> Principal:
        key = await self._signing_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                audience=self.settings.oidc_audience,
                options={
                    "require": ["iss", "exp", "iat"],
                    "verify_aud": self.settings.oidc_audience is not None,
                },
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The OIDC token expired.", hint=_HINT) from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"The OIDC token is not valid: {exc}.", hint=_HINT) from None
        subject = claims.get(self.settings.oidc_user_claim)
        tenant = claims.get(self.settings.oidc_tenant_claim)
        roles = claims.get(self.settings.oidc_roles_claim) or []
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated(
                f"The OIDC token lacks the {self.settings.oidc_user_claim!r} claim.", hint=_HINT
            )
        if not isinstance(tenant, str) or not SLUG.match(tenant):
            raise Unauthenticated(
                f"The OIDC token's {self.settings.oidc_tenant_claim!r} claim is not a tenant slug.",
                hint=_HINT,
            )
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise Unauthenticated(
                f"The OIDC token's {self.settings.oidc_roles_claim!r} claim is not a list.",
                hint=_HINT,
            )
        if "operator" in roles:
            raise Unauthenticated("OIDC tokens cannot carry the operator role.", hint=_HINT)
        return Principal(tenant=tenant, subject=f"oidc:{subject}", roles=frozenset(roles))

    async def _signing_key(self, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if self._client is not None:
                return (await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)).key
            assert self._keys is not None
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise Unauthenticated(f"The OIDC token's key is unknown: {exc}.", hint=_HINT) from None
        raise Unauthenticated(f"No JWKS key has the kid {kid!r}.", hint=_HINT)
