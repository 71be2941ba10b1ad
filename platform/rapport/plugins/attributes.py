"""Plug-in attribute providers on the request path: ``Hooks.principal_attributes`` → ``$user``.

When a request's principal is resolved for a tenant API, :class:`PluginAttributes` calls the
``principal_attributes`` hook of every plug-in installed in that tenant (the plug-ins whose
documents the metadata version holds, in plug-in name order) on one pooled connection and
merges the results over the attributes the principal already carries (the login user's stored
attributes): the plug-in's value wins, because it is derived from the tenant's records (the
org chart) while stored attributes are free-form. Two plug-ins naming the same attribute: the
later one in name order wins.

Results are kept per (tenant, subject, metadata version) for ``ttl`` seconds in a bounded LRU,
like the authenticator's user cache: a publish (new version) or an install changes the key at
once; an org-chart edit is seen within ``ttl``. Principals without a tenant, and tenants with no
plug-in, cost nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rapport.db.database import Database
from rapport.plugins.loader import installed_registry
from rapport.plugins.registry import Registry
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.db.tenants import Tenant
    from rapport.metadata.bundle import TenantMetadata

__all__ = ["PluginAttributes"]

_Key = tuple[str, str, int]


class PluginAttributes:
    def __init__(
        self,
        db: Database,
        ttl: float,
        *,
        registry: Registry | None = None,
        max_size: int = 4096,
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._registry = registry  # None: the installed plug-ins, looked up at first use
        self._max_size = max_size
        self._cache: OrderedDict[_Key, tuple[float, Mapping[str, Any]]] = OrderedDict()

    async def enrich(
        self, tenant: Tenant, metadata: TenantMetadata, principal: Principal
    ) -> Principal:
        """``principal`` with the installed plug-ins' attributes merged into its attributes."""
        if principal.tenant != tenant.slug:
            return principal  # the executor refuses a foreign principal; add nothing to it
        sources = sorted({d.source for d in metadata.documents if d.source.startswith("plugin:")})
        if not sources:
            return principal
        key = (tenant.slug, principal.subject, tenant.metadata_version)
        hit = self._cache.get(key)
        if hit is None or time.monotonic() - hit[0] > self._ttl:
            hit = (time.monotonic(), await self._load(tenant, sources, principal))
            self._cache[key] = hit
            self._cache.move_to_end(key)
            if len(self._cache) > self._max_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        added = hit[1]
        if not added:
            return principal
        return replace(principal, attributes=MappingProxyType({**principal.attributes, **added}))

    async def _load(
        self, tenant: Tenant, sources: list[str], principal: Principal
    ) -> Mapping[str, Any]:
        registry = self._registry or installed_registry()
        merged: dict[str, Any] = {}
        async with self._db.acquire() as conn:
            for source in sources:
                plugin = registry.owner_of(source)
                if plugin is None:
                    continue  # the package was removed from the installation
                merged.update(await plugin.spec.hooks.principal_attributes(conn, tenant, principal))
        return MappingProxyType(merged)
