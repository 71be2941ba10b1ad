"""Tenant API fields of notifications, webhooks and failed jobs.

- ``myNotifications(unreadOnly, first, after)``: the caller's in-app notifications (addressed to
  their user id or to one of their roles), newest first, with ``unreadCount``. Scoped by
  recipient rather than by the entity's read rules: a user may always read what was sent to
  them, and nothing else.
- ``markNotificationsRead(ids)``: marks the caller's own unread ones read (written through the
  RecordWriter as the system principal, since users usually hold no update right on
  ``core/notification``); returns how many changed.
- Tenant admins: ``webhookSubscriptions``, ``webhookDeliveries``,
  ``createWebhookSubscription``, ``deleteWebhookSubscription``, ``failedJobs``, ``retryJob``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLString,
)

from rapport.errors import BadRequest, Forbidden
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import DATETIME
from rapport.graphql.types.context import BuildContext
from rapport.jobs.failures import list_failed, retry_failed
from rapport.metadata.bundle import TenantMetadata
from rapport.naming import qualified
from rapport.notify.inbox import ENTITY, ROLE_PREFIX, system_principal
from rapport.notify.webhooks import (
    FORMATS,
    create_subscription,
    delete_subscription,
    list_deliveries,
    list_subscriptions,
)
from rapport.principal import Principal
from rapport.records.rows import load_records, parse_id

__all__ = ["contribute_notifications", "recipients_of"]

if TYPE_CHECKING:
    Info = GraphQLResolveInfo[RequestContext]

MAX_PAGE = 100


def recipients_of(principal: Principal) -> list[str]:
    """The recipient values that address ``principal``: its user id and ``role:<r>``."""
    return [principal.subject, *(f"{ROLE_PREFIX}{r}" for r in sorted(principal.roles))]


def contribute_notifications(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity(ENTITY):
        return Contribution()  # a tenant published before notifications existed
    registry = ctx.registry
    notification = registry.object(metadata.model.entity(ENTITY).type_name)
    page = registry.add(
        GraphQLObjectType(
            "MyNotifications",
            lambda: {
                "nodes": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(notification)))),
                "hasNextPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
                "endCursor": GraphQLField(GraphQLString, description="Pass as `after`."),
                "unreadCount": GraphQLField(GraphQLNonNull(GraphQLInt)),
            },
            description="A page of the caller's notifications, newest first.",
        ),
        origin="kernel",
    )
    subscription = registry.add(
        GraphQLObjectType(
            "WebhookSubscription",
            {
                "id": GraphQLField(GraphQLNonNull(GraphQLID)),
                "url": GraphQLField(GraphQLNonNull(GraphQLString)),
                "format": GraphQLField(GraphQLNonNull(GraphQLString)),
                "events": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString)))),
                "entities": GraphQLField(
                    GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString)))
                ),
                "active": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
                "createdAt": GraphQLField(GraphQLNonNull(DATETIME), resolve=_attr("created_at")),
            },
        ),
        origin="kernel",
    )
    created = registry.add(
        GraphQLObjectType(
            "CreatedWebhookSubscription",
            {
                "subscription": GraphQLField(GraphQLNonNull(subscription)),
                "secret": GraphQLField(
                    GraphQLNonNull(GraphQLString),
                    description="The signing secret; shown only now — keep it.",
                ),
            },
        ),
        origin="kernel",
    )
    delivery = registry.add(
        GraphQLObjectType(
            "WebhookDelivery",
            {
                "id": GraphQLField(GraphQLNonNull(GraphQLID)),
                "subscriptionId": GraphQLField(
                    GraphQLNonNull(GraphQLID), resolve=_attr("subscription_id")
                ),
                "eventId": GraphQLField(GraphQLNonNull(GraphQLID), resolve=_attr("outbox_id")),
                "topic": GraphQLField(GraphQLNonNull(GraphQLString)),
                "attempt": GraphQLField(GraphQLNonNull(GraphQLInt)),
                "statusCode": GraphQLField(GraphQLInt, resolve=_attr("status_code")),
                "error": GraphQLField(GraphQLString),
                "ok": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
                "durationMs": GraphQLField(
                    GraphQLNonNull(GraphQLInt), resolve=_attr("duration_ms")
                ),
                "attemptedAt": GraphQLField(
                    GraphQLNonNull(DATETIME), resolve=_attr("attempted_at")
                ),
            },
        ),
        origin="kernel",
    )
    failed = registry.add(
        GraphQLObjectType(
            "FailedJob",
            {
                "id": GraphQLField(GraphQLNonNull(GraphQLID), description="The outbox id."),
                "topic": GraphQLField(GraphQLNonNull(GraphQLString)),
                "attempts": GraphQLField(GraphQLNonNull(GraphQLInt)),
                "error": GraphQLField(GraphQLNonNull(GraphQLString)),
                "failedAt": GraphQLField(GraphQLNonNull(DATETIME), resolve=_attr("failed_at")),
            },
            description="A background job that used all its tries.",
        ),
        origin="kernel",
    )
    strings = GraphQLList(GraphQLNonNull(GraphQLString))
    return Contribution(
        query={
            "myNotifications": GraphQLField(
                GraphQLNonNull(page),
                args={
                    "unreadOnly": GraphQLArgument(GraphQLBoolean, default_value=False),
                    "first": GraphQLArgument(GraphQLInt, default_value=20),
                    "after": GraphQLArgument(GraphQLString),
                },
                resolve=_my_notifications,
                description="The caller's in-app notifications, newest first.",
            ),
            "webhookSubscriptions": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(subscription))),
                resolve=_subscriptions,
                description="Outbound webhooks of the tenant (admins).",
            ),
            "webhookDeliveries": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(delivery))),
                args={
                    "subscriptionId": GraphQLArgument(GraphQLID),
                    "first": GraphQLArgument(GraphQLInt, default_value=50),
                },
                resolve=_deliveries,
                description="Delivery attempts, newest first (admins).",
            ),
            "failedJobs": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(failed))),
                args={"first": GraphQLArgument(GraphQLInt, default_value=50)},
                resolve=_failed_jobs,
                description="Background jobs of the tenant that failed for good (admins).",
            ),
        },
        mutation={
            "markNotificationsRead": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={
                    "ids": GraphQLArgument(GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLID))))
                },
                resolve=_mark_read,
                description="Mark the caller's notifications read; returns how many changed.",
            ),
            "createWebhookSubscription": GraphQLField(
                GraphQLNonNull(created),
                args={
                    "url": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                    "events": GraphQLArgument(GraphQLNonNull(strings)),
                    "entities": GraphQLArgument(strings),
                    "format": GraphQLArgument(
                        GraphQLString,
                        default_value="rapport",
                        description=f"One of {', '.join(FORMATS)}.",
                    ),
                    "secret": GraphQLArgument(
                        GraphQLString, description="DingTalk robot secret; generated for rapport."
                    ),
                },
                resolve=_create_subscription,
            ),
            "deleteWebhookSubscription": GraphQLField(
                GraphQLID,
                args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))},
                resolve=_delete_subscription,
            ),
            "retryJob": GraphQLField(
                GraphQLID,
                args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))},
                resolve=_retry_job,
                description="Send a failed job again (admins).",
            ),
        },
    )


# --- notifications -------------------------------------------------------------------------------


async def _my_notifications(
    _root: object, info: Info, unreadOnly: bool, first: int, after: str | None = None
) -> dict[str, Any]:
    context: RequestContext = info.context
    if not 1 <= first <= MAX_PAGE:
        raise BadRequest(f"`first` must be between 1 and {MAX_PAGE}.", hint="Page with `after`.")
    entity = context.metadata.model.entity(ENTITY)
    table = qualified(context.api.tenant.schema, entity.table)
    position = _cursor(after) if after else None
    recipients = recipients_of(context.principal)
    rows = await context.db.fetch(
        f"""
        SELECT id, created_at FROM {table}
         WHERE recipient = ANY($1::text[]) AND (NOT $2 OR read_at IS NULL)
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
         ORDER BY created_at DESC, id DESC
         LIMIT $5
        """,
        recipients,
        unreadOnly,
        position[0] if position else None,
        position[1] if position else None,
        first + 1,
    )
    unread = await context.db.fetchval(
        f"SELECT count(*) FROM {table} WHERE recipient = ANY($1::text[]) AND read_at IS NULL",
        recipients,
    )
    shown = rows[:first]
    records = await _records(context, [r["id"] for r in shown])
    end = shown[-1] if shown else None
    return {
        "nodes": [records[str(r["id"])] for r in shown if str(r["id"]) in records],
        "hasNextPage": len(rows) > first,
        "endCursor": _encode(end["created_at"], str(end["id"])) if end else None,
        "unreadCount": int(unread),
    }


async def _mark_read(_root: object, info: Info, ids: Sequence[str]) -> int:
    context: RequestContext = info.context
    entity = context.metadata.model.entity(ENTITY)
    table = qualified(context.api.tenant.schema, entity.table)
    wanted = [u for u in (parse_id(i) for i in ids) if u is not None]
    now = dt.datetime.now(dt.UTC)
    async with context.db.transaction() as conn:
        mine = await conn.fetch(
            f"SELECT id FROM {table} WHERE id = ANY($1::uuid[]) "
            "AND recipient = ANY($2::text[]) AND read_at IS NULL FOR UPDATE",
            wanted,
            recipients_of(context.principal),
        )
        for row in mine:
            await context.api.writer.update(
                conn,
                entity,
                str(row["id"]),
                {"readAt": now},
                expected_version=None,
                principal=system_principal(context.api.tenant),
                via="notify",
            )
    return len(mine)


async def _records(context: RequestContext, ids: Sequence[Any]) -> dict[str, Any]:
    entity = context.metadata.model.entity(ENTITY)
    async with context.db.acquire() as conn:
        return await load_records(conn, context.api.tenant.schema, entity, list(ids))


def _encode(created_at: dt.datetime, record_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{record_id}".encode()).decode()


def _cursor(after: str) -> tuple[dt.datetime, str]:
    try:
        text = base64.urlsafe_b64decode(after.encode()).decode()
        stamp, _, record_id = text.partition("|")
        parsed = parse_id(record_id)
        if parsed is None:
            raise ValueError(record_id)
        return dt.datetime.fromisoformat(stamp), str(parsed)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "`after` is not a cursor of myNotifications.", hint="Pass the `endCursor` returned."
        ) from None


# --- admin fields --------------------------------------------------------------------------------


def _admin(info: Info) -> RequestContext:
    context: RequestContext = info.context
    if not context.principal.is_admin:
        raise Forbidden(
            "Only tenant admins may manage webhooks and background jobs.",
            hint="Use a token with the admin role.",
        )
    return context


async def _subscriptions(_root: object, info: Info) -> list[Any]:
    context = _admin(info)
    return list(await list_subscriptions(context.db, context.api.tenant.id))


async def _deliveries(
    _root: object, info: Info, first: int, subscriptionId: str | None = None
) -> list[Any]:
    context = _admin(info)
    return list(
        await list_deliveries(
            context.db, context.api.tenant.id, subscriptionId, limit=max(1, min(first, 500))
        )
    )


async def _create_subscription(
    _root: object,
    info: Info,
    url: str,
    events: Sequence[str],
    format: str,
    entities: Sequence[str] | None = None,
    secret: str | None = None,
) -> dict[str, Any]:
    context = _admin(info)
    unknown = sorted(set(entities or ()) - {e.id for e in context.metadata.model})
    if unknown:
        raise BadRequest(
            f"Unknown entities: {', '.join(unknown)}.", hint="Use entity ids such as core/task."
        )
    stored, shown = await create_subscription(
        context.db,
        tenant_id=context.api.tenant.id,
        url=url,
        events=events,
        entities=entities or (),
        format=format,
        secret=secret,
        actor=context.principal.subject,
    )
    return {"subscription": stored, "secret": shown}


async def _delete_subscription(_root: object, info: Info, id: str) -> str:
    context = _admin(info)
    await delete_subscription(context.db, context.api.tenant.id, id)
    return id


async def _failed_jobs(_root: object, info: Info, first: int) -> list[Any]:
    context = _admin(info)
    return list(
        await list_failed(
            context.db, tenant_id=context.api.tenant.id, limit=max(1, min(first, 500))
        )
    )


async def _retry_job(_root: object, info: Info, id: str) -> str:
    context = _admin(info)
    await retry_failed(context.db, id, tenant_id=context.api.tenant.id)
    return id


def _attr(name: str) -> Any:
    def resolve(source: Any, _info: Info) -> Any:
        return getattr(source, name)

    return resolve
