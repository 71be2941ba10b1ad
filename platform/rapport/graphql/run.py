"""Running one planned operation: its reads, its writes, and the fields delegated to resolvers.

Queries run one statement per root field (a read-only snapshot shared when there are several);
each mutation field runs in its own transaction and reads its result back inside it; fields with
Python resolvers (introspection, contributed fields) go through graphql-core's ``execute``.
Results and errors are spliced into the response in response order.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol, cast

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    get_argument_values,
)
from graphql.execution.values import VariableValues

from rapport.auth.permissions.attributes import (
    AttributeProvider,
    user_variables,
)
from rapport.crypto.reading import SensitiveReads, contains_sealed, open_sealed
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection, Database
from rapport.errors import BadRequest, RapportError
from rapport.graphql.contributions import RequestContext, TenantView
from rapport.graphql.operation import (
    Constant,
    Delegated,
    OperationPlan,
    Read,
    UserStatements,
    Write,
)
from rapport.graphql.prepared import PreparedDocument
from rapport.graphql.request import ExecutionOutcome
from rapport.principal import Principal
from rapport.sql import plan
from rapport.sql.params import WRITTEN
from rapport.sql.query import Statement, compile_root, expression_variables

__all__ = ["ApiView", "Run", "bad_request", "request_errors", "with_code"]

_log = logging.getLogger(__name__)
_NULL = b"null"


class ApiView(TenantView, Protocol):
    """What a run needs of the TenantApi it runs in."""

    @property
    def attributes(self) -> AttributeProvider: ...

    @property
    def schema(self) -> GraphQLSchema: ...

    @property
    def sealers(self) -> KeyRingSealers: ...


class Run:
    """The execution of one operation: results and errors in response order."""

    def __init__(
        self,
        api: ApiView,
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

    async def query(self, operation_plan: OperationPlan) -> ExecutionOutcome:
        results: dict[str, bytes] = {}
        delegated = [e for e in operation_plan.entries if isinstance(e, Delegated)]
        if delegated:
            results.update(await self._delegate(delegated))
        reads = [e for e in operation_plan.entries if isinstance(e, Read)]
        if reads:
            results.update(await self._reads(reads))
        return self._outcome(operation_plan, results)

    async def _reads(self, reads: list[Read]) -> dict[str, bytes]:
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
        keyring = self.api.sealers.keyring
        return await open_sealed(conn, keyring, self.api.tenant.id, text, self.sensitive)

    async def _read(self, conn: Connection, read: Read) -> bytes:
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

    async def mutation(self, operation_plan: OperationPlan) -> ExecutionOutcome:
        results: dict[str, bytes] = {}
        for entry in operation_plan.entries:
            if self.data_is_null:
                break  # a non-null mutation field failed: the rest do not run
            if isinstance(entry, Write):
                results[entry.key] = await self._write(entry)
            elif isinstance(entry, Delegated):
                results.update(await self._delegate([entry]))
        return self._outcome(operation_plan, results)

    async def _write(self, write: Write) -> bytes:
        try:
            if write.error is not None:
                raise write.error
            arguments = get_argument_values(write.field, write.node, self.coerced)
            # Group commit (rapport.db.group): concurrent writes of this tenant share one
            # transaction, one audit head lock and one commit, each in its own savepoint.
            async with self.db.grouped(self.api.tenant.id) as conn:
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
        self, conn: Connection, write: Write, arguments: dict[str, Any]
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

    def _compile(self, root: plan.RootPlan, statements: UserStatements) -> Statement:
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

    async def _delegate(self, entries: list[Delegated]) -> dict[str, bytes]:
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
        self, operation_plan: OperationPlan, results: dict[str, bytes]
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
            if entry.key not in results and not isinstance(entry, Constant):
                continue  # not run: an earlier mutation failed
            value = entry.json if isinstance(entry, Constant) else results[entry.key]
            fields.append(b'"' + entry.key.encode() + b'":' + value)
        parts.append(b'"data":{' + b",".join(fields) + b"}}")
        return ExecutionOutcome(b"".join(parts))


def bad_request(message: str) -> dict[str, Any]:
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
    return with_code(formatted)


def with_code(formatted: Mapping[str, Any]) -> dict[str, Any]:
    error = dict(formatted)
    extensions = dict(error.get("extensions") or {})
    extensions.setdefault("code", BadRequest.code)
    error["extensions"] = extensions
    return error


def request_errors(errors: list[dict[str, Any]]) -> ExecutionOutcome:
    body = {"errors": [with_code(e) for e in errors]}
    return ExecutionOutcome(json.dumps(body, ensure_ascii=False).encode(), request_error=True)
