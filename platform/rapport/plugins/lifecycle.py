"""A plug-in's life in one tenant: install, upgrade, uninstall.

Each operation is one transaction under the tenant's publish lock and publishes a new metadata
version through :func:`rapport.metadata.lifecycle.publish_on` whose documents are the kernel's,
the installed plug-ins' (source ``plugin:<name>``) and the tenant's own. ``dry_run`` computes
the plan and stops: the operator sees it before anything changes.

- install: the tenant's plan must include the plug-in and its dependencies must be installed in
  compatible versions; the plug-in's documents are added.
- upgrade: the plug-in's documents are replaced by the new version's (tenant extensions made
  with ``x-extends`` are merged onto the new ones), then the plug-in's data migrations of every
  version in (installed, new] run in version order on the new metadata, all in the same
  transaction: all or nothing.
- uninstall: the operator chooses to keep the data in an archive schema
  ``archive_<slug>_<plugin>_<timestamp>`` (copied in the transaction) or to export it as JSON
  files first; then the documents (entities, forms, permissions, workflows) and the tenant's
  extensions of the plug-in's entities are removed, and the plan drops the tables. Hooks and
  jobs run only for tenants whose metadata holds the plug-in's documents, so none remains.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.version import Version

from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection, Database
from rapport.db.tenants import Queryable, Tenant, get_tenant, lock_tenant
from rapport.errors import ConstraintViolation, NotFound, ValidationFailed
from rapport.metadata import lifecycle as metadata_lifecycle
from rapport.metadata.bundle import compile_tenant
from rapport.metadata.documents import Document, DocumentKind, kernel_documents, write_folder
from rapport.metadata.extensions import EXTENDS, is_extension
from rapport.metadata.plan import Plan
from rapport.naming import qualified, quote_ident
from rapport.plugins.loader import installed_registry
from rapport.plugins.registry import LoadedPlugin, Registry
from rapport.plugins.spec import UpgradeContext
from rapport.plugins.subscriptions import check_allowed
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import WriteParticipant
from rapport.records.writer import RecordWriter

__all__ = [
    "InstalledPlugin",
    "PluginChange",
    "install",
    "installed",
    "uninstall",
    "upgrade",
]

_MAX_IDENT = 63  # PostgreSQL's identifier length


@dataclass(frozen=True, slots=True)
class InstalledPlugin:
    name: str
    version: str
    metadata_version: int
    installed_at: datetime
    installed_by: str | None
    upgraded_at: datetime | None


@dataclass(frozen=True, slots=True)
class PluginChange:
    """What an install, upgrade or uninstall did (or, with ``applied`` False, would do)."""

    plugin: str
    from_version: str | None  # None: was not installed
    to_version: str | None  # None: uninstalled
    plan: Plan
    applied: bool
    metadata_version: int  # the tenant's version afterwards (unchanged for a dry run)
    upgrades_run: tuple[str, ...] = ()
    removed_extensions: tuple[str, ...] = ()
    archive_schema: str | None = None
    exported: tuple[Path, ...] = field(default_factory=tuple)


class _DryRun(Exception):
    """Rolls a dry run's transaction back after the plan is known."""

    def __init__(self, change: PluginChange) -> None:
        super().__init__(change.plugin)
        self.change = change


async def installed(db: Queryable, slug: str) -> list[InstalledPlugin]:
    tenant = await get_tenant(db, slug)
    return await _installed(db, tenant)


async def _installed(db: Queryable, tenant: Tenant) -> list[InstalledPlugin]:
    rows = await db.fetch(
        """
        SELECT plugin, version, metadata_version, installed_at, installed_by, upgraded_at
          FROM rapport.plugin_installs WHERE tenant_id = $1::uuid ORDER BY plugin
        """,
        tenant.id,
    )
    return [
        InstalledPlugin(
            r["plugin"],
            r["version"],
            r["metadata_version"],
            r["installed_at"],
            r["installed_by"],
            r["upgraded_at"],
        )
        for r in rows
    ]


async def install(
    db: Database,
    slug: str,
    name: str,
    *,
    actor: str,
    dry_run: bool = False,
    allow_destructive: bool = False,
    registry: Registry | None = None,
) -> PluginChange:
    plugins = registry or installed_registry()
    plugin = plugins.get(name)
    return await _run(db, dry_run, _install(slug, plugin, actor, allow_destructive, dry_run))


def _install(
    slug: str, plugin: LoadedPlugin, actor: str, allow_destructive: bool, dry_run: bool
) -> Any:
    async def work(conn: Connection) -> PluginChange:
        tenant = await _locked(conn, slug)
        await check_allowed(conn, tenant.id, slug, plugin.name)
        present = {p.name: p for p in await _installed(conn, tenant)}
        if plugin.name in present:
            raise ConstraintViolation(
                f"Plug-in {plugin.name} {present[plugin.name].version} is already installed in "
                f"tenant {slug!r}.",
                hint=f"Use `rapport plugin upgrade --tenant {slug} {plugin.name}` for a newer "
                "version.",
            )
        for text in plugin.spec.requires:
            req = Requirement(text)
            dep = present.get(req.name)
            if dep is None or not req.specifier.contains(Version(dep.version), prereleases=True):
                found = f"{req.name} {dep.version} is installed" if dep else "it is not installed"
                raise ConstraintViolation(
                    f"Plug-in {plugin.name} requires {text} in tenant {slug!r}, but {found}.",
                    hint=f"Install or upgrade {req.name} in the tenant first.",
                )
        tenant_docs, plugin_docs = await _current(conn, tenant)
        new_plugin_docs = plugin_docs + plugin.documents
        note = f"install plug-in {plugin.name} {plugin.version}"
        if dry_run:
            steps = await metadata_lifecycle.plan(
                conn, slug, tenant_docs, plugin_documents=new_plugin_docs
            )
            raise _DryRun(
                PluginChange(
                    plugin.name, None, str(plugin.version), steps, False, tenant.metadata_version
                )
            )
        result = await metadata_lifecycle.publish_on(
            conn,
            slug,
            tenant_docs,
            plugin_documents=new_plugin_docs,
            actor=actor,
            note=note,
            allow_destructive=allow_destructive,
        )
        await conn.execute(
            """
            INSERT INTO rapport.plugin_installs
                (tenant_id, plugin, version, metadata_version, installed_by)
            VALUES ($1::uuid, $2, $3, $4, $5)
            """,
            tenant.id,
            plugin.name,
            str(plugin.version),
            result.version,
            actor,
        )
        return PluginChange(
            plugin.name, None, str(plugin.version), result.plan, True, result.version
        )

    return work


async def upgrade(
    db: Database,
    slug: str,
    name: str,
    *,
    actor: str,
    participants: Sequence[WriteParticipant],
    dry_run: bool = False,
    allow_destructive: bool = False,
    registry: Registry | None = None,
) -> PluginChange:
    """Upgrade ``name`` in the tenant; its data migrations write with the kernel's
    ``participants``, like every other writer."""
    plugins = registry or installed_registry()
    plugin = plugins.get(name)

    async def work(conn: Connection) -> PluginChange:
        tenant = await _locked(conn, slug)
        present = {p.name: p for p in await _installed(conn, tenant)}
        current = _require_installed(present, slug, name)
        old = Version(current.version)
        if plugin.version < old:
            raise ConstraintViolation(
                f"Tenant {slug!r} has {name} {old}; this installation offers the older "
                f"{plugin.version}. Plug-ins are never downgraded.",
                hint="Install the newer plug-in package again.",
            )
        for other in present.values():
            for text in plugins.get(other.name).spec.requires if other.name in plugins else ():
                req = Requirement(text)
                if req.name == name and not req.specifier.contains(plugin.version, True):
                    raise ConstraintViolation(
                        f"Plug-in {other.name} in tenant {slug!r} requires {text}; "
                        f"{name} {plugin.version} would break it.",
                        hint=f"Upgrade {other.name} first, or keep {name} at {old}.",
                    )
        tenant_docs, plugin_docs = await _current(conn, tenant)
        new_plugin_docs = _without(plugin_docs, plugin.spec.source) + plugin.documents
        steps_due = sorted(
            (Version(v), step)
            for v, step in plugin.spec.upgrades.items()
            if old < Version(v) <= plugin.version
        )
        if dry_run:
            steps = await metadata_lifecycle.plan(
                conn, slug, tenant_docs, plugin_documents=new_plugin_docs
            )
            raise _DryRun(
                PluginChange(
                    name,
                    str(old),
                    str(plugin.version),
                    steps,
                    False,
                    tenant.metadata_version,
                    upgrades_run=tuple(str(v) for v, _ in steps_due),
                )
            )
        result = await metadata_lifecycle.publish_on(
            conn,
            slug,
            tenant_docs,
            plugin_documents=new_plugin_docs,
            actor=actor,
            note=f"upgrade plug-in {name} {old} -> {plugin.version}",
            allow_destructive=allow_destructive,
        )
        upgraded, metadata = await metadata_lifecycle.load_published(conn, slug)
        context = UpgradeContext(
            tenant=upgraded,
            metadata=metadata,
            writer=RecordWriter(
                upgraded, metadata, participants=participants, sealers=KeyRingSealers()
            ),
            principal=Principal(tenant=slug, subject=actor, roles=frozenset({ADMIN_ROLE})),
        )
        for _, step in steps_due:
            await step(conn, context)
        await conn.execute(
            """
            UPDATE rapport.plugin_installs
               SET version = $3, metadata_version = $4, upgraded_at = now()
             WHERE tenant_id = $1::uuid AND plugin = $2
            """,
            tenant.id,
            name,
            str(plugin.version),
            result.version,
        )
        return PluginChange(
            name,
            str(old),
            str(plugin.version),
            result.plan,
            True,
            result.version,
            upgrades_run=tuple(str(v) for v, _ in steps_due),
        )

    return await _run(db, dry_run, work)


async def uninstall(
    db: Database,
    slug: str,
    name: str,
    *,
    actor: str,
    archive: bool = False,
    export_to: Path | None = None,
    dry_run: bool = False,
    registry: Registry | None = None,
) -> PluginChange:
    """Remove the plug-in from the tenant, keeping its data as the operator chose.

    Exactly one of ``archive`` (copy the tables into a new archive schema) and ``export_to``
    (write the rows and the plug-in's documents as JSON files into that folder) is required
    unless ``dry_run``: dropping a plug-in's data without keeping it is not offered.
    """
    plugins = registry or installed_registry()
    if not dry_run and archive == (export_to is not None):
        raise ValidationFailed(
            [],
            message="Uninstalling drops the plug-in's tables: choose how to keep the data.",
            hint="Pass --archive (move the data to an archive schema) or --export DIR (write "
            "it as JSON files first), not both.",
        )

    async def work(conn: Connection) -> PluginChange:
        tenant = await _locked(conn, slug)
        present = {p.name: p for p in await _installed(conn, tenant)}
        current = _require_installed(present, slug, name)
        for other in present:
            spec = plugins.plugins.get(other)
            if (
                other != name
                and spec is not None
                and any(Requirement(t).name == name for t in spec.spec.requires)
            ):
                raise ConstraintViolation(
                    f"Plug-in {other} in tenant {slug!r} requires {name}.",
                    hint=f"Uninstall {other} first.",
                )
        source = f"plugin:{name}"
        tenant_docs, plugin_docs = await _current(conn, tenant)
        owned = [d for d in plugin_docs if d.source == source]
        owned_entities = {d.id for d in owned if d.kind == DocumentKind.ENTITY}
        extensions = [d for d in tenant_docs if is_extension(d) and _extends(d) in owned_entities]
        kept_docs = tuple(d for d in tenant_docs if d not in extensions)
        model = compile_tenant(kernel_documents() + plugin_docs + tenant_docs).model
        tables = [model.entity(e).table for e in sorted(owned_entities)]
        if dry_run:
            steps = await metadata_lifecycle.plan(
                conn, slug, kept_docs, plugin_documents=_without(plugin_docs, source)
            )
            raise _DryRun(
                PluginChange(
                    name,
                    current.version,
                    None,
                    steps,
                    False,
                    tenant.metadata_version,
                    removed_extensions=tuple(d.id for d in extensions),
                )
            )
        archive_schema = None
        exported: list[Path] = []
        if archive:
            archive_schema = _archive_name(slug, name, datetime.now(UTC))
            await conn.execute(f"CREATE SCHEMA {quote_ident(archive_schema)}")
            for table in tables:
                await conn.execute(
                    f"CREATE TABLE {qualified(archive_schema, table)} AS "
                    f"TABLE {qualified(tenant.schema, table)}"
                )
        elif export_to is not None:
            exported = await _export(conn, tenant, tables, owned, extensions, export_to)
        result = await metadata_lifecycle.publish_on(
            conn,
            slug,
            kept_docs,
            plugin_documents=_without(plugin_docs, source),
            actor=actor,
            note=f"uninstall plug-in {name} {current.version}"
            + (f" (data archived in {archive_schema})" if archive_schema else "")
            + (f" (data exported to {export_to})" if export_to else ""),
            allow_destructive=True,  # the operator's archive/export choice is the confirmation
        )
        await conn.execute(
            "DELETE FROM rapport.plugin_installs WHERE tenant_id = $1::uuid AND plugin = $2",
            tenant.id,
            name,
        )
        return PluginChange(
            name,
            current.version,
            None,
            result.plan,
            True,
            result.version,
            removed_extensions=tuple(d.id for d in extensions),
            archive_schema=archive_schema,
            exported=tuple(exported),
        )

    return await _run(db, dry_run, work)


# --- helpers ------------------------------------------------------------------------------------


async def _run(db: Database, dry_run: bool, work: Any) -> PluginChange:
    try:
        async with db.transaction() as conn:
            change: PluginChange = await work(conn)
            return change
    except _DryRun as dry:
        return dry.change


async def _locked(conn: Connection, slug: str) -> Tenant:
    await lock_tenant(conn, slug)
    return await get_tenant(conn, slug)


def _require_installed(
    present: dict[str, InstalledPlugin], slug: str, name: str
) -> InstalledPlugin:
    if name not in present:
        raise NotFound(
            f"Plug-in {name!r} is not installed in tenant {slug!r}.",
            hint=f"List the tenant's plug-ins with `rapport plugin list --tenant {slug}`.",
        )
    return present[name]


async def _current(
    conn: Connection, tenant: Tenant
) -> tuple[tuple[Document, ...], tuple[Document, ...]]:
    """The tenant's own documents and the installed plug-ins' of its current version."""
    own = await metadata_lifecycle.export(conn, tenant.slug)
    stored = await metadata_lifecycle.current_documents(conn, tenant)
    return own, metadata_lifecycle.plugin_documents_of(stored)


def _without(documents: tuple[Document, ...], source: str) -> tuple[Document, ...]:
    return tuple(d for d in documents if d.source != source)


def _extends(doc: Document) -> str:
    target = doc.as_json().get(EXTENDS)
    return target if isinstance(target, str) else ""


def _archive_name(slug: str, plugin: str, now: datetime) -> str:
    stamp = now.strftime("%Y%m%d%H%M%S")
    name = f"archive_{slug}_{plugin}_{stamp}"
    if len(name) > _MAX_IDENT:  # keep the timestamp; shorten the slug and plug-in parts
        room = _MAX_IDENT - len("archive___") - len(stamp)
        name = f"archive_{slug[: room // 2]}_{plugin[: room - room // 2]}_{stamp}"
    return name


async def _export(
    conn: Connection,
    tenant: Tenant,
    tables: list[str],
    owned: list[Document],
    extensions: list[Document],
    folder: Path,
) -> list[Path]:
    """Write each table's rows (``<folder>/data/<table>.json``) and the documents describing
    them (``<folder>/metadata/``), so the export can be read, or published again, without us."""
    written = write_folder([*owned, *extensions], folder / "metadata")
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for table in tables:
        rows = await conn.fetchval(
            f"SELECT coalesce(json_agg(t ORDER BY t.id), '[]'::json)::text "
            f"FROM {qualified(tenant.schema, table)} AS t"
        )
        target = data / f"{table}.json"
        target.write_text(
            json.dumps(json.loads(rows), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        written.append(target)
    return written
