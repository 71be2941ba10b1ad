"""What a plug-in declares: :class:`PluginSpec`, its typed :class:`Hooks` and upgrade steps.

A plug-in is a Python package that exposes ``plugin = PluginSpec(...)`` through the entry-point
group ``rapport.plugins``. Its metadata documents are files in the package's ``entities/``,
``forms/``, ``workflows/`` and ``permissions/`` folders (read with
:func:`rapport.metadata.documents.read_folder`, the kind from the file suffix as everywhere).
Nothing here touches the database: :mod:`rapport.plugins.loader` validates a spec, and
:mod:`rapport.plugins.lifecycle` installs it into a tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapport.db.database import Connection
from rapport.jobs.context import Handler
from rapport.principal import Principal
from rapport.records.change import Change, PendingChange

if TYPE_CHECKING:
    from rapport.db.tenants import Tenant
    from rapport.graphql.contributions import Contributor
    from rapport.metadata.bundle import TenantMetadata
    from rapport.plugins.downloads import DownloadHandler
    from rapport.records.writer import RecordWriter

__all__ = [
    "DOCUMENT_FOLDERS",
    "Hooks",
    "PluginSpec",
    "UpgradeContext",
    "UpgradeStep",
]

# The folders of a plug-in package that hold metadata documents, in the order they are read.
DOCUMENT_FOLDERS = ("entities", "forms", "workflows", "permissions")


class Hooks:
    """Typed extension points of a plug-in; every method does nothing by default.

    Subclass and override only these methods: the loader reports any other public method of a
    subclass as an unknown hook (a misspelt ``after_craete`` would otherwise never run). The
    record hooks run inside the write's transaction for entities the plug-in owns, in the tenants
    that installed it; a ``before_*`` hook may return a changed change or raise a RapportError to
    refuse the write.
    """

    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        return change

    async def after_create(self, conn: Connection, change: Change) -> None:
        return None

    async def before_update(self, conn: Connection, change: PendingChange) -> PendingChange:
        return change

    async def after_update(self, conn: Connection, change: Change) -> None:
        return None

    async def before_delete(self, conn: Connection, change: PendingChange) -> PendingChange:
        return change

    async def after_delete(self, conn: Connection, change: Change) -> None:
        return None

    async def before_transition(
        self, conn: Connection, entity: str, record_id: str, transition: str
    ) -> None:
        """Called by the workflow engine before ``transition`` runs; raise to refuse it."""
        return None

    async def after_transition(
        self, conn: Connection, entity: str, record_id: str, transition: str, state: str
    ) -> None:
        return None

    async def principal_attributes(
        self, conn: Connection, tenant: Tenant, principal: Principal
    ) -> Mapping[str, Any]:
        """Attributes this plug-in adds to ``$user`` in permission rules (e.g. departments)."""
        return {}

    def graphql(self) -> tuple[Contributor, ...]:
        """GraphQL root fields the plug-in contributes (see rapport.graphql.contributions)."""
        return ()

    def downloads(self) -> Mapping[str, DownloadHandler]:
        """Files the plug-in hands out over HTTP, by name: ``GET /download/<plugin>/<name>/<id>``
        (rapport.plugins.downloads). The handler checks who may have the file; the kernel
        authenticates the caller and audits every file handed out."""
        return {}

    def public_fields(self) -> frozenset[str]:
        """Root fields of ``graphql()`` that anyone may call without a login on
        ``POST /public/{tenant}/graphql`` (rapport.graphql.public). They run as a principal
        with no roles, so they must write through their own fixed principal and read only what
        the caller proves a right to (e.g. by a follow-up code)."""
        return frozenset()


@dataclass(frozen=True, slots=True)
class UpgradeContext:
    """What a data migration gets: the tenant, its new metadata and the RecordWriter for it."""

    tenant: Tenant
    metadata: TenantMetadata
    writer: RecordWriter
    principal: Principal  # the operator running the upgrade, with the admin role


UpgradeStep = Callable[[Connection, UpgradeContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PluginSpec:
    """One plug-in version as its package declares it.

    ``requires`` entries are PEP 440 requirement strings on other plug-ins (``"org>=1,<2"``);
    ``platform`` is a specifier the running Rapport version must satisfy. ``upgrades`` maps a
    version to the data migration that brings data to it; on upgrade from A to B the steps of
    every version in (A, B] run in version order after the metadata is published. ``package`` is
    the importable package whose folders hold the documents (usually ``__name__``), or a folder.
    ``jobs`` maps a job name to its handler: the worker runs it for every outbox row of the
    topic ``plugin:<name>.<job>``, which the plug-in writes with
    :func:`rapport.plugins.jobs.enqueue_job` in its transaction.
    """

    name: str
    version: str
    package: str | Path
    description: str = ""
    requires: tuple[str, ...] = ()
    platform: str = ">=0.1"
    hooks: Hooks = field(default_factory=Hooks)
    jobs: Mapping[str, Handler] = field(default_factory=dict)
    upgrades: Mapping[str, UpgradeStep] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The ``source`` of this plug-in's documents in a tenant's metadata versions."""
        return f"plugin:{self.name}"
