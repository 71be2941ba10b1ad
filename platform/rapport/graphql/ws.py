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

Events come from PostgreSQL through the process's :class:`~rapport.graphql.events.EventHub`;
each subscription's results are read back as the subscriber (:mod:`rapport.graphql.subscriptions`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from starlette.datastructures import Headers
from starlette.websockets import WebSocket, WebSocketDisconnect

from rapport.auth.revocation import watch_credential
from rapport.errors import Forbidden, RapportError, Unauthenticated
from rapport.graphql.events import Event, EventHub
from rapport.graphql.subscriptions import _Subscription, plan_subscription
from rapport.principal import Principal

__all__ = ["PROTOCOLS", "websocket_endpoint"]

log = logging.getLogger(__name__)

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = (TRANSPORT_WS, LEGACY_WS)
INIT_TIMEOUT_SECONDS = 10.0


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
