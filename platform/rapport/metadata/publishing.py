"""What capabilities add to a publish: plan steps of their own, and acts in its transaction.

The lifecycle (:mod:`rapport.metadata.lifecycle`) knows the Model's DDL; what a new version means
for a capability's data it learns from the capability's :class:`PublishParticipant`: the
workflows turn records in removed states into moves (or refusals) in the plan, the audit log
appends the publish's entry in the publish transaction, so the version and its evidence commit
together or not at all. Participants are declared as entry points of the group
``rapport.publish_participants`` (:mod:`rapport.metadata.entry_points`), Rapport's own in its
``pyproject.toml``, a partner's in its package's; :func:`registered_publish_participants` reads
them once per process and runs them in the order of their entry-point names, so a participant
must not rely on another having run.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapport.db.database import Connection
from rapport.db.tenants import Queryable, Tenant
from rapport.errors import MetadataInvalid
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.documents import Document
from rapport.metadata.entry_points import declared
from rapport.metadata.plan import Plan

__all__ = [
    "PARTICIPANTS_GROUP",
    "Publication",
    "PublishParticipant",
    "participants_from",
    "participants_plan",
    "registered_publish_participants",
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
    the same connection as the counts. ``old`` is the current version compiled (None for the
    first version, or when it no longer compiles with the installed kinds). ``published`` runs in the publish transaction once the
    version row is written; raising rolls the whole publish back.
    """

    async def plan(
        self,
        db: Queryable,
        tenant: Tenant,
        old: TenantMetadata | None,
        new: TenantMetadata,
        plan: Plan,
    ) -> Plan:
        return plan

    async def published(self, conn: Connection, publication: Publication) -> None:
        return None


PARTICIPANTS_GROUP = "rapport.publish_participants"


def participants_from(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> tuple[PublishParticipant, ...]:
    """The participants the entry points declare (None: the installed distributions'), by name."""
    return tuple(p for _, p in declared(PARTICIPANTS_GROUP, PublishParticipant, entry_points))


@functools.cache
def registered_publish_participants() -> tuple[PublishParticipant, ...]:
    """The installed distributions' publish participants (read once per process)."""
    return participants_from()


async def participants_plan(
    db: Queryable,
    tenant: Tenant,
    current: Sequence[Document] | None,
    new: TenantMetadata,
    steps: Plan,
) -> Plan:
    """``steps`` with every participant's part, given the current version's documents."""
    old = _compiled_or_none(current)
    for participant in registered_publish_participants():
        steps = await participant.plan(db, tenant, old, new, steps)
    return steps


def _compiled_or_none(documents: Sequence[Document] | None) -> TenantMetadata | None:
    if documents is None:
        return None
    try:
        return compile_tenant(documents)
    except MetadataInvalid:
        return None  # an old version that no longer compiles has nothing participants can read
