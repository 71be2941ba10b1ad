"""The admin API at ``/graphql/admin``: a tenant's metadata lifecycle, and tenants for operators.

A static, code-first strawberry schema (it does not change per tenant). Tenant fields act on the
token's tenant and need the ``admin`` role; ``tenants`` and ``createTenant`` need an
``operator`` token. Refusals and lifecycle errors are RapportErrors, answered as GraphQL errors
whose ``extensions`` carry the code, the hint and the details (``problems`` for
METADATA_INVALID, ``steps`` for DESTRUCTIVE_CHANGE); any other exception is masked and logged.

Transport (media types, GET for queries only, 401/405/413/415) is the same as ``/graphql``:
:func:`rapport.graphql.http.serve_graphql`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import AddValidationRules, DisableIntrospection, MaxTokensLimiter
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext, Info
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from rapport.auth.enforce import refuse
from rapport.db.tenants import Tenant, get_tenant, list_tenants
from rapport.errors import BadRequest, Forbidden, MethodNotAllowed, RapportError
from rapport.forms.dialect import FormDialect
from rapport.forms.preview import preview, preview_document
from rapport.graphql.admin_documents import DocumentsQuery
from rapport.graphql.admin_identity import IdentityMutation, IdentityQuery
from rapport.graphql.admin_plugins import PluginMutation, PluginQuery
from rapport.graphql.http import serve_graphql
from rapport.graphql.limits import limit_rules
from rapport.graphql.request import ExecutionOutcome, GraphQLRequest
from rapport.metadata import lifecycle
from rapport.metadata.documents import Document, documents_from_json
from rapport.metadata.plan import Plan as PlanData
from rapport.metadata.plan import PlanStep as PlanStepData
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal
from rapport.settings import Settings

if TYPE_CHECKING:
    from rapport.services import Services

__all__ = ["AdminSchema", "admin_endpoint", "build_admin_schema"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdminContext:
    services: Services
    principal: Principal

    @property
    def actor(self) -> str:
        return self.principal.subject

    def tenant_slug(self) -> str:
        """The token's tenant, for fields that act on one; admins only."""
        if self.principal.tenant is None or not self.principal.is_admin:
            raise Forbidden(
                "This field acts on the token's tenant and needs a tenant token with the "
                "admin role.",
                hint="Issue one with `rapport token issue --tenant SLUG --role admin`.",
            )
        return self.principal.tenant

    def require_operator(self) -> None:
        if not self.principal.is_operator:
            raise Forbidden(
                "Only platform operators may list or create tenants.",
                hint="Use an operator token (`rapport token issue --operator`).",
            )


AdminInfo = Info[AdminContext, None]


# --- types ------------------------------------------------------------------------------------


@strawberry.type(description="A tenant: one customer's schema and metadata.")
class TenantInfo:
    slug: str
    name: str
    metadata_version: int
    created_at: datetime

    @classmethod
    def of(cls, tenant: Tenant) -> TenantInfo:
        return cls(
            slug=tenant.slug,
            name=tenant.name,
            metadata_version=tenant.metadata_version,
            created_at=tenant.created_at,
        )


@strawberry.type(description="One step of a migration plan: usually one DDL statement.")
class PlanStep:
    summary: str
    sql: str
    destructive: bool
    refused: bool
    reason: str

    @classmethod
    def of(cls, step: PlanStepData) -> PlanStep:
        return cls(
            summary=step.summary,
            sql=step.sql,
            destructive=step.destructive,
            refused=step.refused,
            reason=step.reason,
        )


@strawberry.type(description="What publishing would do (or did), step by step.")
class Plan:
    steps: list[PlanStep]
    sql: str = strawberry.field(description="The whole plan as a reviewable SQL listing.")
    destructive: bool = strawberry.field(description="Whether any step may lose data.")
    empty: bool

    @classmethod
    def of(cls, plan: PlanData) -> Plan:
        return cls(
            steps=[PlanStep.of(s) for s in plan.steps],
            sql=plan.as_text(),
            destructive=bool(plan.destructive_steps),
            empty=plan.is_empty,
        )


@strawberry.type(description="A published metadata version.")
class MetadataVersion:
    version: int
    published_at: datetime
    published_by: str | None
    note: str | None
    steps: int = strawberry.field(description="Number of plan steps that produced it.")
    destructive: bool


@strawberry.type
class PublishResult:
    version: int = strawberry.field(description="The tenant's metadata version afterwards.")
    changed: bool = strawberry.field(description="False: the documents equal the current ones.")
    plan: Plan

    @classmethod
    def of(cls, result: lifecycle.PublishResult) -> PublishResult:
        return cls(version=result.version, changed=result.changed, plan=Plan.of(result.plan))


# The tenant API's FormDialect, as the admin schema's enum (same names, same meaning).
FormDialectEnum = strawberry.enum(
    FormDialect,
    name="FormDialect",
    description="The JSON Schema dialect of a compiled form: DRAFT_07 is what a stock "
    "@rjsf/validator-ajv8 validates without configuration.",
)


# --- resolvers --------------------------------------------------------------------------------


def _documents(value: Any, argument: str) -> tuple[Document, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadRequest(
            f"`{argument}` must be a list of entity documents (JSON objects).",
            hint='Pass [{"$id": "namespace/name", "type": "object", "properties": {...}}, ...].',
            path=(argument,),
        )
    return documents_from_json(value)


def _bodies(documents: Sequence[Document]) -> JSON:
    return JSON([d.as_json() for d in documents])


async def _tenant(info: AdminInfo) -> TenantInfo:
    ctx = info.context
    return TenantInfo.of(await get_tenant(ctx.services.db, ctx.tenant_slug()))


async def _metadata_versions(info: AdminInfo) -> list[MetadataVersion]:
    ctx = info.context
    return [
        MetadataVersion(
            version=v.version,
            published_at=v.published_at,
            published_by=v.published_by,
            note=v.note,
            steps=v.steps,
            destructive=v.destructive,
        )
        for v in await lifecycle.versions(ctx.services.db, ctx.tenant_slug())
    ]


async def _draft(info: AdminInfo) -> JSON | None:
    ctx = info.context
    draft = await lifecycle.get_draft(ctx.services.db, ctx.tenant_slug())
    return None if draft is None else _bodies(draft)


async def _plan(info: AdminInfo, documents: JSON | None = None) -> Plan:
    ctx = info.context
    slug = ctx.tenant_slug()
    docs = None if documents is None else _documents(documents, "documents")
    return Plan.of(await lifecycle.plan(ctx.services.db, slug, docs))


async def _export(info: AdminInfo, version: int | None = None) -> JSON:
    ctx = info.context
    return _bodies(await lifecycle.export(ctx.services.db, ctx.tenant_slug(), version))


async def _form_preview(
    info: AdminInfo,
    id: str | None = None,
    document: JSON | None = None,
    locale: str | None = None,
    dialect: FormDialect = FormDialect.DRAFT_2020_12,
) -> JSON:
    ctx = info.context
    if (id is None) == (document is None):
        raise BadRequest(
            "Pass either `id` (a published form) or `document` (a form document to try).",
            hint='formPreview(id: "training/course", locale: "zh") or formPreview(document: {...}).',
        )
    _tenant, metadata = await lifecycle.load_published(ctx.services.db, ctx.tenant_slug())
    if document is not None:
        return JSON(preview_document(metadata, document, locale, dialect))
    return JSON(preview(metadata, id or "", locale, dialect))


async def _tenants(info: AdminInfo) -> list[TenantInfo]:
    info.context.require_operator()
    return [TenantInfo.of(t) for t in await list_tenants(info.context.services.db)]


async def _save_draft(info: AdminInfo, documents: JSON) -> JSON:
    ctx = info.context
    docs = _documents(documents, "documents")
    await lifecycle.save_draft(ctx.services.db, ctx.tenant_slug(), docs, actor=ctx.actor)
    return _bodies(docs)


async def _publish(
    info: AdminInfo,
    documents: JSON | None = None,
    allow_destructive: bool = False,
    expected_version: int | None = None,
    note: str | None = None,
) -> PublishResult:
    ctx = info.context
    slug = ctx.tenant_slug()
    docs = None if documents is None else _documents(documents, "documents")
    result = await lifecycle.publish(
        ctx.services.db,
        slug,
        docs,
        allow_destructive=allow_destructive,
        actor=ctx.actor,
        note=note,
        expected_version=expected_version,
    )
    # This instance serves the new version from its next request on, before the NOTIFY is back.
    ctx.services.runtimes.mark_stale(slug)
    return PublishResult.of(result)


async def _rollback(
    info: AdminInfo, version: int, allow_destructive: bool = False
) -> PublishResult:
    ctx = info.context
    slug = ctx.tenant_slug()
    result = await lifecycle.rollback(
        ctx.services.db, slug, version, allow_destructive=allow_destructive, actor=ctx.actor
    )
    ctx.services.runtimes.mark_stale(slug)
    return PublishResult.of(result)


async def _create_tenant(info: AdminInfo, slug: str, name: str | None = None) -> TenantInfo:
    ctx = info.context
    ctx.require_operator()
    tenant = await create_tenant(ctx.services.db, slug, name, actor=ctx.actor)
    return TenantInfo.of(tenant)


@strawberry.type
class Query(IdentityQuery, PluginQuery, DocumentsQuery):
    tenant: TenantInfo = strawberry.field(resolver=_tenant, description="The token's tenant.")
    metadata_versions: list[MetadataVersion] = strawberry.field(
        resolver=_metadata_versions, description="Every published version, oldest first."
    )
    draft: JSON | None = strawberry.field(
        resolver=_draft, description="The stored draft (a list of documents), or null."
    )
    plan: Plan = strawberry.field(
        resolver=_plan,
        description="What publishing `documents` (a list of entity documents; null: the "
        "stored draft) would change.",
    )
    export: JSON = strawberry.field(
        resolver=_export,
        description="The tenant's own documents of a version (default: the current one).",
    )
    tenants: list[TenantInfo] = strawberry.field(
        resolver=_tenants, description="All tenants (operators only)."
    )
    form_preview: JSON = strawberry.field(
        resolver=_form_preview,
        description="A form compiled for a locale: {id, locale, retired, jsonSchema, uiSchema}. "
        "`id` previews a published form (an entity id: its default form); `document` compiles "
        "a form document with the published metadata (METADATA_INVALID lists its problems).",
    )


@strawberry.type
class Mutation(IdentityMutation, PluginMutation):
    save_draft: JSON = strawberry.mutation(
        resolver=_save_draft,
        description="Validate documents and store them as the draft; nothing is applied.",
    )
    publish: PublishResult = strawberry.mutation(
        resolver=_publish,
        description="Apply documents (null: the stored draft) as the next metadata version.",
    )
    rollback: PublishResult = strawberry.mutation(
        resolver=_rollback, description="Publish the documents of an earlier version again."
    )
    create_tenant: TenantInfo = strawberry.mutation(
        resolver=_create_tenant, description="Create a tenant (operators only)."
    )


# --- the schema and its execution ---------------------------------------------------------------


class AdminSchema(strawberry.Schema):
    """The admin schema; logs only unexpected errors (RapportErrors are answers, not faults)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, RapportError):
                log.error("admin API: unexpected error", exc_info=original)


def build_admin_schema(settings: Settings) -> AdminSchema:
    limits = settings.query_limits
    # The tenant endpoint's depth, cost and alias rules (rapport.graphql.limits), with the same
    # stable codes. Factories: strawberry makes a fresh extension instance per operation.
    extensions: list[Any] = [
        lambda: AddValidationRules(list(limit_rules(limits))),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return AdminSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not limits.suggestions),
    )


async def admin_endpoint(request: Request) -> Response:
    """``/graphql/admin`` over the same GraphQL-over-HTTP transport as ``/graphql``."""
    return await serve_graphql(
        request, gate=_any_principal, execute=execute_admin, title="Rapport admin"
    )


def _any_principal(principal: Principal) -> None:
    # The admin roles are checked in execute_admin, where a refusal can be audited.
    return None


# Tenant roles that may reach the admin API; each field checks its own role (separation of
# duties: rapport.auth.duties), so e.g. an audit_admin gets no metadata or user fields.
_ADMIN_API_ROLES = frozenset({"admin", "system_admin", "security_admin", "audit_admin"})


async def _admin_or_operator(services: Services, principal: Principal) -> None:
    """Refuse (and audit, as every refused act is) a caller with no administrator role."""
    if principal.is_operator or (
        principal.tenant is not None and principal.roles & _ADMIN_API_ROLES
    ):
        return
    await refuse(
        services.db,
        principal,
        "admin_api",
        "The admin API needs a tenant token with an administrator role (admin, system_admin, "
        "security_admin, audit_admin), or an operator token.",
    )


async def execute_admin(
    services: Services, request: GraphQLRequest, principal: Principal
) -> ExecutionOutcome:
    await _admin_or_operator(services, principal)
    allowed = (
        {OperationType.QUERY, OperationType.MUTATION}
        if request.allow_mutations
        else {OperationType.QUERY}
    )
    try:
        result = await services.admin.execute(
            request.query,
            variable_values=dict(request.variables) if request.variables is not None else None,
            context_value=AdminContext(services, principal),
            operation_name=request.operation_name,
            allowed_operation_types=allowed,
        )
    except InvalidOperationTypeError:
        raise MethodNotAllowed(
            "Only queries may be sent with GET.",
            hint="Send mutations with POST and Content-Type: application/json.",
        ) from None
    except (MissingQueryError, CannotGetOperationTypeError) as exc:
        # Raised before any error list exists, e.g. an operationName the document lacks.
        error = BadRequest(str(exc), hint="Name an operation the document defines.")
        return ExecutionOutcome(_dump({"errors": [_rapport_error(error)]}), request_error=True)
    errors = [_format(e) for e in result.errors or ()]
    if isinstance(result, PreExecutionError):
        # Parse and validation errors: the request never executed, so there is no "data".
        return ExecutionOutcome(_dump({"errors": errors}), request_error=True)
    body: dict[str, Any] = {"data": result.data}
    if errors:
        body["errors"] = errors
    return ExecutionOutcome(_dump(body))


def _format(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if original is None:
        # A GraphQL error proper (syntax, validation, variables): its message is for the client.
        formatted: dict[str, Any] = dict(error.formatted)
        formatted["extensions"] = {
            "code": BadRequest.code,
            **(formatted.get("extensions") or {}),
        }
        return formatted
    if isinstance(original, RapportError):
        answered: dict[str, Any] = dict(error.formatted)
        answered["message"] = original.message
        answered["extensions"] = original.extensions()
        return answered
    masked: dict[str, Any] = dict(error.formatted)
    masked["message"] = "Unexpected error."
    masked["extensions"] = {"code": RapportError.code}
    return masked


def _rapport_error(error: RapportError) -> dict[str, Any]:
    return {"message": error.message, "extensions": error.extensions()}


def _dump(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()
