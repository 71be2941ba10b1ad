"""Differential test: the compiled path against naive graphql-core execution (reference.py).

Both run the same documents over the same seeded data; data (key order included), nulls,
not-found and errors must be identical. Cursors are opaque, so they are compared decoded.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from rapport.db.database import Database
from rapport.graphql.executor import TenantApi
from tests.graphql.conftest import PRINCIPAL, ids, run
from tests.graphql.reference import reference_execute

_CURSOR_KEYS = frozenset({"cursor", "startCursor", "endCursor"})


def _normalize(value: Any, key: str | None = None) -> Any:
    """Cursors decoded; dicts as lists of pairs so key order counts."""
    if key in _CURSOR_KEYS and isinstance(value, str):
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return ("cursor", json.loads(raw, parse_float=Decimal))
    if isinstance(value, dict):
        return [(k, _normalize(v, k)) for k, v in value.items()]
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


async def _both(
    api: TenantApi, db: Database, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    compiled = await run(api, db, query, variables)
    reference = await reference_execute(api, db, ids(query), variables, PRINCIPAL)
    assert _normalize(compiled.get("data")) == _normalize(reference.get("data"))
    assert compiled.get("errors") == reference.get("errors")
    assert ("data" in compiled) == ("data" in reference)
    return compiled


COURSE_FIELDS = """
  id title code level tags startDate startsAt capacity price score syllabus website online
  isSmall trainerId createdAt updatedAt createdBy version __typename
  material { key name size contentType sha256 }
"""

QUERIES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("all scalar kinds", f"{{ courses {{ edges {{ node {{ {COURSE_FIELDS} }} }} }} }}", None),
    (
        "order with nulls, first, page info",
        """{ courses(first: 3, orderBy: [{startDate: DESC}, {title: ASC}]) {
             totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
             edges { cursor node { title startDate } } } }""",
        None,
    ),
    (
        "deep nesting both ways",
        """{ courses(orderBy: [{code: ASC}]) { edges { node { title
             trainer { name hourlyRate courses(orderBy: [{title: DESC}]) { totalCount edges { node {
               title enrollments(orderBy: [{grade: DESC}, {enrolledAt: ASC}]) { totalCount
                 edges { node { grade enrolledAt trainee { name department } } } } } } } } } } } }""",
        None,
    ),
    (
        "many-to-many with filter and order",
        """{ courses { edges { node { title
             trainees(where: {department: {_is_null: false}}, orderBy: [{name: DESC}]) {
               totalCount edges { node { name department } } } } } } }""",
        None,
    ),
    (
        "reverse relation from the target",
        """{ trainers(orderBy: [{hourlyRate: DESC}]) { edges { node { name hourlyRate rating active
             courses(first: 2, orderBy: [{price: DESC}]) { totalCount pageInfo { hasNextPage }
               edges { node { title price } } } } } } }""",
        None,
    ),
    (
        "single by id",
        f'{{ course(id: "@course2") {{ {COURSE_FIELDS} trainer {{ name }} }} }}',
        None,
    ),
    ("single not found", '{ course(id: "00000000-0000-0000-0000-000000000000") { title } }', None),
    ("single malformed id", '{ course(id: "nope") { title } }', None),
    (
        "text operators",
        """{ a: courses(where: {title: {_ilike: "%SAFETY%"}}) { edges { node { title } } }
             b: courses(where: {code: {_starts_with: "LAW"}}) { edges { node { title } } }
             c: courses(where: {title: {_contains: "of"}}) { edges { node { title } } }
             d: courses(where: {title: {_like: "%i_e%"}}) { edges { node { title } } }
             e: trainers(where: {bio: {_contains: "%"}}) { edges { node { name } } } }""",
        None,
    ),
    (
        "equality, lists and nulls",
        """{ a: courses(where: {level: {_in: [beginner, advanced]}}) { totalCount }
             b: courses(where: {level: {_nin: [beginner]}, online: {_neq: true}}) { edges { node { title } } }
             c: courses(where: {capacity: {_is_null: true}}) { edges { node { title } } }
             d: courses(where: {code: {_eq: "SAF-101"}}) { edges { node { title } } }
             e: courses(where: {id: {_in: ["00000002-0000-0000-0000-000000000001"]}}) { totalCount } }""",
        None,
    ),
    (
        "ranges",
        """{ a: courses(where: {startDate: {_between: ["2026-03-25", "2026-05-31"]}}) { edges { node { title } } }
             b: courses(where: {price: {_gt: "12.5"}}) { edges { node { title price } } }
             c: courses(where: {capacity: {_lte: 10}, score: {_gte: 0}}) { edges { node { title } } }
             d: courses(where: {startsAt: {_lt: "2026-03-04T00:00:00Z"}}) { edges { node { title } } }
             e: courses(where: {score: {_lt: 2.5}}) { totalCount } }""",
        None,
    ),
    (
        "relation filters",
        """{ a: courses(where: {trainer: {name: {_eq: "王芳"}}}) { edges { node { title } } }
             b: courses(where: {trainerId: {_is_null: true}}) { edges { node { title } } }
             c: trainers(where: {courses: {_some: {level: {_eq: advanced}}}}) { edges { node { name } } }
             d: trainers(where: {courses: {_none: {}}}) { edges { node { name } } }
             e: trainers(where: {courses: {_every: {online: {_eq: true}}}}) { edges { node { name } } }
             f: courses(where: {trainees: {_some: {name: {_eq: "Dana"}}}}) { edges { node { title } } } }""",
        None,
    ),
    (
        "logic",
        """{ courses(where: {_or: [{level: {_eq: advanced}}, {_and: [{online: {_eq: true}},
             {_not: {capacity: {_gt: 5}}}]}]}) { edges { node { title } } } }""",
        None,
    ),
    (
        "multi-enum, json, file, computed",
        """{ a: courses(where: {tags: {_contains: [safety]}}) { edges { node { title tags } } }
             b: courses(where: {syllabus: {_contains: {weeks: 4}}}) { edges { node { title } } }
             c: courses(where: {material: {_is_null: false}}) { edges { node { title material { name } } } }
             d: courses(where: {isSmall: {_eq: true}}) { edges { node { title isSmall capacity } } } }""",
        None,
    ),
    (
        "aggregates without groupBy",
        """{ coursesAggregate { count sum { price capacity score } avg { price capacity score }
             min { price startDate startsAt createdAt } max { price startDate capacity } } }""",
        None,
    ),
    (
        "aggregates grouped",
        """{ coursesAggregate(groupBy: [level, online]) { count groups { key { level online code }
             count sum { price } avg { capacity } min { startDate } max { price } } } }""",
        None,
    ),
    (
        "aggregates with where and relation group",
        """{ coursesAggregate(where: {price: {_is_null: false}}, groupBy: [trainerId]) {
             count groups { key { trainerId } count max { startsAt } } }
             enrollmentsAggregate { groups { count key { courseId } } } }""",
        None,
    ),
    (
        "first out of range nulls the data",
        "{ courses(first: 1001) { totalCount } }",
        None,
    ),
    ("first and last together", "{ courses(first: 1, last: 1) { totalCount } }", None),
    ("malformed cursor", '{ trainers(after: "bm90IGEgY3Vyc29y") { totalCount } }', None),
    (
        "invalid filter value",
        '{ course(id: "00000002-0000-0000-0000-000000000001") { title } '
        ' courses(where: {startDate: {_between: ["2026-01-01"]}}) { totalCount } }',
        None,
    ),
    (
        "fragments, aliases, directives with variables",
        """query($withTrainer: Boolean!, $skipCode: Boolean!) {
             list: courses(orderBy: [{title: ASC}]) { ...Page }
           }
           fragment Page on CourseConnection {
             total: totalCount
             edges { node { ...Basic name: title
               trainer @include(if: $withTrainer) { __typename label: name }
               ... on Course { code @skip(if: $skipCode) level } } }
           }
           fragment Basic on Course { id title }""",
        {"withTrainer": True, "skipCode": False},
    ),
    (
        "variables for where, orderBy and first",
        """query($w: CourseWhere, $o: [CourseOrderBy!], $n: Int) {
             courses(where: $w, orderBy: $o, first: $n) { totalCount edges { node { title price } } } }""",
        {"w": {"price": {"_gte": "1"}}, "o": [{"price": "ASC"}, {"title": "DESC"}], "n": 4},
    ),
    (
        "complaints: sensitive decimal, null relation, Chinese text",
        """{ complaints { edges { node { title category body anonymous salary dueAt
             submitter { name employeeNo complaints { totalCount } } } } } }""",
        None,
    ),
    (
        "trainees ordered by nullable department desc",
        """{ trainees(orderBy: [{department: DESC}]) { edges { cursor node { name department
             enrollments { totalCount } courses: enrollments(where: {grade: {_gte: 90}}) {
               edges { node { course { title } } } } } } } }""",
        None,
    ),
]


@pytest.mark.parametrize(("name", "query", "variables"), QUERIES, ids=[q[0] for q in QUERIES])
async def test_compiled_equals_reference(
    tenant_api: TenantApi,
    seeded: Database,
    name: str,
    query: str,
    variables: dict[str, Any] | None,
) -> None:
    await _both(tenant_api, seeded, query, variables)


async def test_cursor_round_trips_equal(tenant_api: TenantApi, seeded: Database) -> None:
    # given a cursor in the middle of a list ordered by a nullable column
    first = await run(
        tenant_api,
        seeded,
        "{ courses(first: 3, orderBy: [{capacity: DESC}]) { edges { cursor } } }",
    )
    cursor = first["data"]["courses"]["edges"][2]["cursor"]
    query = """query($c: String, $n: Int, $m: Int, $b: String) {
      fwd: courses(after: $c, first: $n, orderBy: [{capacity: DESC}]) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { title capacity } } }
      back: courses(before: $b, last: $m, orderBy: [{capacity: DESC}]) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { title capacity } } }
    }"""
    # when/then both paths agree forward and backward from it
    await _both(tenant_api, seeded, query, {"c": cursor, "n": 2, "b": cursor, "m": 2})
    await _both(tenant_api, seeded, query, {"c": cursor, "n": 100, "b": cursor, "m": 100})


async def test_mixed_directions_equal(tenant_api: TenantApi, seeded: Database) -> None:
    # given cursors of the second and sixth record by title
    listing = await run(
        tenant_api, seeded, "{ courses(orderBy: [{title: ASC}]) { edges { cursor } } }"
    )
    edges = listing["data"]["courses"]["edges"]
    low, high = edges[1]["cursor"], edges[5]["cursor"]
    query = """query($low: String, $high: String) {
      a: courses(orderBy: [{title: ASC}], first: 2, before: $high) {
        pageInfo { hasNextPage hasPreviousPage } edges { node { title } } }
      b: courses(orderBy: [{title: ASC}], last: 2, after: $low) {
        pageInfo { hasNextPage hasPreviousPage } edges { node { title } } }
      c: courses(orderBy: [{title: ASC}], after: $low, before: $high) {
        pageInfo { hasNextPage hasPreviousPage startCursor } edges { node { title } } }
    }"""
    # when/then both paths agree on windows bounded on both sides
    await _both(tenant_api, seeded, query, {"low": low, "high": high})
