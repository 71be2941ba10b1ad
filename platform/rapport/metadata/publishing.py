"""What capabilities add to a publish: plan steps of their own, and acts in its transaction.

The lifecycle (:mod:`rapport.metadata.lifecycle`) knows the Model's DDL; what a new version means
for a capability's data it learns from the capability's :class:`PublishParticipant`: the
workflows turn records in removed states into moves (or refusals) in the plan, the audit log
appends the publish's entry in the publish transaction, so the version and its evidence commit
together or not at all. A capability lists its participants in ``Capability.publishing``; the
composition root installs the kernel's, in capability order, once per process.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapport.db.database import Connection
from rapport.db.tenants import Queryable, Tenant
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.documents import Document
from rapport.metadata.plan import Plan

__all__ = [
    "Publication",
    "PublishParticipant",
    "install_publish_participants",
    "installed_publish_participants",
]


@dataclass(frozen=True, slots=True)
class Publication:
    """A version being published, inside the publish transaction (after its version row)."""

    tenant: Tenant
    version: int  # the new version
    actor: str
    note: str | None
    documents: tuple[Document, ...]  # every document of the version (kernel, plug-ins, own)
    digest: str  # sha256 of the documents as stored
    plan: Plan  # the steps that ran


class PublishParticipant:
    """Takes part in every plan and publish; both hooks do nothing by default.

    ``plan`` may add steps (refused ones stop the publish with their reason) for what the new
    version does to the capability's data; it runs for ``plan`` and inside ``publish``, against
    the same connection as the counts. ``published`` runs in the publish transaction once the
    version row is written; raising rolls the whole publish back.
    """

    async def plan(
        self,
        db: Queryable,
        tenant: Tenant,
        current: Sequence[Document] | None,
        new: TenantMetadata,
        plan: Plan,
    ) -> Plan:
        return plan

    async def published(self, conn: Connection, publication: Publication) -> None:
        return None


_installed: tuple[PublishParticipant, ...] | None = None


def install_publish_participants(participants: Iterable[PublishParticipant]) -> None:
    """Make ``participants`` the process's (the composition root does this once).

    The same participants again are harmless; different ones are refused.
    """
    global _installed
    listed = tuple(participants)
    if _installed is not None and _installed != listed:
        raise RuntimeError("The process's publish participants are already installed, and differ")
    _installed = listed


def installed_publish_participants() -> tuple[PublishParticipant, ...]:
    """The participants the composition root installed, in capability order."""
    if _installed is None:
        _load_composition_root()
    if _installed is None:
        raise RuntimeError(
            "No publish participants are installed: import rapport.composition (the "
            "composition root) before planning or publishing metadata."
        )
    return _installed


# The module that installs the kernel's parts. Named, not imported: it sits at the top of the
# package, and a process that never imported it (a plug-in's own tests calling
# rapport.plugins.build_registry, a script compiling a folder) still gets the kernel's parts.
COMPOSITION_ROOT = "rapport.composition"


def _load_composition_root() -> None:
    # Importing it installs; while it is itself being imported, nothing is installed yet and the
    # caller gets the error below instead of a half-built kernel.
    importlib.import_module(COMPOSITION_ROOT)
