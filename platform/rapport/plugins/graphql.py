"""GraphQL root fields of the plug-ins installed in a tenant (a ``Contributor``).

Each installed plug-in's ``Hooks.graphql()`` contributors are called in plug-in name order;
the schema builder reports a name two contributions share. A plug-in not installed in the
tenant contributes nothing there, so an uninstall removes its fields with its metadata.
"""

from __future__ import annotations

from types import MappingProxyType

from graphql import GraphQLField

from rapport.graphql.contributions import Contribution
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport.plugins.loader import installed_registry

__all__ = ["contribute_plugins"]


def contribute_plugins(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    sources = sorted({d.source for d in metadata.documents if d.source.startswith("plugin:")})
    if not sources:
        return Contribution()
    registry = installed_registry()
    query: dict[str, GraphQLField] = {}
    mutation: dict[str, GraphQLField] = {}
    for source in sources:
        plugin = registry.owner_of(source)
        if plugin is None:
            continue  # the package was removed from the installation; its tables stay served
        for contributor in plugin.spec.hooks.graphql():
            contribution = contributor(ctx, metadata)
            query.update(contribution.query)
            mutation.update(contribution.mutation)
    return Contribution(query=MappingProxyType(query), mutation=MappingProxyType(mutation))
