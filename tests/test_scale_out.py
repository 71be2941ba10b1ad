"""Scale-out (docs/scaling.md): two app processes and two workers, one PostgreSQL, one Redis.

Real processes: two ``rapport serve`` and two workers (``rapport worker`` plus test handlers),
no state shared but the database and Redis. A metadata version published once is served by
both apps; every job runs once although two workers take jobs; a subscription opened on one
app receives a write made through the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import freeze_json
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.notify.webhooks import create_subscription
from rapport.settings import Settings
from tests.jobs.support import WorkerProcess, eventually
from tests.notify.receiver import Receiver

ROOT = Path(__file__).resolve().parents[1]
SECRET = "t" * 64
SETTINGS = Settings.from_env({"RAPPORT_ENV": "test", "RAPPORT_JWT_SECRET": SECRET})
TOKEN = issue_token(SETTINGS, tenant="scale", subject="admin1", roles=["admin"])


def _note(*fields: str) -> Document:
    body = {
        "$id": "hr/note",
        "type": "object",
        "properties": {f: {"type": "string"} for f in ("text", *fields)},
    }
    return Document(id="hr/note", body=freeze_json(body), kind=DocumentKind.ENTITY)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class App:
    """One ``rapport serve`` process."""

    def __init__(self, database_url: str, redis_url: str, data_dir: Path) -> None:
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "RAPPORT_ENV": "test",
            "RAPPORT_DATABASE_URL": database_url,
            "RAPPORT_REDIS_URL": redis_url,
            "RAPPORT_DATA_DIR": str(data_dir),
            "RAPPORT_JWT_SECRET": SECRET,
            "RAPPORT_DATABASE_POOL_SIZE": "4",
            "PYTHONPATH": str(ROOT / "platform"),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("app did not start") from None
                time.sleep(0.2)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            self.url + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        return body

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture(scope="module")
async def world(database: Database, redis_server_url: str) -> dict[str, str]:
    await migrate(database)
    tenant = await create_tenant(database, "scale", "Scale")
    await publish(database, "scale", [_note()], actor="test")
    flush = aioredis.from_url(redis_server_url)
    await flush.flushdb()
    await flush.aclose()
    return {"tenant_id": tenant.id}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def cluster(
    world: dict[str, str], database_url: str, redis_server_url: str, tmp_path_factory: Any
) -> Iterator[tuple[App, App]]:
    data = tmp_path_factory.mktemp("scale")
    apps: list[App] = []
    workers: list[WorkerProcess] = []
    try:
        for _ in range(2):
            apps.append(App(database_url, redis_server_url, data))
        for _ in range(2):
            workers.append(WorkerProcess(database_url, data, redis_url=redis_server_url).start())
        yield apps[0], apps[1]
    finally:
        for worker in workers:
            worker.stop()
        for app in apps:
            app.stop()


async def test_a_published_version_is_served_by_both_apps(
    database: Database, cluster: tuple[App, App]
) -> None:
    # given: both apps serve version 1 (no field "mood")
    one, two = cluster
    query = "{ notes(first: 1) { edges { node { text mood } } } }"
    for app in cluster:
        assert "errors" in await asyncio.to_thread(app.graphql, query)

    # when: version 2 is published once (any instance's publish sends the NOTIFY)
    await publish(database, "scale", [_note("mood")], actor="test")

    # then: both swap to it without a restart
    async def both_serve_it() -> bool:
        answers = [await asyncio.to_thread(app.graphql, query) for app in (one, two)]
        return all("errors" not in a for a in answers)

    await eventually(both_serve_it, timeout=15)


async def test_a_subscription_on_one_app_receives_a_write_through_the_other(
    cluster: tuple[App, App],
) -> None:
    # given: a subscriber on app 1
    one, two = cluster
    ws = await connect(
        one.url.replace("http", "ws") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    )
    try:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {TOKEN}"}})
        )
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        query = "subscription { changed: noteChanged { action record { text } } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        await asyncio.sleep(0.5)  # the server registers the subscription

        # when: a note is written through app 2
        written = await asyncio.to_thread(
            two.graphql, 'mutation { createNote(input: {text: "via two"}) { id } }'
        )
        assert "errors" not in written, written

        # then
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["type"] == "next"
        assert message["payload"]["data"]["changed"]["record"] == {"text": "via two"}
    finally:
        await ws.close()


async def test_each_job_runs_once_with_two_workers(
    database: Database, world: dict[str, str], cluster: tuple[App, App], receiver: Receiver
) -> None:
    # given: a webhook for note events
    await create_subscription(
        database,
        tenant_id=world["tenant_id"],
        url=f"{receiver.url}/hook",
        events=["entity.create"],
        entities=["hr/note"],
    )
    one, two = cluster

    # when: 30 notes, written through both apps
    for i in range(30):
        app = one if i % 2 else two
        body = await asyncio.to_thread(
            app.graphql,
            "mutation($t: String) { createNote(input: {text: $t}) { id } }",
            {"t": f"n{i}"},
        )
        assert "errors" not in body, body

    # then: 30 deliveries, one per note, none twice; every outbox job processed once
    def texts() -> list[str]:
        return [
            r.json()["data"]["record"]["text"]
            for r in receiver.received
            if r.path == "/hook"
            and r.json()["data"].get("record", {}).get("text", "").startswith("n")
        ]

    async def all_arrived() -> bool:
        return len(texts()) >= 30

    await eventually(all_arrived, timeout=30)
    await asyncio.sleep(1.0)  # a duplicate would arrive now
    assert sorted(texts()) == sorted(f"n{i}" for i in range(30))
    deliveries = [r.headers.get("X-Rapport-Delivery") for r in receiver.received]
    assert len(deliveries) == len(set(deliveries))
    pending = await database.fetchval(
        "SELECT count(*) FROM rapport.outbox o WHERE o.tenant_id = $1::uuid "
        "AND NOT EXISTS (SELECT 1 FROM rapport.processed p WHERE p.outbox_id = o.id)",
        world["tenant_id"],
    )
    assert pending == 0
