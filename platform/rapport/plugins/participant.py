"""Runs the typed record hooks of the plug-in that owns the written entity.

The owner is read from the tenant's metadata (the entity document's source
``plugin:<name>``), so a plug-in's hooks run only in tenants that have it installed, and stop
the moment it is uninstalled: nothing is registered per tenant that could be left behind.
"""

from __future__ import annotations

from rapport.db.database import Connection
from rapport.metadata.bundle import TenantMetadata
from rapport.plugins.loader import installed_registry
from rapport.plugins.registry import Registry
from rapport.plugins.spec import Hooks
from rapport.records.change import Action, Change, PendingChange, WriteParticipant

__all__ = ["PluginHooksParticipant"]


class PluginHooksParticipant(WriteParticipant):
    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry  # None: the installed plug-ins, looked up at the first write

    def _hooks(self, metadata: TenantMetadata, entity_id: str) -> Hooks | None:
        source = next(
            (d.source for d in metadata.documents if d.id == entity_id and d.source), None
        )
        if source is None or not source.startswith("plugin:"):
            return None
        registry = self._registry or installed_registry()
        plugin = registry.owner_of(source)
        return plugin.spec.hooks if plugin is not None else None

    async def before_write(self, conn: Connection, change: PendingChange) -> PendingChange:
        hooks = self._hooks(change.metadata, change.entity.id)
        if hooks is None:
            return change
        if change.action is Action.CREATE:
            return await hooks.before_create(conn, change)
        if change.action is Action.UPDATE:
            return await hooks.before_update(conn, change)
        return await hooks.before_delete(conn, change)

    async def after_write(self, conn: Connection, change: Change) -> None:
        hooks = self._hooks(change.metadata, change.entity.id)
        if hooks is None:
            return
        if change.action is Action.CREATE:
            await hooks.after_create(conn, change)
        elif change.action is Action.UPDATE:
            await hooks.after_update(conn, change)
        else:
            await hooks.after_delete(conn, change)
