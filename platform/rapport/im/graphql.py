"""Tenant API fields of channel preferences and the WeCom/DingTalk apps.

Everyone: ``myChannelPreferences``, ``setMyChannelPreferences(channels)`` (null: follow the
tenant default). Tenant admins: ``channelDefaults``/``setChannelDefaults``,
``setChannelPreferences(userId, channels)``, ``imApps``/``setImApp``/``deleteImApp`` (the
secret is write-only: answers say ``secretSet``), ``imIdentities``, ``linkImIdentity``,
``unlinkImIdentity``, ``requestImDirectorySync`` (a job; its report in ``imSyncRuns``) and
``imDeliveries`` (the app-message log: counts, user ids and error codes, never a body).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

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

from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import BadRequest, Forbidden, NotFound
from rapport.graphql.contributions import Contribution
from rapport.graphql.scalars import DATETIME, JSON
from rapport.graphql.types.context import BuildContext
from rapport.im.apps import LINK_RULES, delete_app, list_apps, platform_named, set_app
from rapport.im.directory import SYNC_TOPIC
from rapport.im.identities import link, list_identities, unlink
from rapport.metadata.bundle import TenantMetadata
from rapport.notify.app_delivery import list_app_deliveries
from rapport.notify.preferences import (
    EXTERNAL_CHANNELS,
    get_default,
    get_preference,
    set_default,
    set_preference,
)
from rapport.principal import Principal

__all__ = ["contribute_im"]


class _Sealers(Protocol):
    @property
    def keyring(self) -> KeyRing: ...


class _Writer(Protocol):
    @property
    def sealers(self) -> _Sealers: ...


class _Api(Protocol):
    @property
    def tenant(self) -> Tenant: ...
    @property
    def writer(self) -> _Writer: ...


class RequestContext(Protocol):
    """What these resolvers use of ``rapport.graphql.contributions.RequestContext`` (a
    protocol: that module lists this one's fields, so importing it would be a cycle)."""

    @property
    def db(self) -> Database: ...
    @property
    def principal(self) -> Principal: ...
    @property
    def api(self) -> _Api: ...


if TYPE_CHECKING:
    Info = GraphQLResolveInfo[RequestContext]

_STRINGS = GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString)))
_CHANNELS_ARG = GraphQLArgument(
    GraphQLList(GraphQLNonNull(GraphQLString)),
    description=f"Some of {', '.join(EXTERNAL_CHANNELS)} (in-app is always kept); null: default.",
)


def _object(name: str, fields: dict[str, GraphQLField], description: str = "") -> GraphQLObjectType:
    return GraphQLObjectType(name, fields, description=description or None)


def _f(kind: Any, attr: str | None = None) -> GraphQLField:
    if attr is None:
        return GraphQLField(kind)
    return GraphQLField(kind, resolve=lambda source, _info: getattr(source, attr))


Fields = dict[str, GraphQLField]


def contribute_im(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    """Channel preferences, the WeCom/DingTalk apps, their accounts, deliveries and syncs."""
    registry = ctx.registry
    text, number, flag = GraphQLNonNull(GraphQLString), GraphQLNonNull(GraphQLInt), GraphQLBoolean
    preferences = registry.add(_object("ChannelPreferences", {
        "channels": GraphQLField(_STRINGS, description="Channels beyond in-app."),
        "followsDefault": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "available": GraphQLField(_STRINGS),
    }), origin="kernel")  # fmt: skip
    app = registry.add(_object("ImApp", {
        "platform": _f(text), "corpId": _f(text, "corp_id"), "appKey": _f(text, "app_key"),
        "agentId": _f(GraphQLNonNull(GraphQLString), "agent_id"),
        "redirectUris": _f(_STRINGS, "redirect_uris"), "linkBy": _f(_STRINGS, "link_by"),
        "messageKind": _f(text, "message_kind"), "linkBase": _f(text, "link_base"),
        "secretSet": _f(GraphQLNonNull(GraphQLBoolean), "secret_set"),
        "updatedAt": _f(GraphQLNonNull(DATETIME), "updated_at"),
    }, "A WeCom or DingTalk app of the tenant; the secret is never shown."), origin="kernel")  # fmt: skip
    identity = registry.add(_object("ImIdentity", {
        "platform": _f(text), "platformUserId": _f(text, "platform_user_id"),
        "userId": _f(GraphQLID, "user_id"), "displayName": _f(text, "display_name"),
        "linkedBy": _f(GraphQLString, "linked_by"), "linkedAt": _f(DATETIME, "linked_at"),
        "seenAt": _f(GraphQLNonNull(DATETIME), "seen_at"),
    }), origin="kernel")  # fmt: skip
    delivery = registry.add(_object("ImDelivery", {
        "id": _f(GraphQLNonNull(GraphQLID)), "eventId": _f(GraphQLNonNull(GraphQLID), "outbox_id"),
        "platform": _f(text), "attempt": _f(number), "recipients": _f(number), "sent": _f(number),
        "unmappedUsers": _f(_STRINGS, "unmapped_users"), "rejected": _f(_STRINGS),
        "errcode": _f(GraphQLInt), "error": _f(GraphQLString), "ok": _f(GraphQLNonNull(flag)),
        "durationMs": _f(number, "duration_ms"),
        "attemptedAt": _f(GraphQLNonNull(DATETIME), "attempted_at"),
    }, "One app-message attempt; never the message body."), origin="kernel")  # fmt: skip
    run = registry.add(_object("ImSyncRun", {
        "id": GraphQLField(GraphQLNonNull(GraphQLID)), "platform": GraphQLField(text),
        "startedAt": GraphQLField(GraphQLNonNull(DATETIME)), "finishedAt": GraphQLField(DATETIME),
        "ok": GraphQLField(flag), "report": GraphQLField(JSON), "error": GraphQLField(GraphQLString),
    }, "A directory sync and what it linked and could not."), origin="kernel")  # fmt: skip
    platform_arg = GraphQLArgument(GraphQLNonNull(GraphQLString), description="wecom or dingtalk")
    first_arg = GraphQLArgument(GraphQLInt, default_value=100)
    return Contribution(
        query={
            "myChannelPreferences": GraphQLField(GraphQLNonNull(preferences), resolve=_mine),
            "channelDefaults": GraphQLField(GraphQLList(GraphQLNonNull(GraphQLString)), resolve=_defaults),
            "imApps": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(app))), resolve=_apps),
            "imIdentities": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(identity))),
                args={"platform": platform_arg, "linked": GraphQLArgument(GraphQLBoolean),
                      "first": first_arg},
                resolve=_identities,
            ),
            "imDeliveries": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(delivery))),
                args={"first": first_arg}, resolve=_deliveries,
            ),
            "imSyncRuns": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(run))),
                args={"platform": platform_arg, "first": GraphQLArgument(GraphQLInt, default_value=10)},
                resolve=_runs,
            ),
        },
        mutation={
            "setMyChannelPreferences": GraphQLField(
                GraphQLNonNull(preferences), args={"channels": _CHANNELS_ARG}, resolve=_set_mine
            ),
            "setChannelDefaults": GraphQLField(
                GraphQLList(GraphQLNonNull(GraphQLString)), args={"channels": _CHANNELS_ARG},
                resolve=_set_defaults,
            ),
            "setChannelPreferences": GraphQLField(
                GraphQLNonNull(preferences),
                args={"userId": GraphQLArgument(GraphQLNonNull(GraphQLID)), "channels": _CHANNELS_ARG},
                resolve=_set_theirs,
            ),
            "setImApp": GraphQLField(
                GraphQLNonNull(app),
                args={
                    "platform": platform_arg,
                    "corpId": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                    "agentId": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                    "secret": GraphQLArgument(GraphQLString, description="Omit to keep the stored one."),
                    "appKey": GraphQLArgument(GraphQLString, default_value=""),
                    "redirectUris": GraphQLArgument(GraphQLList(GraphQLNonNull(GraphQLString)), default_value=[]),
                    "linkBy": GraphQLArgument(GraphQLList(GraphQLNonNull(GraphQLString)), default_value=list(LINK_RULES)),
                    "messageKind": GraphQLArgument(GraphQLString, default_value="card"),
                    "linkBase": GraphQLArgument(GraphQLString, default_value=""),
                },
                resolve=_set_app,
            ),
            "deleteImApp": GraphQLField(GraphQLString, args={"platform": platform_arg}, resolve=_delete_app),
            "linkImIdentity": GraphQLField(
                GraphQLNonNull(GraphQLBoolean),
                args={"platform": platform_arg,
                      "platformUserId": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                      "userId": GraphQLArgument(GraphQLNonNull(GraphQLID))},
                resolve=_link,
            ),
            "unlinkImIdentity": GraphQLField(
                GraphQLNonNull(GraphQLBoolean),
                args={"platform": platform_arg,
                      "platformUserId": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                resolve=_unlink,
            ),
            "requestImDirectorySync": GraphQLField(
                GraphQLNonNull(GraphQLID), args={"platform": platform_arg}, resolve=_request_sync,
                description="Start a directory sync (a background job); see imSyncRuns.",
            ),
        },
    )  # fmt: skip


def _admin(info: Info) -> RequestContext:
    context: RequestContext = info.context
    if not context.principal.is_admin:
        raise Forbidden(
            "Only tenant admins may manage apps, defaults and other people's preferences.",
            hint="Use a token with the admin role.",
        )
    return context


def _first(first: int) -> int:
    return max(1, min(first, 500))


async def _preferences_of(context: RequestContext, user_id: str) -> dict[str, Any]:
    tenant_id = context.api.tenant.id
    own = await get_preference(context.db, tenant_id, user_id)
    default = await get_default(context.db, tenant_id)
    return {
        "channels": list(own if own is not None else default or ()),
        "followsDefault": own is None,
        "available": list(EXTERNAL_CHANNELS),
    }


async def _mine(_root: object, info: Info) -> dict[str, Any]:
    context: RequestContext = info.context
    return await _preferences_of(context, context.principal.subject)


async def _set_mine(
    _root: object, info: Info, channels: Sequence[str] | None = None
) -> dict[str, Any]:
    context: RequestContext = info.context
    await set_preference(context.db, context.api.tenant.id, context.principal.subject, channels)
    return await _preferences_of(context, context.principal.subject)


async def _set_theirs(
    _root: object, info: Info, userId: str, channels: Sequence[str] | None = None
) -> dict[str, Any]:
    context = _admin(info)
    await _user_exists(context, userId)
    await set_preference(context.db, context.api.tenant.id, userId, channels)
    return await _preferences_of(context, userId)


async def _defaults(_root: object, info: Info) -> list[str] | None:
    context = _admin(info)
    found = await get_default(context.db, context.api.tenant.id)
    return None if found is None else list(found)


async def _set_defaults(
    _root: object, info: Info, channels: Sequence[str] | None = None
) -> list[str] | None:
    context = _admin(info)
    await set_default(context.db, context.api.tenant.id, channels)
    found = await get_default(context.db, context.api.tenant.id)
    return None if found is None else list(found)


async def _apps(_root: object, info: Info) -> list[Any]:
    context = _admin(info)
    return list(await list_apps(context.db, context.api.tenant.id))


async def _set_app(
    _root: object, info: Info, platform: str, corpId: str, agentId: str, appKey: str,
    redirectUris: Sequence[str], linkBy: Sequence[str], messageKind: str, linkBase: str,
    secret: str | None = None,
) -> Any:  # fmt: skip
    context = _admin(info)
    chosen = platform_named(platform)
    try:
        agent = int(agentId)
    except ValueError:
        raise BadRequest(
            "agentId must be the app's AgentId, a number.", path=("agentId",),
            hint="Copy it from the app's page in the platform's admin console.",
        ) from None  # fmt: skip
    async with context.db.transaction() as conn:
        return await set_app(
            conn, context.api.writer.sealers.keyring, tenant_id=context.api.tenant.id,
            platform=chosen.name, corp_id=corpId, agent_id=agent, secret=secret, app_key=appKey,
            redirect_uris=redirectUris, link_by=linkBy, message_kind=messageKind,
            link_base=linkBase, actor=context.principal.subject,
        )  # fmt: skip


async def _delete_app(_root: object, info: Info, platform: str) -> str:
    context = _admin(info)
    async with context.db.transaction() as conn:
        await delete_app(conn, context.api.tenant.id, platform_named(platform).name)
    return platform


async def _identities(
    _root: object, info: Info, platform: str, first: int, linked: bool | None = None
) -> list[Any]:
    context = _admin(info)
    chosen = platform_named(platform).name
    return list(
        await list_identities(
            context.db, context.api.tenant.id, chosen, linked=linked, limit=_first(first)
        )
    )


async def _user_exists(context: RequestContext, user_id: str) -> None:
    found = await context.db.fetchval(
        "SELECT true FROM rapport.users WHERE tenant_id = $1::uuid AND id::text = $2",
        context.api.tenant.id,
        user_id,
    )
    if not found:
        raise NotFound(
            f"There is no user {user_id!r} in this tenant.", hint="Use a user id (users query)."
        )


async def _link(_root: object, info: Info, platform: str, platformUserId: str, userId: str) -> bool:
    context = _admin(info)
    await _user_exists(context, userId)
    chosen = platform_named(platform).name
    taken = await context.db.fetchval(
        "SELECT platform_user_id FROM rapport.im_identities WHERE tenant_id = $1::uuid "
        "AND platform = $2 AND user_id::text = $3",
        context.api.tenant.id, chosen, userId,
    )  # fmt: skip
    if taken is not None and taken != platformUserId:
        raise BadRequest(
            f"User {userId} is already linked to {chosen} account {taken!r}.",
            hint="Unlink that account first (unlinkImIdentity).",
        )
    await link(context.db, context.api.tenant.id, chosen, platformUserId, userId, "admin")
    return True


async def _unlink(_root: object, info: Info, platform: str, platformUserId: str) -> bool:
    context = _admin(info)
    await unlink(context.db, context.api.tenant.id, platform_named(platform).name, platformUserId)
    return True


async def _request_sync(_root: object, info: Info, platform: str) -> str:
    context = _admin(info)
    chosen = platform_named(platform).name
    async with context.db.transaction() as conn:
        configured = await conn.fetchval(
            "SELECT true FROM rapport.im_apps WHERE tenant_id = $1::uuid AND platform = $2",
            context.api.tenant.id, chosen,
        )  # fmt: skip
        if not configured:
            raise NotFound(
                f"This tenant has no {chosen} app to sync.", hint="Set it with setImApp."
            )
        # The outbox row enqueue() would write (without its wake-up NOTIFY: the dispatcher's
        # periodic scan takes it). enqueue's topic check imports the job registry, which through
        # the record writer imports the GraphQL contributors: importing it here is a cycle.
        return str(
            await conn.fetchval(
                "INSERT INTO rapport.outbox (tenant_id, topic, payload) "
                "VALUES ($1::uuid, $2, $3::jsonb) RETURNING id::text",
                context.api.tenant.id, SYNC_TOPIC, json.dumps({"platform": chosen}),
            )
        )  # fmt: skip


async def _deliveries(_root: object, info: Info, first: int) -> list[Any]:
    context = _admin(info)
    return list(await list_app_deliveries(context.db, context.api.tenant.id, limit=_first(first)))


async def _runs(_root: object, info: Info, platform: str, first: int) -> list[dict[str, Any]]:
    context = _admin(info)
    rows = await context.db.fetch(
        "SELECT id::text AS id, platform, started_at, finished_at, ok, report, error "
        "FROM rapport.im_sync_runs WHERE tenant_id = $1::uuid AND platform = $2 "
        "ORDER BY started_at DESC, id DESC LIMIT $3",
        context.api.tenant.id, platform_named(platform).name, _first(first),
    )  # fmt: skip
    return [
        {
            "id": r["id"], "platform": r["platform"], "startedAt": r["started_at"],
            "finishedAt": r["finished_at"], "ok": r["ok"], "error": r["error"],
            "report": json.loads(r["report"]) if isinstance(r["report"], str) else r["report"],
        }
        for r in rows
    ]  # fmt: skip
