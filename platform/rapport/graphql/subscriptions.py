"""The subscription schema of a tenant and one subscription's results, read as the subscriber.

``<single>Changed(where)`` per entity and ``myNotifications``. Permissions are honoured by
construction: for each event a subscriber receives, the record is read back through the
tenant's compiled read path *as the subscriber* —
``<plural>(where: {_and: [<where>, {id: {_eq: …}}]})`` — so row rules and field rules apply
exactly as for a query, and a record the subscriber could not read (or that fails ``where``) is
not sent. A deleted record cannot be read back: deletes reach only admins. ``myNotifications``
sends new notifications addressed to the subscriber. The websocket protocols are in
:mod:`rapport.graphql.ws`.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

from rapport.db.database import Database
from rapport.errors import BadRequest
from rapport.graphql.events import Event
from rapport.graphql.executor import TenantApi
from rapport.graphql.request import GraphQLRequest
from rapport.graphql.scalars import format_datetime
from rapport.graphql.types import names
from rapport.notify.graphql import recipients_of
from rapport.notify.inbox import ENTITY as NOTIFICATION
from rapport.principal import Principal
from rapport.records.rows import load_records, parse_id

__all__ = ["plan_subscription", "subscription_schema"]


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
        elif (
            self._record_query is not None
            or self.plan.where is not None
            or not self.principal.is_admin
        ):
            # Read back even when `record` is not selected: the row rule decides whether any
            # part of the event (its action, its id, even its __typename) is sent.
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
