"""The plug-in fields of the admin API (mixed into its Query and Mutation).

``plugins`` lists what this installation offers; ``installedPlugins`` the token's tenant's;
``installPlugin``/``upgradePlugin``/``uninstallPlugin`` act on the token's tenant (admins),
with ``dryRun`` returning the plan without changing anything. Subscription plans are managed
by operators with ``rapport plugin plans``; a tenant installs only what its plan allows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from rapport.plugins import installed_registry
from rapport.plugins import lifecycle as plugin_lifecycle
from rapport.plugins.lifecycle import PluginChange

__all__ = ["PluginMutation", "PluginQuery"]

AnyInfo = Info[Any, None]


@strawberry.type(description="A plug-in this installation offers.")
class PluginInfo:
    name: str
    version: str
    description: str
    requires: list[str]
    documents: list[str] = strawberry.field(description="Ids of its metadata documents.")


@strawberry.type(description="A plug-in installed in the tenant.")
class InstalledPluginInfo:
    name: str
    version: str
    available_version: str | None = strawberry.field(
        description="The version this installation offers (null: its package is missing)."
    )
    installed_at: datetime
    installed_by: str | None


@strawberry.type(description="What an install, upgrade or uninstall did or (dry run) would do.")
class PluginChangeResult:
    plugin: str
    from_version: str | None
    to_version: str | None
    applied: bool
    metadata_version: int
    plan: JSON = strawberry.field(description="The plan's steps (summary, sql, destructive…).")
    upgrades_run: list[str]
    removed_extensions: list[str]
    archive_schema: str | None

    @classmethod
    def of(cls, change: PluginChange) -> PluginChangeResult:
        return cls(
            plugin=change.plugin,
            from_version=change.from_version,
            to_version=change.to_version,
            applied=change.applied,
            metadata_version=change.metadata_version,
            plan=cast(JSON, change.plan.as_dict()),
            upgrades_run=list(change.upgrades_run),
            removed_extensions=list(change.removed_extensions),
            archive_schema=change.archive_schema,
        )


def _plugins(info: AnyInfo) -> list[PluginInfo]:
    return [
        PluginInfo(
            name=p.name,
            version=str(p.version),
            description=p.spec.description,
            requires=list(p.spec.requires),
            documents=[d.id for d in p.documents],
        )
        for p in installed_registry()
    ]


async def _installed(info: AnyInfo) -> list[InstalledPluginInfo]:
    ctx = info.context
    registry = installed_registry()
    rows = await plugin_lifecycle.installed(ctx.services.db, ctx.tenant_slug())
    return [
        InstalledPluginInfo(
            name=p.name,
            version=p.version,
            available_version=str(registry.plugins[p.name].version) if p.name in registry else None,
            installed_at=p.installed_at,
            installed_by=p.installed_by,
        )
        for p in rows
    ]


async def _install(
    info: AnyInfo, name: str, dry_run: bool = False, allow_destructive: bool = False
) -> PluginChangeResult:
    ctx = info.context
    slug = ctx.tenant_slug()
    change = await plugin_lifecycle.install(
        ctx.services.db,
        slug,
        name,
        actor=ctx.actor,
        dry_run=dry_run,
        allow_destructive=allow_destructive,
    )
    ctx.services.runtimes.mark_stale(slug)
    return PluginChangeResult.of(change)


async def _upgrade(
    info: AnyInfo, name: str, dry_run: bool = False, allow_destructive: bool = False
) -> PluginChangeResult:
    ctx = info.context
    slug = ctx.tenant_slug()
    change = await plugin_lifecycle.upgrade(
        ctx.services.db,
        slug,
        name,
        actor=ctx.actor,
        participants=ctx.services.kernel.participants,
        dry_run=dry_run,
        allow_destructive=allow_destructive,
    )
    ctx.services.runtimes.mark_stale(slug)
    return PluginChangeResult.of(change)


async def _uninstall(
    info: AnyInfo,
    name: str,
    archive: bool = False,
    export_directory: str | None = None,
    dry_run: bool = False,
) -> PluginChangeResult:
    ctx = info.context
    slug = ctx.tenant_slug()
    change = await plugin_lifecycle.uninstall(
        ctx.services.db,
        slug,
        name,
        actor=ctx.actor,
        archive=archive,
        export_to=Path(export_directory) if export_directory else None,
        dry_run=dry_run,
    )
    ctx.services.runtimes.mark_stale(slug)
    return PluginChangeResult.of(change)


@strawberry.type
class PluginQuery:
    plugins: list[PluginInfo] = strawberry.field(
        resolver=_plugins, description="The plug-ins this installation offers."
    )
    installed_plugins: list[InstalledPluginInfo] = strawberry.field(
        resolver=_installed, description="The plug-ins installed in the token's tenant."
    )


@strawberry.type
class PluginMutation:
    install_plugin: PluginChangeResult = strawberry.mutation(
        resolver=_install,
        description="Install a plug-in its plan allows into the token's tenant (dryRun: plan).",
    )
    upgrade_plugin: PluginChangeResult = strawberry.mutation(
        resolver=_upgrade,
        description="Upgrade to the offered version: metadata, then data migrations; atomic.",
    )
    uninstall_plugin: PluginChangeResult = strawberry.mutation(
        resolver=_uninstall,
        description="Remove a plug-in; archive: keep its tables in an archive schema, "
        "exportDirectory: write its data as JSON on the server first (one is required).",
    )
