"""What request handlers need, built once at start-up by the app factory (rapport.app).

:class:`Services` sits below every endpoint (HTTP, admin, public, websocket, auth routes): they
read it from the app's state, and the app factory, which imports them, builds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import strawberry

from rapport.auth.authenticate import Authenticator
from rapport.auth.tokens import TokenVerifier
from rapport.capability import Kernel
from rapport.db.database import Database
from rapport.graphql.events import EventHub
from rapport.graphql.limits import PersistedOperations
from rapport.plugins.attributes import PluginAttributes
from rapport.ratelimit import TokenBuckets
from rapport.runtime import TenantRuntimes
from rapport.settings import Settings

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """What request handlers need; built at start-up, immutable afterwards."""

    settings: Settings
    db: Database
    kernel: Kernel  # the capabilities (rapport.composition): for writers outside a tenant API
    runtimes: TenantRuntimes
    tokens: TokenVerifier
    admin: strawberry.Schema  # rapport.graphql.admin.AdminSchema; endpoints are above this module
    # Every request's credentials: kernel JWT (+ revocation), OIDC, API keys (rapport.auth).
    auth: Authenticator
    # RAPPORT_PERSISTED_OPERATIONS loaded: only these operations run; None: any operation.
    persisted: PersistedOperations | None = None
    # Record change events for websocket subscriptions (one LISTEN connection, started lazily).
    events: EventHub | None = None
    # $user attributes from the installed plug-ins' principal_attributes hooks (None: none).
    plugin_attributes: PluginAttributes | None = None
    # Per-tenant token buckets of the login-free /public/{tenant}/graphql (None: endpoint off).
    public_limits: TokenBuckets | None = None
