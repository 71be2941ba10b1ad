"""One LISTEN connection per app process that fans record change events out to subscriptions.

Every record write sends ``NOTIFY rapport_events`` at commit (:mod:`rapport.notify.events`);
:class:`EventHub` holds the one connection listening on it and the queues of the open
subscriptions of each tenant (rapport.graphql.ws).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from rapport.db.database import Database
from rapport.notify.events import EVENTS_CHANNEL

__all__ = ["QUEUE_SIZE", "Event", "EventHub"]

log = logging.getLogger(__name__)


QUEUE_SIZE = 1000  # events buffered per connection; a slower client is disconnected


@dataclass(frozen=True, slots=True)
class Event:
    tenant: str  # slug
    entity: str
    id: str
    action: str  # create | update | delete


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
