"""Root fields that capabilities beyond the entity CRUD add to a tenant's schema.

Forms, workflows, notifications, audit queries… each contribute GraphQL root fields with Python
resolvers. A capability implements one :data:`Contributor` — a function of the build context
and the tenant's compiled metadata — and is listed in :data:`CONTRIBUTORS`, in a fixed order;
there is no registration at run time and no dispatch by name.

Contributed fields carry no compiler role, so the executor runs them through graphql-core with
a :class:`RequestContext` as ``info.context``. Each mutation field runs on its own; a resolver
opens its own transaction with ``context.db.transaction()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from graphql import GraphQLField

from rapport.audit.graphql import contribute_audit
from rapport.auth.principal import Principal
from rapport.db.database import Database
from rapport.forms.graphql import contribute_forms
from rapport.graphql.types.context import BuildContext
from rapport.im.graphql import im_fields
from rapport.metadata.bundle import TenantMetadata
from rapport.notify.graphql import contribute_notifications
from rapport.plugins.graphql import contribute_plugins
from rapport.workflow.graphql import contribute as contribute_workflows

if TYPE_CHECKING:
    from rapport.graphql.executor import TenantApi

__all__ = ["CONTRIBUTORS", "Contribution", "Contributor", "RequestContext"]


def _empty() -> Mapping[str, GraphQLField]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Contribution:
    """Root fields to add; types they use are registered in ``ctx.registry`` by the contributor."""

    query: Mapping[str, GraphQLField] = field(default_factory=_empty)
    mutation: Mapping[str, GraphQLField] = field(default_factory=_empty)


Contributor = Callable[[BuildContext, TenantMetadata], Contribution]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """``info.context`` of contributed resolvers: who asks, in which tenant, with what."""

    db: Database
    principal: Principal
    api: TenantApi
    now: datetime

    @property
    def metadata(self) -> TenantMetadata:
        return self.api.metadata


def contribute_im(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    """Channel preferences and the WeCom/DingTalk apps (rapport.im.graphql)."""
    query, mutation = im_fields(ctx, metadata)
    return Contribution(query=query, mutation=mutation)


# Every capability's contributor, in the order their fields appear in the schema.
CONTRIBUTORS: tuple[Contributor, ...] = (
    contribute_forms,
    contribute_workflows,
    contribute_notifications,
    contribute_im,  # channel preferences, WeCom and DingTalk apps
    contribute_audit,
    contribute_plugins,  # last: the fields of the plug-ins installed in the tenant
)
