"""``POST /public/{tenant}/graphql``: the login-free endpoint of a tenant's public operations.

Some operations must work without a login because a login is exactly what they must not keep:
the anonymous complaint path (submit, check status with the follow-up code, add information,
rate). Plug-ins name such root fields with ``Hooks.public_fields()``; this endpoint serves only
the public fields of the plug-ins installed in the tenant, and:

- refuses any other root field, fragments at the root, and introspection (``__schema``,
  ``__type``, also ``__typename`` at the root) with ``FORBIDDEN`` before anything runs;
- ignores any Authorization header or cookie: every request runs as the fixed principal
  ``public`` with no roles, so no permission document gives it any data right — the public
  resolvers write through their own fixed principal and read by proof (a follow-up code);
- is rate-limited per tenant by an in-process token bucket (``RAPPORT_PUBLIC_RATE_PER_MINUTE``,
  ``RAPPORT_PUBLIC_BURST``; over the limit: 429 ``RATE_LIMITED``, the hint says when), so a
  tenant's bucket is shared by all callers: nothing about a caller is kept to key it on;
- never reads or records the client address or user agent (the handler does not look at
  them; Rapport's telemetry records method, route and status only; in production uvicorn's
  access log is off, see rapport.server).

POST only, ``application/json``, the same body and response rules as ``/graphql``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
)
from starlette.requests import Request
from starlette.responses import Response

from rapport.errors import Forbidden, RateLimited
from rapport.graphql.http import serve_graphql
from rapport.graphql.request import ExecutionOutcome, GraphQLRequest
from rapport.plugins.loader import installed_registry
from rapport.principal import Principal
from rapport.ratelimit import TokenBuckets

if TYPE_CHECKING:
    from rapport.metadata.bundle import TenantMetadata
    from rapport.services import Services

__all__ = ["PUBLIC_SUBJECT", "public_endpoint", "public_fields"]

PUBLIC_SUBJECT = "public"  # the subject of every login-free request; it holds no role


def public_fields(metadata: TenantMetadata) -> frozenset[str]:
    """The public root fields of the plug-ins installed in the tenant (this metadata version)."""
    registry = installed_registry()
    names: set[str] = set()
    for source in {d.source for d in metadata.documents if d.source.startswith("plugin:")}:
        plugin = registry.owner_of(source)
        if plugin is not None:
            names |= plugin.spec.hooks.public_fields()
    return frozenset(names)


async def public_endpoint(request: Request) -> Response:
    slug = str(request.path_params["tenant"])

    async def execute(
        svc: Services, operation: GraphQLRequest, principal: Principal
    ) -> ExecutionOutcome:
        # The tenant first (cached for known ones): unknown slugs answer TENANT_NOT_FOUND and
        # get no bucket, so inventing slugs cannot evict a real tenant's bucket.
        api = await svc.runtimes.get(slug)
        wait = _buckets(svc).take(slug)
        if wait > 0:
            raise RateLimited(
                "Too many requests to this tenant's public endpoint.",
                hint=f"Retry in {math.ceil(wait)} seconds.",
            )
        _check_operation(operation, public_fields(api.metadata), slug)
        return await api.execute(svc.db, operation, principal)

    return await serve_graphql(
        request,
        gate=_no_gate,
        execute=execute,
        principal=_anonymous(slug),
    )


def _anonymous(slug: str) -> Principal:
    return Principal(tenant=slug, subject=PUBLIC_SUBJECT, roles=frozenset())


def _no_gate(principal: Principal) -> None:
    return None


def _buckets(svc: Services) -> TokenBuckets:
    if svc.public_limits is None:  # Services built without the endpoint's limiter (tests)
        raise Forbidden("The public endpoint is not enabled on this server.")
    return svc.public_limits


def _check_operation(operation: GraphQLRequest, allowed: frozenset[str], slug: str) -> None:
    try:
        document = parse(operation.query)
    except GraphQLError:
        return  # the executor answers the syntax error as usual
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            _refuse(f"only operations are accepted here, not a {definition.kind}", allowed, slug)
            continue
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode):
                _refuse("fragments are not accepted at the root", allowed, slug)
            elif selection.name.value not in allowed:
                _refuse(f"{selection.name.value} is not a public field", allowed, slug)
        for name in _field_names(definition.selection_set.selections):
            if name in ("__schema", "__type"):
                _refuse("introspection is off", allowed, slug)


def _field_names(selections: Iterable[object]) -> Iterable[str]:
    for selection in selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
            if selection.selection_set is not None:
                yield from _field_names(selection.selection_set.selections)


def _refuse(reason: str, allowed: frozenset[str], slug: str) -> None:
    raise Forbidden(
        f"The public endpoint of tenant {slug!r} refuses this operation: {reason}.",
        hint="Public fields here: "
        + (", ".join(sorted(allowed)) or "none (no installed plug-in offers one)")
        + ". Everything else needs a login and /graphql.",
    )
