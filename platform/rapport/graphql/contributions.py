"""Root fields that capabilities beyond the entity CRUD add to a tenant's schema.

Forms, workflows, notifications, audit queries… each contribute GraphQL root fields with Python
resolvers. A capability implements one :data:`Contributor` — a function of the build context
and the tenant's compiled metadata — and lists it in its :class:`~rapport.capability.Capability`;
the composition root (rapport.composition) hands the kernel's contributors, in a fixed order, to
the schema builder. There is no registration at run time, no dispatch by name, and this layer
imports no capability.

Contributed fields carry no compiler role, so the executor runs them through graphql-core with
a :class:`RequestContext` as ``info.context``. Each mutation field runs on its own; a resolver
opens its own transaction with ``context.db.transaction()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from graphql import GraphQLField

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import Model
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.records.change import WriteParticipant
    from rapport.records.writer import RecordWriter

__all__ = ["Contribution", "Contributor", "KernelParts", "RequestContext", "TenantView"]


def _empty() -> Mapping[str, GraphQLField]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Contribution:
    """Root fields to add; types they use are registered in ``ctx.registry`` by the contributor."""

    query: Mapping[str, GraphQLField] = field(default_factory=_empty)
    mutation: Mapping[str, GraphQLField] = field(default_factory=_empty)


Contributor = Callable[[BuildContext, TenantMetadata], Contribution]


class TenantView(Protocol):
    """What a contributed resolver sees of the tenant API it runs in (a TenantApi)."""

    @property
    def tenant(self) -> Tenant: ...

    @property
    def metadata(self) -> TenantMetadata: ...

    @property
    def model(self) -> Model: ...

    @property
    def writer(self) -> RecordWriter: ...


@dataclass(frozen=True, slots=True)
class RequestContext:
    """``info.context`` of contributed resolvers: who asks, in which tenant, with what."""

    db: Database
    principal: Principal
    api: TenantView
    now: datetime

    @property
    def metadata(self) -> TenantMetadata:
        return self.api.metadata


class KernelParts(Protocol):
    """What a tenant API takes of the kernel (``rapport.capability.Kernel`` has them): the
    GraphQL core is handed these by the composition root and imports no capability."""

    @property
    def contributors(self) -> tuple[Contributor, ...]: ...

    @property
    def participants(self) -> tuple[WriteParticipant, ...]: ...
