"""A tenant's GraphQL API: schema + compiled execution (DESIGN.md D6).

``build_tenant_api`` builds the schema from the IR; ``TenantApi.execute`` runs one request:

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

import dataclasses
import datetime as dt
import inspect
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    get_argument_values,
    get_variable_values,
)
from graphql.execution.values import VariableValues
from opentelemetry import trace

from rapport.auth.permissions.access import Access, access_for
from rapport.auth.permissions.attributes import (
    AttributeProvider,
    PrincipalAttributes,
    user_variables,
)
from rapport.auth.principal import Principal
from rapport.crypto.reading import SensitiveReads, contains_sealed, open_sealed
from rapport.db.database import Connection, Database
from rapport.db.tenants import Tenant
from rapport.errors import BadRequest, Forbidden, MethodNotAllowed, RapportError
from rapport.graphql.contributions import RequestContext
from rapport.graphql.planner import EntityIndex, Planner, collect_fields
from rapport.graphql.prepared import Lru, PreparedDocument, prepare
from rapport.graphql.request import ExecutionOutcome, GraphQLRequest
from rapport.graphql.schema_builder import build_schema
from rapport.graphql.types.roles import ROLE, MutationRoot
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.validation import Validators
from rapport.records.writer import RecordWriter
from rapport.settings import GraphQLLimitSettings
from rapport.sql import plan
from rapport.sql.params import WRITTEN, RecordId, RecordIds, Written
from rapport.sql.query import Statement, compile_root, expression_variables

__all__ = ["TenantApi", "build_tenant_api"]

_log = logging.getLogger(__name__)
_tracer = trace.get_tracer("rapport.graphql")

DOCUMENT_CACHE_SIZE = 256
PLAN_CACHE_SIZE = 512
# Statements of plans whose expressions use $user: compiled once per distinct set of values.
USER_STATEMENT_CACHE_SIZE = 64
_NULL = b"null"


def build_tenant_api(
    tenant: Tenant, metadata: TenantMetadata, *, limits: GraphQLLimitSettings | None = None
) -> TenantApi:
    """The GraphQL API of ``tenant`` at the metadata version ``metadata`` was published as."""
    schema = build_schema(metadata, version=tenant.metadata_version)
    return TenantApi(tenant, metadata, schema, limits=limits)


# -- the plan of one operation -------------------------------------------------------------------


class _UserStatements:
    """Statements of one plan whose expressions use $user/$now, by the variables' values."""

    __slots__ = ("by_values", "used")

    def __init__(self) -> None:
        self.used: list[str] | None = None  # the variables the plan uses, sorted
        self.by_values: Lru[str, Statement] = Lru(USER_STATEMENT_CACHE_SIZE)


@dataclass(frozen=True, slots=True)
class _Read:
    """A query root field compiled to one statement (``statement`` None: compile per request,
    because its filters use ``$user``/``$now``; ``error`` set: its arguments are invalid)."""

    key: str
    node: FieldNode
    non_null: bool
    root: plan.RootPlan | None
    statement: Statement | None
    error: RapportError | None
    statements: _UserStatements = dataclasses.field(
        default_factory=lambda: _UserStatements(), compare=False
    )


@dataclass(frozen=True, slots=True)
class _Write:
    key: str
    node: FieldNode
    non_null: bool
    field: GraphQLField
    role: MutationRoot
    read: plan.RootPlan | None  # reads the written record(s) back; None for delete
    statement: Statement | None
    error: RapportError | None
    statements: _UserStatements = dataclasses.field(
        default_factory=lambda: _UserStatements(), compare=False
    )


@dataclass(frozen=True, slots=True)
class _Constant:
    key: str
    json: bytes


@dataclass(frozen=True, slots=True)
class _Delegated:
    """Executed by graphql-core: introspection and fields with Python resolvers."""

    key: str
    nodes: tuple[FieldNode, ...]


_Entry = _Read | _Write | _Constant | _Delegated


@dataclass(frozen=True, slots=True)
class _OperationPlan:
    entries: tuple[_Entry, ...]


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
        limits: GraphQLLimitSettings | None = None,
    ) -> None:
        self.tenant = tenant
        self.limits = limits  # operation limits, checked once per query text (prepare)
        # Supplies $user.<attribute> (default: the attributes the principal carries).
        self.attributes: AttributeProvider = attributes or PrincipalAttributes()
        self.metadata = metadata
        self.model = metadata.model
        self.schema = schema
        self.version = tenant.metadata_version
        self._documents: Lru[str, PreparedDocument] = Lru(DOCUMENT_CACHE_SIZE)
        # Keyed by the role set too: permissions shape the plan (None: admin, no rules).
        self._plans: Lru[
            tuple[str, str | None, str, tuple[bool, ...], tuple[str, ...] | None], _OperationPlan
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
        with _tracer.start_as_current_span(
            "graphql.operation", attributes={"rapport.tenant": self.tenant.slug}
        ) as span:
            prepared = self._prepared(request.query)
            if prepared.document is None:
                return _request_errors([dict(e.formatted) for e in prepared.errors])
            operation = prepared.operation(request.operation_name)
            if isinstance(operation, str):
                return _request_errors([_bad_request(operation)])
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
            coerced = get_variable_values(
                self.schema, operation.variable_definitions or (), raw_variables
            )
            if isinstance(coerced, list):
                return _request_errors([_with_code(e.formatted) for e in coerced])
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
            run = _Run(self, db, principal, prepared, operation, raw_variables, coerced)
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
            self._writer = RecordWriter(self.tenant, self.metadata, validators=self.validators())
        return self._writer

    def _plan(
        self,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        request: GraphQLRequest,
        raw: Mapping[str, Any],
        coerced: Mapping[str, Any],
        access: Access | None,
    ) -> _OperationPlan:
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
    ) -> _OperationPlan:
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
        entries: list[_Entry] = []
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                entries.append(_Constant(key, json.dumps(root_type.name).encode()))
                continue
            field = root_type.fields.get(name)
            role = field.extensions.get(ROLE) if field is not None and field.extensions else None
            if field is None or role is None:
                entries.append(_Delegated(key, tuple(nodes)))
            elif isinstance(role, MutationRoot):
                entries.append(self._plan_write(planner, key, field, role, nodes))
            else:
                entries.append(self._plan_read(planner, key, field, nodes))
        return _OperationPlan(tuple(entries))

    def _compiled(self, root: plan.RootPlan) -> Statement | None:
        if expression_variables(root):
            return None  # $user/$now values differ per request: compile then
        return compile_root(root, schema=self.tenant.schema, model=self.model, variables={})

    def _plan_read(
        self, planner: Planner, key: str, field: GraphQLField, nodes: list[FieldNode]
    ) -> _Read:
        non_null = isinstance(field.type, GraphQLNonNull)
        try:
            root = planner.root(field, nodes, key)
            statement = self._compiled(root)
        except RapportError as error:  # invalid arguments: the field fails on every request
            return _Read(key, nodes[0], non_null, None, None, error)
        return _Read(key, nodes[0], non_null, root, statement, None)

    def _plan_write(
        self,
        planner: Planner,
        key: str,
        field: GraphQLField,
        role: MutationRoot,
        nodes: list[FieldNode],
    ) -> _Write:
        non_null = isinstance(field.type, GraphQLNonNull)
        if role.action == "delete":
            return _Write(key, nodes[0], non_null, field, role, None, None, None)
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
            return _Write(key, nodes[0], non_null, field, role, None, None, error)
        return _Write(key, nodes[0], non_null, field, role, read, statement, None)


# -- one request ---------------------------------------------------------------------------------


class _Run:
    """The execution of one operation: results and errors in response order."""

    def __init__(
        self,
        api: TenantApi,
        db: Database,
        principal: Principal,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        raw_variables: dict[str, Any],
        coerced: VariableValues,
    ) -> None:
        self.api = api
        self.db = db
        self.principal = principal
        self.prepared = prepared
        self.operation = operation
        self.raw_variables = raw_variables
        self.coerced = coerced
        self.values = plan.RequestValues(coerced.coerced)
        self.errors: list[dict[str, Any]] = []
        self.data_is_null = False
        self._expression_variables: dict[str, Any] | None = None
        self.sensitive = SensitiveReads()  # sensitive fields this request opened, for the audit

    # -- queries -----------------------------------------------------------------------------

    async def query(self, operation_plan: _OperationPlan) -> ExecutionOutcome:
        results: dict[str, bytes] = {}
        delegated = [e for e in operation_plan.entries if isinstance(e, _Delegated)]
        if delegated:
            results.update(await self._delegate(delegated))
        reads = [e for e in operation_plan.entries if isinstance(e, _Read)]
        if reads:
            results.update(await self._reads(reads))
        return self._outcome(operation_plan, results)

    async def _reads(self, reads: list[_Read]) -> dict[str, bytes]:
        results: dict[str, bytes] = {}
        try:
            async with self.db.acquire() as conn:
                if len(reads) == 1:
                    results[reads[0].key] = await self._read(conn, reads[0])
                else:
                    # Several root fields read one consistent snapshot.
                    async with conn.raw.transaction(isolation="repeatable_read", readonly=True):
                        for read in reads:
                            results[read.key] = await self._read(conn, read)
        except RapportError as error:  # the database went away: every field fails alike
            for read in reads:
                if read.key not in results:
                    results[read.key] = self._fail(error, read.key, read.node, read.non_null)
        if self.sensitive:
            # Reads run outside a transaction; the audit entry gets its own short one right
            # after. If it cannot be written, the values are withheld: no unaudited reads.
            try:
                async with self.db.transaction() as conn:
                    await self._audit_reads(conn)
            except Exception as error:
                for read in reads:
                    results[read.key] = self._fail(error, read.key, read.node, read.non_null)
        return results

    async def _audit_reads(self, conn: Connection) -> None:
        await self.sensitive.record(
            conn,
            tenant_id=self.api.tenant.id,
            actor=self.principal.subject,
            via="graphql",
            extra={"operation": self.operation.name.value} if self.operation.name else None,
        )

    async def _opened(self, conn: Connection, text: str) -> str:
        """``text`` with its sensitive values decrypted (only when it holds any)."""
        if not contains_sealed(text):
            return text
        keyring = self.api.writer.keyring
        return await open_sealed(conn, keyring, self.api.tenant.id, text, self.sensitive)

    async def _read(self, conn: Connection, read: _Read) -> bytes:
        try:
            if read.error is not None:
                raise read.error
            if read.root is None:  # pragma: no cover - error is set then
                raise RapportError("the field has no plan")
            statement = read.statement or self._compile(read.root, read.statements)
            text = await conn.fetchval(statement.sql, *statement.arguments(self.values))
            if text is not None:
                text = await self._opened(conn, text)
        except Exception as error:
            return self._fail(error, read.key, read.node, read.non_null)
        return _NULL if text is None else cast(str, text).encode()

    # -- mutations ---------------------------------------------------------------------------

    async def mutation(self, operation_plan: _OperationPlan) -> ExecutionOutcome:
        results: dict[str, bytes] = {}
        for entry in operation_plan.entries:
            if self.data_is_null:
                break  # a non-null mutation field failed: the rest do not run
            if isinstance(entry, _Write):
                results[entry.key] = await self._write(entry)
            elif isinstance(entry, _Delegated):
                results.update(await self._delegate([entry]))
        return self._outcome(operation_plan, results)

    async def _write(self, write: _Write) -> bytes:
        try:
            if write.error is not None:
                raise write.error
            arguments = get_argument_values(write.field, write.node, self.coerced)
            async with self.db.transaction() as conn:
                written = await self._change(conn, write, arguments)
                if write.read is None:
                    return json.dumps(written).encode()
                statement = write.statement or self._compile(write.read, write.statements)
                values = plan.RequestValues(self.values.variables, {WRITTEN: written})
                text = await conn.fetchval(statement.sql, *statement.arguments(values))
                if text is not None:
                    text = await self._opened(conn, text)
                    if self.sensitive:  # the read-back is audited with the change
                        await self._audit_reads(conn)
        except Exception as error:
            return self._fail(error, write.key, write.node, write.non_null)
        return _NULL if text is None else cast(str, text).encode()

    async def _change(
        self, conn: Connection, write: _Write, arguments: dict[str, Any]
    ) -> str | list[str]:
        writer = self.api.writer
        entity = self.api.model.entity(write.role.entity)
        principal = self.principal
        action = write.role.action
        if action == "delete":
            return await writer.delete(conn, entity, arguments["id"], principal=principal)
        if action == "createMany":
            inputs = arguments["inputs"]
            paths = [("inputs", i) for i in range(len(inputs))]
            return await writer.create_many(conn, entity, inputs, principal=principal, paths=paths)
        if action == "create":
            return await writer.create(conn, entity, arguments["input"], principal=principal)
        if action == "update":
            return await writer.update(
                conn,
                entity,
                arguments["id"],
                arguments["input"],
                expected_version=arguments.get("expectedVersion"),
                principal=principal,
            )
        return await writer.upsert(
            conn, entity, arguments["input"], key=arguments["onConflict"], principal=principal
        )

    # -- shared ------------------------------------------------------------------------------

    def _compile(self, root: plan.RootPlan, statements: _UserStatements) -> Statement:
        """The statement of a plan whose expressions use $user/$now variables. Their values
        are bound as parameters, so the statement is reused for every request with the same
        values (a user's row rules), unless it reads $now."""
        if self._expression_variables is None:
            self._expression_variables = user_variables(
                self.principal, now=dt.datetime.now(dt.UTC), provider=self.api.attributes
            )
        variables = self._expression_variables
        used = statements.used
        if used is None:
            used = statements.used = sorted(expression_variables(root))
        for name in used:
            # An attribute the user does not have is null: its rules match nothing.
            variables.setdefault(name, None)
        key = None
        if "now" not in used:
            key = json.dumps([[n, variables.get(n)] for n in used], default=str)
            found = statements.by_values.get(key)
            if found is not None:
                return found
        statement = compile_root(
            root, schema=self.api.tenant.schema, model=self.api.model, variables=variables
        )
        if key is not None:
            statements.by_values.put(key, statement)
        return statement

    def _fail(self, error: Exception, key: str, node: FieldNode, non_null: bool) -> bytes:
        if isinstance(error, RapportError):
            graphql_error = GraphQLError(
                error.message, node, path=[key], extensions=error.extensions()
            )
        else:
            _log.exception("GraphQL field %s failed", key, exc_info=error)
            graphql_error = GraphQLError(
                "Internal server error.", node, path=[key], extensions={"code": "INTERNAL"}
            )
        self.errors.append(dict(graphql_error.formatted))
        if non_null:
            self.data_is_null = True
        return _NULL

    async def _delegate(self, entries: list[_Delegated]) -> dict[str, bytes]:
        """Run introspection and resolver fields through graphql-core."""
        operation = OperationDefinitionNode(
            operation=self.operation.operation,
            name=self.operation.name,
            variable_definitions=self.operation.variable_definitions,
            directives=(),
            selection_set=SelectionSetNode(
                selections=tuple(node for entry in entries for node in entry.nodes)
            ),
        )
        document = DocumentNode(definitions=(operation, *self.prepared.fragments.values()))
        context = RequestContext(self.db, self.principal, self.api, dt.datetime.now(dt.UTC))
        outcome = execute(
            self.api.schema, document, variable_values=self.raw_variables, context_value=context
        )
        result = await outcome if inspect.isawaitable(outcome) else outcome
        self.errors.extend(_resolver_error(e) for e in result.errors or ())
        if result.data is None:
            self.data_is_null = True
            return {entry.key: _NULL for entry in entries}
        return {
            entry.key: json.dumps(result.data.get(entry.key), ensure_ascii=False).encode()
            for entry in entries
        }

    def _outcome(
        self, operation_plan: _OperationPlan, results: dict[str, bytes]
    ) -> ExecutionOutcome:
        parts: list[bytes] = []
        if self.errors:
            parts.append(
                b'{"errors":' + json.dumps(self.errors, ensure_ascii=False).encode() + b","
            )
        else:
            parts.append(b"{")
        if self.data_is_null:
            parts.append(b'"data":null}')
            return ExecutionOutcome(b"".join(parts))
        fields = []
        for entry in operation_plan.entries:
            if entry.key not in results and not isinstance(entry, _Constant):
                continue  # not run: an earlier mutation failed
            value = entry.json if isinstance(entry, _Constant) else results[entry.key]
            fields.append(b'"' + entry.key.encode() + b'":' + value)
        parts.append(b'"data":{' + b",".join(fields) + b"}}")
        return ExecutionOutcome(b"".join(parts))


def _bad_request(message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": BadRequest.code}}


def _resolver_error(error: GraphQLError) -> dict[str, Any]:
    """A resolver's error as the client sees it: a RapportError keeps its code and hint; any
    other exception is logged and masked (its text may hold SQL or internals)."""
    original = error.original_error
    formatted = dict(error.formatted)
    if isinstance(original, RapportError):
        formatted["message"] = original.message
        formatted["extensions"] = original.extensions()
        return formatted
    if original is not None and not isinstance(original, GraphQLError):
        _log.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        formatted["message"] = "Internal server error."
        formatted["extensions"] = {"code": "INTERNAL"}
        return formatted
    return _with_code(formatted)


def _with_code(formatted: Mapping[str, Any]) -> dict[str, Any]:
    error = dict(formatted)
    extensions = dict(error.get("extensions") or {})
    extensions.setdefault("code", BadRequest.code)
    error["extensions"] = extensions
    return error


def _request_errors(errors: list[dict[str, Any]]) -> ExecutionOutcome:
    body = {"errors": [_with_code(e) for e in errors]}
    return ExecutionOutcome(json.dumps(body, ensure_ascii=False).encode(), request_error=True)
