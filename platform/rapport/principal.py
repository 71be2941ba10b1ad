"""Who is asking: the authenticated identity every request carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["ADMIN_ROLE", "OPERATOR_ROLE", "ClientFacts", "Principal"]

ADMIN_ROLE = "admin"  # may do everything inside its tenant
OPERATOR_ROLE = "operator"  # runs the platform: creates tenants; holds no tenant data rights


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """Where a request came from, as the HTTP layer saw it: the client address (the peer, or
    the client a trusted proxy names) and the User-Agent. Evidence (a signature) records them."""

    address: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str | None  # tenant slug; None only for platform operators
    subject: str  # user id or API client id
    roles: frozenset[str]
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # The access token's jti (logout revokes it); None for API keys and internal principals.
    token_id: str | None = field(default=None, compare=False)
    # The access token's iat (epoch seconds, ms precision): subject revocations compare it.
    issued_at: float | None = field(default=None, compare=False)
    # The HTTP request's client facts (rapport.graphql.http); None off the request path.
    client: ClientFacts | None = field(default=None, compare=False)

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    @property
    def is_operator(self) -> bool:
        return OPERATOR_ROLE in self.roles
