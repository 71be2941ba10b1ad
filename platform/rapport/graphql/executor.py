"""A tenant's GraphQL API: schema + compiled execution (DESIGN.md D6).

``build_tenant_api`` builds the schema from the IR and the kernel's contributions
(rapport.composition); ``TenantApi.execute`` runs one request:

1. parse + validate, cached per query text (bounded LRU);
2. pick the operation, coerce the variables (graphql-core) — failures are request errors;
3. look up the operation's plan, cached per (query, operation, shape-affecting variables): for
   each root field one compiled SQL statement whose every request-varying value is a parameter;
4. run one statement per root field (queries share a read-only snapshot when there are
   several; each mutation field runs in its own transaction, one after the other, and reads
   its result back inside it) and splice the JSON text PostgreSQL built into the response —
   no Python object per row or field.

Introspection (``__schema``, ``__type``) and fields with Python resolvers go through
graphql-core's ordinary ``execute``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from opentelemetry import trace

from rapport.auth.permissions.access import Access, access_for
from rapport.auth.permissions.attributes import (
    AttributeProvider,
    PrincipalAttributes,
)
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import Forbidden, MethodNotAllowed, RapportError
from rapport.graphql.contributions import KernelParts
from rapport.graphql.entity_index import EntityIndex
from rapport.graphql.fragments import collect_fields
from rapport.graphql.operation import (
    Constant,
    Delegated,
    Entry,
    OperationPlan,
    Read,
    Write,
)
from rapport.graphql.planner import Planner
from rapport.graphql.prepared import Lru, PreparedDocument, coerce_variables, prepare
from rapport.graphql.request import ExecutionOutcome, GraphQLRequest
from rapport.graphql.run import Run, bad_request, request_errors, with_code
from rapport.graphql.schema_builder import build_schema
from rapport.graphql.types.roles import ROLE, MutationRoot
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.validation import Validators
from rapport.principal import Principal
from rapport.records.change import WriteParticipant
from rapport.records.writer import RecordWriter
from rapport.settings import GraphQLLimitSettings
from rapport.sql import plan
from rapport.sql.params import RecordId, RecordIds, Written
from rapport.sql.query import Statement, compile_root, expression_variables
from rapport.telemetry import tracing

__all__ = ["TenantApi", "build_tenant_api"]
_log = logging.getLogger(__name__)
_tracer = trace.get_tracer("rapport.graphql")
_NO_SPAN: AbstractContextManager[trace.Span] = nullcontext(trace.INVALID_SPAN)

DOCUMENT_CACHE_SIZE = 256
PLAN_CACHE_SIZE = 512


def build_tenant_api(
    tenant: Tenant,
    metadata: TenantMetadata,
    *,
    kernel: KernelParts,
    limits: GraphQLLimitSettings | None = None,
) -> TenantApi:
    """The GraphQL API of ``tenant`` at the metadata version ``metadata`` was published as."""
    schema = build_schema(
        metadata, version=tenant.metadata_version, contributors=kernel.contributors
    )
    return TenantApi(tenant, metadata, schema, participants=kernel.participants, limits=limits)


# -- the API -------------------------------------------------------------------------------------


class TenantApi:
    """One tenant's GraphQL schema and its compiled execution, at one metadata version."""

    def __init__(
        self,
        tenant: Tenant,
        metadata: TenantMetadata,
        schema: GraphQLSchema,
        attributes: AttributeProvider | None = None,
        *,
        participants: Sequence[WriteParticipant],
        limits: GraphQLLimitSettings | None = None,
    ) -> None:
        self.tenant = tenant
        self.participants = tuple(participants)  # every record write of this API runs them
        self.limits = limits  # operation limits, checked once per query text (prepare)
        # Keys of sensitive fields: the writer seals with them, reads open with them.
        self.sealers = KeyRingSealers()
        # Supplies $user.<attribute> (default: the attributes the principal carries).
        self.attributes: AttributeProvider = attributes or PrincipalAttributes()
        self.metadata = metadata
        self.model = metadata.model
        self.schema = schema
        self.version = tenant.metadata_version
        self._documents: Lru[str, PreparedDocument] = Lru(DOCUMENT_CACHE_SIZE)
        # Keyed by the role set too: permissions shape the plan (None: admin, no rules).
        self._plans: Lru[
            tuple[str, str | None, str, tuple[bool, ...], tuple[str, ...] | None], OperationPlan
        ] = Lru(PLAN_CACHE_SIZE)
        self._index = EntityIndex(self.model)
        self._validators: Validators | None = None
        self._writer: RecordWriter | None = None

    def cache_info(self) -> dict[str, int]:
        """Sizes of the document and plan caches (for metrics and tests)."""
        return {"documents": len(self._documents), "plans": len(self._plans)}

    def close(self) -> None:
        """Drop every cache so the schema and plans can be freed."""
        self._documents.clear()
        self._plans.clear()
        self._index = EntityIndex(self.model)
        self._validators = None

    async def execute(
        self, db: Database, request: GraphQLRequest, principal: Principal
    ) -> ExecutionOutcome:
        span_context = (
            _tracer.start_as_current_span(
                "graphql.operation", attributes={"rapport.tenant": self.tenant.slug}
            )
            if tracing()
            else _NO_SPAN
        )
        with span_context as span:
            prepared = self._prepared(request.query)
            if prepared.document is None:
                return request_errors([dict(e.formatted) for e in prepared.errors])
            operation = prepared.operation(request.operation_name)
            if isinstance(operation, str):
                return request_errors([bad_request(operation)])
            kind = operation.operation
            span.set_attribute("graphql.operation.type", kind.value)
            if operation.name is not None:
                span.set_attribute("graphql.operation.name", operation.name.value)
            if kind is OperationType.MUTATION and not request.allow_mutations:
                raise MethodNotAllowed(
                    "Mutations cannot be sent with GET.",
                    hint="Send the mutation in a POST request.",
                )
            raw_variables = dict(request.variables or {})
            coerced = coerce_variables(self.schema, prepared, operation, raw_variables)
            if isinstance(coerced, list):
                return request_errors([with_code(e.formatted) for e in coerced])
            if principal.tenant != self.tenant.slug:
                # The HTTP layer picks the API by the token's tenant; this guards every other
                # caller: rules are per tenant, and so is the data.
                raise Forbidden(
                    f"A principal of tenant {principal.tenant!r} cannot use the API of tenant "
                    f"{self.tenant.slug!r}.",
                    hint="Use a token of this tenant.",
                )
            access = access_for(principal, self.metadata)
            operation_plan = self._plan(
                prepared, operation, request, raw_variables, coerced.coerced, access
            )
            run = Run(self, db, principal, prepared, operation, raw_variables, coerced)
            if kind is OperationType.MUTATION:
                return await run.mutation(operation_plan)
            return await run.query(operation_plan)

    # -- caches ------------------------------------------------------------------------------

    def _prepared(self, query: str) -> PreparedDocument:
        prepared = self._documents.get(query)
        if prepared is None:
            prepared = prepare(self.schema, query, self.limits)
            self._documents.put(query, prepared)
        return prepared

    def validators(self) -> Validators:
        if self._validators is None:
            self._validators = Validators(self.model)
        return self._validators

    @property
    def writer(self) -> RecordWriter:
        """Writes records of this tenant version; contributed resolvers use it too."""
        if self._writer is None:
            self._writer = RecordWriter(
                self.tenant,
                self.metadata,
                participants=self.participants,
                sealers=self.sealers,
                validators=self.validators(),
            )
        return self._writer

    def _plan(
        self,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        request: GraphQLRequest,
        raw: Mapping[str, Any],
        coerced: Mapping[str, Any],
        access: Access | None,
    ) -> OperationPlan:
        usage = prepared.usage(operation)
        shape = json.dumps([[n in raw, raw.get(n)] for n in usage.shape], default=str)
        nulls = tuple(coerced.get(n) is None for n in usage.values)
        name = operation.name.value if operation.name else None
        roles = None if access is None else tuple(sorted(access.roles))
        key = (request.query, name, shape, nulls, roles)
        found = self._plans.get(key)
        if found is None:
            found = self._build_plan(prepared, operation, raw, coerced, access)
            self._plans.put(key, found)
        return found

    def _build_plan(
        self,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        raw: Mapping[str, Any],
        coerced: Mapping[str, Any],
        access: Access | None,
    ) -> OperationPlan:
        planner = Planner(
            self._index,
            prepared.fragments,
            coerced,
            raw,
            operation.variable_definitions or (),
            access=access,
        )
        mutation = operation.operation is OperationType.MUTATION
        root_type = self.schema.mutation_type if mutation else self.schema.query_type
        if root_type is None:  # pragma: no cover - validation rejects such operations
            raise RapportError("The schema has no root type for this operation.")
        fields = collect_fields(
            root_type.name, [operation.selection_set], prepared.fragments, coerced
        )
        entries: list[Entry] = []
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                entries.append(Constant(key, json.dumps(root_type.name).encode()))
                continue
            field = root_type.fields.get(name)
            role = field.extensions.get(ROLE) if field is not None and field.extensions else None
            if field is None or role is None:
                entries.append(Delegated(key, tuple(nodes)))
            elif isinstance(role, MutationRoot):
                entries.append(self._plan_write(planner, key, field, role, nodes))
            else:
                entries.append(self._plan_read(planner, key, field, nodes))
        return OperationPlan(tuple(entries))

    def _compiled(self, root: plan.RootPlan) -> Statement | None:
        if expression_variables(root):
            return None  # $user/$now values differ per request: compile then
        return compile_root(root, schema=self.tenant.schema, model=self.model, variables={})

    def _plan_read(
        self, planner: Planner, key: str, field: GraphQLField, nodes: list[FieldNode]
    ) -> Read:
        non_null = isinstance(field.type, GraphQLNonNull)
        try:
            root = planner.root(field, nodes, key)
            statement = self._compiled(root)
        except RapportError as error:  # invalid arguments: the field fails on every request
            return Read(key, nodes[0], non_null, None, None, error)
        return Read(key, nodes[0], non_null, root, statement, None)

    def _plan_write(
        self,
        planner: Planner,
        key: str,
        field: GraphQLField,
        role: MutationRoot,
        nodes: list[FieldNode],
    ) -> Write:
        non_null = isinstance(field.type, GraphQLNonNull)
        if role.action == "delete":
            return Write(key, nodes[0], non_null, field, role, None, None, None)
        entity = self.model.entity(role.entity)
        object_type = self.schema.get_type(entity.type_name)
        if not isinstance(object_type, GraphQLObjectType):  # pragma: no cover
            raise TypeError(f"{entity.type_name} is not an object type")
        read: plan.RootPlan
        try:
            selection = planner.selection(object_type, nodes, entity, ())
            if role.action == "createMany":
                read = plan.RecordsById(
                    entity, RecordIds(Written(), ("inputs",)), selection, planner.row_rule(entity)
                )
            else:
                read = plan.SingleQuery(
                    entity, RecordId(Written(), ("id",)), selection, planner.row_rule(entity)
                )
            statement = self._compiled(read)
        except RapportError as error:  # invalid arguments in the selection
            return Write(key, nodes[0], non_null, field, role, None, None, error)
        return Write(key, nodes[0], non_null, field, role, read, statement, None)
