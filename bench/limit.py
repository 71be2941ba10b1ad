"""The practical limit: a hand-written Starlette + asyncpg endpoint that does the least work.

One SQL statement builds the whole GraphQL response in PostgreSQL (``json_build_object`` /
``json_agg``), and its bytes go to the socket untouched: the ``json`` type is read in binary
format with a decoder that returns the bytes as they arrived, so Python neither parses nor
re-encodes anything. Any server answering the same query over HTTP must at least do this, so it
is the ceiling Rapport's figures are divided by. It ignores the GraphQL text it is sent.

``POST /courses`` answers the course list for ``variables.first`` (``variables.reverse`` flips
the order: the benchmark's self-test uses it to check that a differing answer is caught).
``POST /create`` inserts one course from ``variables.input`` and answers its id, as a single
create mutation would.

Run: ``python bench/limit.py DSN SCHEMA PORT``.
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

# The page of intermediate courses by start date, the trainer and the number of enrolments.
LIST_SQL = """
SELECT json_build_object('data', json_build_object('courses', json_build_object('edges',
         coalesce(json_agg(json_build_object('node', json_build_object(
           'id', c.id, 'title', c.title, 'code', c.code, 'level', c.level,
           'startDate', c.start_date, 'capacity', c.capacity,
           'trainer', CASE WHEN t.id IS NULL THEN NULL
                      ELSE json_build_object('id', t.id, 'name', t.name) END,
           'enrollments', json_build_object('totalCount',
             (SELECT count(*) FROM "{schema}".training_enrollment e WHERE e.course_id = c.id))
         )) ORDER BY c.start_date {direction}, c.id {direction}), '[]'::json))))
FROM (SELECT * FROM "{schema}".training_course
      WHERE level = 'intermediate' ORDER BY start_date {direction}, id {direction} LIMIT $1) c
LEFT JOIN "{schema}".training_trainer t ON t.id = c.trainer_id
"""

INSERT_SQL = """
INSERT INTO "{schema}".training_course (title, code, level, start_date, capacity, trainer_id)
VALUES ($1, $2, $3, $4::date, $5, $6::uuid)
RETURNING json_build_object('data', json_build_object('createCourse', json_build_object('id', id)))
"""


def _raw(data: bytes) -> bytes:
    return data


async def _init(conn: asyncpg.Connection) -> None:
    # The json type's binary format is its text: hand the bytes over undecoded.
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=lambda b: b, decoder=_raw, format="binary"
    )


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to undo between requests (no session state is set): skip the reset query."""


def make_app(dsn: str, schema: str) -> Starlette:
    ascending = LIST_SQL.format(schema=schema, direction="ASC")
    descending = LIST_SQL.format(schema=schema, direction="DESC")
    insert = INSERT_SQL.format(schema=schema)
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            dsn, min_size=2, max_size=10, init=_init, reset=_no_reset
        )
        yield
        await state["pool"].close()

    async def courses(request: Request) -> Response:
        variables = json.loads(await request.body()).get("variables") or {}
        sql = descending if variables.get("reverse") else ascending
        body = await state["pool"].fetchval(sql, int(variables.get("first", 20)))
        return Response(body, media_type="application/json")

    async def create(request: Request) -> Response:
        given = json.loads(await request.body())["variables"]["input"]
        body = await state["pool"].fetchval(
            insert,
            given["title"],
            given.get("code"),
            given["level"],
            given.get("startDate"),
            given.get("capacity"),
            given.get("trainer"),
        )
        return Response(body, media_type="application/json")

    return Starlette(
        routes=[
            Route("/courses", courses, methods=["POST"]),
            Route("/create", create, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    dsn, schema, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    uvicorn.run(
        make_app(dsn, schema),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )
