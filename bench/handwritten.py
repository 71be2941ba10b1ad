"""The baseline: a hand-written asyncpg + Starlette endpoint returning the same JSON as Rapport.

It is what a competent engineer would write for this one screen without a platform: one SQL
query with a join and a count subquery, rows turned into dicts, ``json.dumps``. It ignores the
GraphQL text it is sent and always answers the benchmark's query, for ``first`` rows.

Run: ``python bench/handwritten.py DSN SCHEMA PORT``.
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


def make_app(dsn: str, schema: str) -> Starlette:
    sql = f"""
        SELECT e.id, e.name, e.email, e.level, e.salary, e.hired_at, e.active, e.rating,
               d.id AS department_id, d.name AS department_name,
               (SELECT count(*) FROM "{schema}"."bench_review" r WHERE r.employee_id = e.id)
                 AS review_count
        FROM "{schema}"."bench_employee" e
        LEFT JOIN "{schema}"."bench_department" d ON d.id = e.department_id
        ORDER BY e.name, e.id
        LIMIT $1
    """
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        yield
        await state["pool"].close()

    async def graphql(request: Request) -> Response:
        payload = await request.json()
        first = int(payload.get("variables", {}).get("first", 20))
        async with state["pool"].acquire() as conn:
            rows = await conn.fetch(sql, first)
        edges = [
            {
                "node": {
                    "id": str(r["id"]),
                    "name": r["name"],
                    "email": r["email"],
                    "level": r["level"],
                    "salary": None if r["salary"] is None else str(r["salary"]),
                    "hiredAt": None if r["hired_at"] is None else r["hired_at"].isoformat(),
                    "active": r["active"],
                    "rating": r["rating"],
                    "department": None
                    if r["department_id"] is None
                    else {"id": str(r["department_id"]), "name": r["department_name"]},
                    "reviews": {"totalCount": r["review_count"]},
                }
            }
            for r in rows
        ]
        body = json.dumps(
            {"data": {"employees": {"edges": edges}}}, ensure_ascii=False, separators=(",", ":")
        )
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    dsn, schema, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    uvicorn.run(make_app(dsn, schema), host="127.0.0.1", port=port, log_level="warning")
