"""The write baseline: a hand-written asyncpg + Starlette insert endpoint, no platform.

What a competent engineer writes for "create a course" without Rapport: read the JSON body,
one ``INSERT … RETURNING id`` into the same tenant table Rapport writes (same columns, same
defaults), answer ``{"data":{"createCourse":{"id":…}}}``. No validation beyond the types, no
permissions, no audit entry, no outbox row, no event — that is the point of the comparison.

Run: ``python bench/handwritten_insert.py DSN SCHEMA TABLE PORT [POOL]``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def make_app(dsn: str, schema: str, table: str, pool_size: int) -> Starlette:
    sql = (
        f'INSERT INTO "{schema}"."{table}" (title, level, seats, created_by) '
        "VALUES ($1, $2, $3, $4) RETURNING id"
    )
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        yield
        await state["pool"].close()

    async def graphql(request: Request) -> Response:
        payload = await request.json()
        data = payload["variables"]["i"]
        async with state["pool"].acquire() as conn:
            new_id = await conn.fetchval(
                sql, str(data["title"]), str(data["level"]), int(data["seats"]), "handwritten"
            )
        body = json.dumps({"data": {"createCourse": {"id": str(new_id)}}}, separators=(",", ":"))
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    dsn, schema, table, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    pool = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    uvicorn.run(
        make_app(dsn, schema, table, pool), host="127.0.0.1", port=port, log_level="warning"
    )
