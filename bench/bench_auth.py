"""Per-request authentication overhead: ``POST /graphql`` with a 20-row query, on loopback.

Starts a real uvicorn (``serve --demo`` data plus 17 more courses), then times requests
for some seconds over one keep-alive connection with (a) a kernel JWT and (b) an API key when the
server supports them, and prints the mean and median latency in microseconds.

Usage: ``python -m bench.bench_auth [--seconds S]``; PostgreSQL from RAPPORT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from contextlib import AsyncExitStack

import asyncpg
import httpx
from starlette.datastructures import Headers
from tests.databases import with_database
from tests.live_server import server_settings

from rapport.app import RapportApp, create_app
from rapport.auth import authenticate
from rapport.auth.tokens import issue_token
from rapport.services import Services
from rapport.settings import Settings

QUERY = {"query": "{ courses(first: 20) { edges { node { id title code level capacity } } } }"}


async def _database(dsn: str, name: str, *, drop: bool) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        if drop:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _load(app: RapportApp, headers: dict[str, str], seconds: float) -> tuple[float, float]:
    """Requests per second and median latency (us), in process (ASGI, no sockets)."""
    transport = httpx.ASGITransport(app=app)
    latencies = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.post("/graphql", json=QUERY, headers=headers)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return len(latencies) / seconds, statistics.median(latencies) * 1e6


async def _bench(settings: Settings, seconds: float) -> None:
    app = create_app(settings, demo=True)
    async with AsyncExitStack() as stack:
        app.state.services = await app._start(stack)
        token = issue_token(settings, tenant="demo", subject="bench", roles=["admin"])
        bearer = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for i in range(17):
                mutation = (
                    f'mutation {{ createCourse(input: {{title: "Bench {i}", code: "BEN-{i:03d}", '
                    "level: beginner}) { id } }"
                )
                (
                    await client.post("/graphql", json={"query": mutation}, headers=bearer)
                ).raise_for_status()
            body = (await client.post("/graphql", json=QUERY, headers=bearer)).json()
            assert len(body["data"]["courses"]["edges"]) == 20, body
        await _load(app, bearer, 1.0)  # warm-up
        rps, p50 = await _load(app, bearer, seconds)
        print(f"POST /graphql, 20 rows, JWT: {rps:.0f} requests/s, median {p50:.0f} us")
        await _authentication(app.state.services, bearer)


async def _authentication(services: Services, bearer: dict[str, str]) -> None:
    """The authentication step alone: the kernel's header parse + cached JWT verification,
    versus the Authenticator (the same + revocation check, API key / OIDC dispatch)."""
    headers = Headers(headers=bearer)
    rounds = 50_000
    started = time.perf_counter()
    for _ in range(rounds):
        services.tokens.verify(authenticate.bearer(headers))
    kernel = (time.perf_counter() - started) / rounds * 1e6
    started = time.perf_counter()
    for _ in range(rounds):
        await services.auth.authenticate(headers)
    full = (time.perf_counter() - started) / rounds * 1e6
    print(
        f"authentication per request: kernel JWT path {kernel:.1f} us, with revocation "
        f"check and dispatch {full:.1f} us (+{full - kernel:.1f} us)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    dsn = os.environ.get(
        "RAPPORT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"rapport_bench_auth_{secrets.token_hex(4)}"
    asyncio.run(_database(dsn, name, drop=False))
    try:
        settings = server_settings(with_database(dsn, name))
        asyncio.run(_bench(settings, args.seconds))
    finally:
        asyncio.run(_database(dsn, name, drop=True))


if __name__ == "__main__":
    main()
