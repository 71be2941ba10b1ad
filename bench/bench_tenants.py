"""Many tenants: schema build time per tenant, memory of one server, a cold tenant's first request.

On a scratch database, ``--tenants`` tenants each publish ``--entities`` entities (six fields
each, every entity but the first with a relation to the one before). Reported:

1. publish time per tenant (plan, DDL of its schema, catalog rows, audit entry) and the time to
   build its compiled GraphQL API (``build_tenant_api``, what an app process does on a tenant's
   first request), medians;
2. one ``rapport serve`` process with RAPPORT_TENANT_CACHE_SIZE=``--cache`` (LRU): resident
   memory at start, after each of ``--cache`` tenants got a request, and after requests to
   every tenant (the cache then holds the ``--cache`` most recently used);
3. the first request to a cold tenant (its API not in the cache: load metadata + build + run)
   against a warm request, medians over ``--cold`` tenants.

Usage: ``python -m bench.bench_tenants [--tenants 1000] [--entities 20] [--cache 100]``;
PostgreSQL from RAPPORT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from tests.databases import with_database

from bench.http_load import build_request, fetch_once
from rapport.auth.tokens import issue_token
from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.graphql.executor import build_tenant_api
from rapport.metadata.documents import read_folder
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings

KEYS = {
    "RAPPORT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "RAPPORT_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "RAPPORT_JWT_SECRET": "m" * 64,
}
QUERY = "{ e0s(first: 5) { edges { node { id f0 } } } }"


def _documents(folder: Path, entities: int) -> None:
    (folder / "bench").mkdir()
    for i in range(entities):
        properties: dict[str, object] = {
            "f0": {"type": "string"},
            "f1": {"type": "string", "maxLength": 200},
            "f2": {"type": "integer"},
            "f3": {"type": "number", "x-kind": "money"},
            "f4": {"type": "string", "format": "date"},
            "f5": {"type": "boolean"},
        }
        if i:
            properties["parent"] = {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": f"bench/e{i - 1}", "onDelete": "setNull"},
            }
        document = {"$id": f"bench/e{i}", "type": "object", "properties": properties}
        (folder / "bench" / f"e{i}.json").write_text(json.dumps(document))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(db: Database, args: argparse.Namespace) -> list[str]:
    slugs = [f"t{i:04d}" for i in range(args.tenants)]
    publish_ms: list[float] = []
    build_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        _documents(Path(tmp), args.entities)
        documents = read_folder(Path(tmp))
        for n, slug in enumerate(slugs):
            await create_tenant(db, slug)
            began = time.perf_counter()
            await publish(db, slug, documents, actor="bench")
            publish_ms.append((time.perf_counter() - began) * 1000)
            if n % 10 == 0:  # building every tenant's API here would only repeat the figure
                tenant, metadata = await load_published(db, slug)
                began = time.perf_counter()
                build_tenant_api(tenant, metadata, kernel=KERNEL).close()
                build_ms.append((time.perf_counter() - began) * 1000)
            if (n + 1) % 100 == 0:
                print(f"  {n + 1} tenants published", flush=True)
    print(
        f"{args.tenants} tenants x {args.entities} entities: publish median "
        f"{statistics.median(publish_ms):.0f} ms/tenant (p95 "
        f"{sorted(publish_ms)[int(len(publish_ms) * 0.95)]:.0f}); API build median "
        f"{statistics.median(build_ms):.0f} ms/tenant ({len(build_ms)} built)"
    )
    return slugs


async def _serve(url: str, slugs: list[str], args: argparse.Namespace) -> None:
    settings = Settings.from_env(
        {"RAPPORT_ENV": "test", "RAPPORT_JWT_SECRET": KEYS["RAPPORT_JWT_SECRET"]}
    )
    port = _port()
    env = {
        **os.environ,
        **KEYS,
        "RAPPORT_ENV": "production",
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_OTEL_EXPORTER": "none",
        "RAPPORT_TENANT_CACHE_SIZE": str(args.cache),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapport.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def request(slug: str) -> bytes:
        token = issue_token(settings, tenant=slug, subject="bench", roles=["admin"])
        body = json.dumps({"query": QUERY}).encode()
        return build_request(
            "127.0.0.1", port, "/graphql", body, {"Authorization": f"Bearer {token}"}
        )

    async def timed(slug: str) -> float:
        began = time.perf_counter()
        status, body = await fetch_once("127.0.0.1", port, request(slug))
        if status != 200 or b'"errors"' in body:
            raise SystemExit(f"{slug}: {status} {body[:300]!r}")
        return (time.perf_counter() - began) * 1000

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                await fetch_once("127.0.0.1", port, request(slugs[0]))
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("server did not start") from None
                await asyncio.sleep(0.2)
        print(f"server RSS with 1 tenant API: {_rss_mb(proc.pid):.0f} MB")
        for slug in slugs[: args.cache]:
            await timed(slug)
        print(f"server RSS with {args.cache} tenant APIs cached: {_rss_mb(proc.pid):.0f} MB")
        for slug in slugs[args.cache :]:
            await timed(slug)
        print(
            f"server RSS after requests to all {len(slugs)} tenants (LRU keeps {args.cache}): "
            f"{_rss_mb(proc.pid):.0f} MB"
        )
        # slugs[:cold] were evicted long ago (when len(slugs) > 2 x cache): cold again.
        cold = [await timed(s) for s in slugs[: args.cold]]
        warm = [await timed(s) for s in slugs[: args.cold]]
        print(
            f"first request to a cold tenant: median {statistics.median(cold):.0f} ms "
            f"(p95 {sorted(cold)[int(len(cold) * 0.95)]:.0f}); the same tenant warm: "
            f"{statistics.median(warm):.1f} ms"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--entities", type=int, default=20)
    parser.add_argument("--cache", type=int, default=100)
    parser.add_argument("--cold", type=int, default=20)
    args = parser.parse_args()
    os.environ.update(KEYS)
    server = os.environ["RAPPORT_TEST_DATABASE_URL"]
    name = f"rapport_bench_many_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = with_database(server, name)
    db = await Database.connect(url, max_size=4)
    try:
        await migrate(db)
        slugs = await _seed(db, args)
        await _serve(url, slugs, args)
    finally:
        await db.close()
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
