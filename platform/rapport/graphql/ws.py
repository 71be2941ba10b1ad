"""GraphQL subscriptions over a websocket on ``/graphql``: ``<single>Changed(where)`` per entity
and ``myNotifications``.

Both protocols are spoken: ``graphql-transport-ws`` (graphql-ws library: ``connection_init`` →
``connection_ack``, ``subscribe`` → ``next``/``error``/``complete``, ``ping``/``pong``) and the
legacy ``graphql-ws`` (subscriptions-transport-ws: ``start`` → ``data``, ``stop``, ``ka``).
The token travels in ``connection_init``'s payload (``{"Authorization": "Bearer …"}`` or
``{"token": "…"}``) and is checked like an HTTP request's — again every
RAPPORT_REVOCATION_CACHE_SECONDS while the connection is open: once it no longer authenticates
(logout, role change, password reset, disabled user, revoked key, expiry), the connection is
closed with 4401 and its subscriptions end.

Events come from PostgreSQL: every record write sends ``NOTIFY rapport_events`` at commit
(:mod:`rapport.notify.events`); one LISTEN connection per app process (:class:`EventHub`) fans
them out to the subscriptions of the event's tenant. Permissions are honoured by construction:
for each event a subscriber receives, the record is read back through the tenant's compiled
read path *as the subscriber* — ``<plural>(where: {_and: [<where>, {id: {_eq: …}}]})`` — so
row rules and field rules apply exactly as for a query, and a record the subscriber could not
read (or that fails ``where``) is not sent. A deleted record cannot be read back: deletes reach
only admins. ``myNotifications`` sends new notifications addressed to the subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
    print_ast,
    validate,
    value_from_ast_untyped,
)
from starlette.datastructures import Headers
from starlette.websockets import WebSocket, WebSocketDisconnect

from rapport.auth.principal import Principal
from rapport.auth.revocation import watch_credential
from rapport.db.database import Database
from rapport.errors import BadRequest, Forbidden, RapportError, Unauthenticated
from rapport.graphql.executor import TenantApi
from rapport.graphql.request import GraphQLRequest
from rapport.graphql.scalars import format_datetime
from rapport.graphql.types import names
from rapport.notify.events import EVENTS_CHANNEL
from rapport.notify.graphql import recipients_of
from rapport.notify.inbox import ENTITY as NOTIFICATION
from rapport.records.rows import load_records, parse_id

__all__ = ["PROTOCOLS", "EventHub", "subscription_schema", "websocket_endpoint"]

log = logging.getLogger(__name__)

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = (TRANSPORT_WS, LEGACY_WS)
INIT_TIMEOUT_SECONDS = 10.0
QUEUE_SIZE = 1000  # events buffered per connection; a slower client is disconnected


@dataclass(frozen=True, slots=True)
class Event:
    tenant: str  # slug
    entity: str
    id: str
    action: str  # create | update | delete


# --- the event source ------------------------------------------------------------------------------


class EventHub:
    """One LISTEN connection on ``rapport_events``; queues of the open subscriptions."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queues: dict[str, set[asyncio.Queue[Event]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def subscribe(self, tenant: str) -> asyncio.Queue[Event]:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="rapport-events-listener")
        await asyncio.wait_for(self._ready.wait(), 10)
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(tenant, set()).add(queue)
        return queue

    def unsubscribe(self, tenant: str, queue: asyncio.Queue[Event]) -> None:
        self._queues.get(tenant, set()).discard(queue)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            event = Event(data["tenant"], data["entity"], data["id"], data["action"])
        except (ValueError, KeyError, TypeError):
            log.warning("events: malformed notification %r", payload)
            return
        for queue in list(self._queues.get(event.tenant, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("events: a subscriber of %s falls behind; dropping it", event.tenant)
                self._queues[event.tenant].discard(queue)

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                connection = await asyncpg.connect(
                    self._db.dsn, server_settings={"application_name": "rapport-events"}
                )
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("events listener: cannot connect (%s)", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            lost = asyncio.Event()
            try:
                await connection.add_listener(EVENTS_CHANNEL, self._on_notify)
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                self._ready.set()
                await lost.wait()
            finally:
                self._ready.clear()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), 2.0)


# --- the subscription schema -----------------------------------------------------------------------

_ACTION = GraphQLEnumType(
    "ChangeAction",
    {"CREATE": "create", "UPDATE": "update", "DELETE": "delete"},
    description="What happened to the record.",
)
_SCHEMAS: weakref.WeakKeyDictionary[TenantApi, GraphQLSchema] = weakref.WeakKeyDictionary()


def subscription_schema(api: TenantApi) -> GraphQLSchema:
    """The tenant's schema plus its ``Subscription`` root (built once per tenant version)."""
    found = _SCHEMAS.get(api)
    if found is not None:
        return found
    fields: dict[str, GraphQLField] = {}
    for entity in api.model:
        type_ = api.schema.get_type(entity.type_name)
        where = api.schema.get_type(names.where(entity))
        if not isinstance(type_, GraphQLObjectType):
            continue
        change = GraphQLObjectType(
            f"{entity.type_name}Change",
            {
                "action": GraphQLField(GraphQLNonNull(_ACTION)),
                "id": GraphQLField(GraphQLNonNull(GraphQLID)),
                "record": GraphQLField(
                    type_, description="As the subscriber may read it; null for deletes."
                ),
            },
        )
        args = {"where": GraphQLArgument(where)} if where is not None else {}  # type: ignore[arg-type]
        fields[f"{entity.single_name}Changed"] = GraphQLField(
            GraphQLNonNull(change),
            args=args,
            description=f"{entity.type_name} records created, updated or deleted.",
        )
    if api.model.has_entity(NOTIFICATION):
        notification = api.schema.get_type(api.model.entity(NOTIFICATION).type_name)
        if isinstance(notification, GraphQLObjectType):
            fields["myNotifications"] = GraphQLField(
                GraphQLNonNull(notification), description="New notifications for the caller."
            )
    subscription = GraphQLObjectType("Subscription", fields)
    schema = GraphQLSchema(
        query=api.schema.query_type,
        mutation=api.schema.mutation_type,
        subscription=subscription,
        types=list(api.schema.type_map.values()),
    )
    _SCHEMAS[api] = schema
    return schema


# --- one subscription ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    key: str  # response key (alias or field name)
    entity: str  # entity id
    field: FieldNode
    where: Any  # the raw `where` argument (JSON), or None
    notifications: bool


class _Subscription:
    def __init__(
        self,
        api: TenantApi,
        db: Database,
        principal: Principal,
        plan: _Plan,
        document: DocumentNode,
    ) -> None:
        self.api = api
        self.db = db
        self.principal = principal
        self.plan = plan
        self.document = document
        self._record_query = self._read_query()

    def _read_query(self) -> str | None:
        """The query that reads one changed record back as the subscriber."""
        if self.plan.notifications:
            return None
        record = next(
            (s for s in self._selections(self.plan.field) if s.name.value == "record"), None
        )
        if record is None or record.selection_set is None:
            return None
        entity = self.api.model.entity(self.plan.entity)
        selection = print_ast(record.selection_set)
        return (
            f"query($w: {names.where(entity)}!) {{ {entity.plural_name}(where: $w, first: 1) "
            f"{{ edges {{ node {selection} }} }} }}"
        )

    @staticmethod
    def _selections(node: FieldNode) -> list[FieldNode]:
        if node.selection_set is None:
            return []
        return [s for s in node.selection_set.selections if isinstance(s, FieldNode)]

    async def result(self, event: Event) -> dict[str, Any] | None:
        """The ``data`` this event sends the subscriber, or None when it is not for them."""
        if self.plan.notifications:
            return await self._notification(event)
        if event.entity != self.plan.entity:
            return None
        record: Any = None
        if event.action == "delete":
            if not self.principal.is_admin:
                return None  # a deleted record cannot be checked against the read rules
        elif self._record_query is not None or self.plan.where is not None:
            record = await self._read(event.id)
            if record is None:
                return None  # not readable by the subscriber, or not matching `where`
        values = {"action": event.action.upper(), "id": event.id, "record": record}
        entity = self.api.model.entity(self.plan.entity)
        return {self.plan.key: _shape(self.plan.field, values, f"{entity.type_name}Change")}

    async def _read(self, record_id: str) -> Any:
        condition: dict[str, Any] = {"id": {"_eq": record_id}}
        where = {"_and": [self.plan.where, condition]} if self.plan.where else condition
        entity = self.api.model.entity(self.plan.entity)
        query = self._record_query or (
            f"query($w: {names.where(entity)}!) {{ {entity.plural_name}(where: $w, first: 1) "
            "{ edges { node { id } } } }"
        )
        outcome = await self.api.execute(
            self.db,
            GraphQLRequest(query, None, {"w": where}, allow_mutations=False),
            self.principal,
        )
        body = json.loads(outcome.body)
        edges = ((body.get("data") or {}).get(entity.plural_name) or {}).get("edges") or []
        return edges[0]["node"] if edges else None

    async def _notification(self, event: Event) -> dict[str, Any] | None:
        if event.entity != NOTIFICATION or event.action != "create":
            return None
        entity = self.api.model.entity(NOTIFICATION)
        parsed = parse_id(event.id)
        if parsed is None:
            return None
        async with self.db.acquire() as conn:
            records = await load_records(conn, self.api.tenant.schema, entity, [parsed])
        record = records.get(event.id)
        if record is None or record.get("recipient") not in recipients_of(self.principal):
            return None
        return {self.plan.key: _shape(self.plan.field, record, entity.type_name)}


def _shape(node: FieldNode, values: Mapping[str, Any], typename: str) -> dict[str, Any]:
    """The selected fields of ``values`` under their response keys (JSON-ready)."""
    shaped: dict[str, Any] = {}
    for selection in node.selection_set.selections if node.selection_set else ():
        if not isinstance(selection, FieldNode):
            continue
        key = selection.alias.value if selection.alias else selection.name.value
        name = selection.name.value
        shaped[key] = typename if name == "__typename" else _json(values.get(name))
    return shaped


def _json(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def plan_subscription(
    api: TenantApi, query: str, variables: Mapping[str, Any] | None, operation_name: str | None
) -> tuple[_Plan, DocumentNode]:
    """Parse and validate a subscription; raise BadRequest with the GraphQL errors."""
    schema = subscription_schema(api)
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise BadRequest(exc.message, hint="Send a valid GraphQL subscription.") from None
    errors = validate(schema, document)
    if errors:
        raise BadRequest(
            "; ".join(e.message for e in errors), hint="Check the subscription against the schema."
        )
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        raise BadRequest(
            "Only subscriptions run over the websocket.",
            hint="Send queries and mutations with POST /graphql.",
        )
    fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    if len(fields) != 1:
        raise BadRequest("A subscription selects exactly one root field.")
    field = fields[0]
    name = field.name.value
    key = field.alias.value if field.alias else name
    if name == "myNotifications":
        return _Plan(key, NOTIFICATION, field, None, True), document
    entity = next(e for e in api.model if f"{e.single_name}Changed" == name)
    where: Any = None
    for argument in field.arguments or ():
        if argument.name.value == "where":
            if isinstance(argument.value, VariableNode):
                where = (variables or {}).get(argument.value.name.value)
            else:
                where = value_from_ast_untyped(argument.value, dict(variables or {}))
    return _Plan(key, entity.id, field, where, False), document


# --- the websocket ----------------------------------------------------------------------------------


async def websocket_endpoint(websocket: WebSocket) -> None:
    from rapport.graphql.http import services  # the HTTP module owns the services lookup

    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    protocol = next((p for p in PROTOCOLS if p in offered), None)
    if protocol is None:
        await websocket.close(code=4406, reason="Subprotocol not acceptable")
        return
    await websocket.accept(subprotocol=protocol)
    connection = _Connection(websocket, protocol)
    try:
        svc = services(websocket)  # type: ignore[arg-type]
        await connection.run(svc)
    except WebSocketDisconnect:
        pass
    finally:
        connection.stop()


class _Connection:
    def __init__(self, websocket: WebSocket, protocol: str) -> None:
        self.ws = websocket
        self.legacy = protocol == LEGACY_WS
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.watcher: asyncio.Task[None] | None = None

    async def send(self, message: Mapping[str, Any]) -> None:
        await self.ws.send_text(json.dumps(message, ensure_ascii=False, default=str))

    def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        if self.watcher is not None:
            self.watcher.cancel()

    async def _revoked(self, error: RapportError) -> None:
        # The credential stopped authenticating (logout, role change, revoked key, expiry).
        for task in self.tasks.values():
            task.cancel()
        await self.ws.close(code=4401, reason=error.message[:120])

    async def run(self, svc: Any) -> None:
        try:
            init = await asyncio.wait_for(self.ws.receive_json(), INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            await self.ws.close(code=4408, reason="Connection initialisation timeout")
            return
        if not isinstance(init, dict) or init.get("type") != "connection_init":
            await self.ws.close(code=4400, reason="Expected connection_init")
            return
        try:
            principal = await _authenticate(svc, init.get("payload") or {})
        except (Unauthenticated, Forbidden) as exc:
            if self.legacy:
                await self.send({"type": "connection_error", "payload": {"message": exc.message}})
            await self.ws.close(
                code=4403 if isinstance(exc, Forbidden) else 4401, reason=exc.message[:120]
            )
            return
        await self.send({"type": "connection_ack"})
        self.watcher = asyncio.create_task(
            watch_credential(
                partial(_authenticate, svc, init.get("payload") or {}),
                svc.settings.identity.revocation_cache_seconds,
                self._revoked,
            )
        )
        hub: EventHub = svc.events
        while True:
            message = await self.ws.receive_json()
            kind = message.get("type") if isinstance(message, dict) else None
            if kind in ("subscribe", "start"):
                await self._start(svc, hub, principal, message)
            elif kind in ("complete", "stop"):
                task = self.tasks.pop(str(message.get("id")), None)
                if task is not None:
                    task.cancel()
                if self.legacy:
                    await self.send({"type": "complete", "id": message.get("id")})
            elif kind == "ping":
                await self.send({"type": "pong"})
            elif kind == "connection_terminate":
                await self.ws.close()
                return
            elif kind != "pong":
                await self.ws.close(code=4400, reason=f"Unexpected message {kind!r}")
                return

    async def _start(
        self, svc: Any, hub: EventHub, principal: Principal, message: Mapping[str, Any]
    ) -> None:
        op_id = str(message.get("id"))
        if op_id in self.tasks:
            await self.ws.close(code=4409, reason=f"Subscriber for {op_id} already exists")
            return
        payload = message.get("payload") or {}
        try:
            if principal.tenant is None:
                raise Forbidden("An operator token has no tenant.")
            api = await svc.runtimes.get(principal.tenant)
            if svc.plugin_attributes is not None:  # $user.* from installed plug-ins, as /graphql
                principal = await svc.plugin_attributes.enrich(api.tenant, api.metadata, principal)
            plan, document = plan_subscription(
                api,
                str(payload.get("query") or ""),
                payload.get("variables"),
                payload.get("operationName"),
            )
        except RapportError as exc:
            error = {"message": exc.message, "extensions": exc.extensions()}
            await self.send(
                {"type": "error", "id": op_id, "payload": [error] if not self.legacy else error}
            )
            return
        subscription = _Subscription(api, svc.db, principal, plan, document)
        queue = await hub.subscribe(api.tenant.slug)
        self.tasks[op_id] = asyncio.create_task(
            self._pump(hub, api.tenant.slug, queue, subscription, op_id)
        )

    async def _pump(
        self,
        hub: EventHub,
        tenant: str,
        queue: asyncio.Queue[Event],
        subscription: _Subscription,
        op_id: str,
    ) -> None:
        kind = "data" if self.legacy else "next"
        try:
            while True:
                event = await queue.get()
                try:
                    data = await subscription.result(event)
                except RapportError as exc:
                    log.warning("subscription %s: %s", op_id, exc.message)
                    continue
                if data is not None:
                    await self.send({"type": kind, "id": op_id, "payload": {"data": data}})
        finally:
            hub.unsubscribe(tenant, queue)


async def _authenticate(svc: Any, payload: Mapping[str, Any]) -> Principal:
    raw = payload.get("Authorization") or payload.get("authorization")
    token = payload.get("token")
    if raw is None and isinstance(token, str):
        raw = f"Bearer {token}"
    if not isinstance(raw, str):
        raise Unauthenticated(
            "connection_init carries no token.",
            hint='Send {"type": "connection_init", "payload": {"Authorization": "Bearer <token>"}}.',
        )
    principal: Principal = await svc.auth.authenticate(Headers({"authorization": raw}))
    if principal.tenant is None:
        raise Forbidden(
            "An operator token has no tenant, so it cannot subscribe to tenant data.",
            hint="Issue a tenant token (`rapport token issue --tenant SLUG --role R`).",
        )
    return principal
