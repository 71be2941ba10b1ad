"""The compiled execution path end to end, on a real PostgreSQL: selections, filters, ordering,
pagination, aggregates, wire formats, mutations, errors, caching and statement counts.

Mutation tests write only org/employee and complaints/complaint records; the read tests do not
look at those, so the order of tests in this module does not matter.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rapport import telemetry
from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import MethodNotAllowed
from rapport.graphql.executor import TenantApi, build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import Model
from rapport.naming import qualified
from rapport.principal import Principal
from tests.graphql.conftest import FILE, PRINCIPAL, SCHEMA, ids, run, uuid_of
from tests.live_server import server_settings

COURSE = uuid_of("course", 1)


def titles(result: dict[str, Any], field: str = "courses") -> list[str]:
    assert "errors" not in result, result
    return [e["node"]["title"] for e in result["data"][field]["edges"]]


def error_codes(result: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in result["errors"]]


# -- selections ----------------------------------------------------------------------------------


async def test_nested_selection_both_ways(tenant_api: TenantApi, seeded: Database) -> None:
    # given a course whose trainer has several courses with enrollments
    query = """query($id: ID!) { course(id: $id) { title
        trainer { name courses(orderBy: [{title: ASC}]) { totalCount edges { node { title
          enrollments(orderBy: [{grade: DESC}]) { edges { node { grade trainee { name } } } } } } } } } }"""
    # when
    result = await run(tenant_api, seeded, query, {"id": COURSE})
    # then course -> trainer -> courses -> enrollments -> trainee all resolve
    trainer = result["data"]["course"]["trainer"]
    assert trainer["name"] == "王芳"
    assert trainer["courses"]["totalCount"] == 3
    by_title = {e["node"]["title"]: e["node"] for e in trainer["courses"]["edges"]}
    grades = by_title["Safety basics"]["enrollments"]["edges"]
    assert [e["node"]["grade"] for e in grades] == [None, 90, 75]  # DESC: nulls first
    assert grades[1]["node"]["trainee"] == {"name": "张伟"}


async def test_many_to_many_reads_through_the_link(tenant_api: TenantApi, seeded: Database) -> None:
    query = """{ course(id: "@course3") { trainees(orderBy: [{name: ASC}]) { totalCount
        edges { node { name courses: enrollments { totalCount } } } } } }"""
    result = await run(tenant_api, seeded, query)
    trainees = result["data"]["course"]["trainees"]
    assert trainees["totalCount"] == 4
    assert sorted(e["node"]["name"] for e in trainees["edges"]) == ["Dana", "Eve", "Frank", "Grace"]


async def test_aliases_fragments_and_directives(tenant_api: TenantApi, seeded: Database) -> None:
    query = """query($more: Boolean!) {
        first: course(id: "@course1") { ...Names t: __typename }
        second: course(id: "@course2") { ... on Course { level } ...Names }
      }
      fragment Names on Course { title name: title trainer @include(if: $more) { name } code @skip(if: $more) }
    """
    with_more = await run(tenant_api, seeded, query, {"more": True})
    without = await run(tenant_api, seeded, query, {"more": False})
    assert with_more["data"] == {
        "first": {
            "title": "Safety basics",
            "name": "Safety basics",
            "trainer": {"name": "王芳"},
            "t": "Course",
        },
        "second": {
            "level": "intermediate",
            "title": "劳动法入门",
            "name": "劳动法入门",
            "trainer": {"name": "王芳"},
        },
    }
    assert without["data"] == {
        "first": {
            "title": "Safety basics",
            "name": "Safety basics",
            "code": "SAF-101",
            "t": "Course",
        },
        "second": {
            "level": "intermediate",
            "title": "劳动法入门",
            "name": "劳动法入门",
            "code": "LAW-201",
        },
    }


async def test_wire_formats_of_every_kind(tenant_api: TenantApi, seeded: Database) -> None:
    query = """{ a: course(id: "@course1") { title tags startDate startsAt price score syllabus online
          capacity isSmall material { key name size contentType sha256 __typename } website
          createdAt version createdBy trainerId }
        b: course(id: "@course2") { title tags price material { key } syllabus }
        t: trainer(id: "@trainer5") { hourlyRate rating active phone } }"""
    outcome = await tenant_api.execute(seeded, GraphQLRequest(ids(query)), PRINCIPAL)
    body = outcome.body.decode()
    assert "劳动法入门" in body  # UTF-8 as is, not \\u escapes
    data = json.loads(body)["data"]
    assert data["a"] == {
        "title": "Safety basics",
        "tags": ["safety"],
        "startDate": "2026-04-01",
        "startsAt": "2026-03-01T09:00:00.123456+00:00",
        "price": "12.50",
        "score": 4.5,
        "syllabus": {"weeks": 4, "topics": ["fire", "first aid"]},
        "online": False,
        "capacity": 30,
        "isSmall": False,
        "material": {**FILE, "__typename": "FileRef"},
        "website": "https://example.com/saf",
        "createdAt": "2026-01-03T00:01:00+00:00",
        "version": 2,
        "createdBy": "seed",
        "trainerId": uuid_of("trainer", 1),
    }
    assert data["b"] == {
        "title": "劳动法入门",
        "tags": ["law", "soft_skills"],
        "price": "0.10",
        "material": None,
        "syllabus": None,
    }
    assert data["t"] == {"hourlyRate": "1234567.89", "rating": 3, "active": None, "phone": "555"}


# -- filters -------------------------------------------------------------------------------------

FILTERS: list[tuple[str, set[int]]] = [
    ('{code: {_eq: "SAF-101"}}', {1}),
    ("{online: {_neq: true}}", {1, 4, 5, 7}),
    ('{price: {_gt: "12.5"}}', {4, 6}),
    ("{capacity: {_gte: 30}}", {1, 5, 7}),
    ("{score: {_lt: 2.5}}", {4, 6, 7}),
    ("{capacity: {_lte: 8}}", {4, 8}),
    ("{level: {_in: [beginner]}}", {1, 5, 6}),
    ('{code: {_nin: ["SAF-101"]}}', {2, 3, 4, 5, 6, 7, 8}),
    ("{startDate: {_is_null: true}}", {3, 6}),
    ('{title: {_like: "%ire%"}}', {5}),
    ('{title: {_ilike: "SAFETY%"}}', {1}),
    ('{code: {_starts_with: "TEC"}}', {3, 7}),
    ('{title: {_contains: "ti"}}', {4, 6, 8}),
    ('{startDate: {_between: ["2026-04-01", "2026-05-12"]}}', {1, 2, 4, 7}),
    ("{tags: {_contains: [law]}}", {2, 5}),
    ('{syllabus: {_contains: {x: "y"}}}', {6}),
    ("{material: {_is_null: false}}", {1}),
    ("{isSmall: {_eq: true}}", {2, 4, 6, 8}),
    ('{startsAt: {_lt: "2026-03-03T00:00:00Z"}}', {1, 2}),
    ('{price: {_eq: "12.5"}}', {1, 5}),
    ("{level: {_neq: intermediate}, online: {_eq: false}}", {1, 7}),
    ('{trainer: {name: {_eq: "Alice"}}}', {3, 4}),
    ('{trainerId: {_eq: "@trainer1"}}', {1, 2, 8}),
    ('{trainees: {_some: {name: {_eq: "Dana"}}}}', {1, 3, 8}),
    ("{enrollments: {_none: {}}}", {5, 7}),
    ("{enrollments: {_every: {grade: {_gte: 60}}}}", {2, 4, 5, 6, 7}),
    ('{id: {_in: ["@course2", "@course3"]}}', {2, 3}),
    ("{_or: [{level: {_eq: advanced}}, {capacity: {_eq: 1}}]}", {3, 7, 8}),
    ("{_and: [{online: {_eq: true}}, {_not: {capacity: {_gt: 5}}}]}", {3, 8}),
    ('{createdAt: {_gt: "2026-01-03T00:05:00Z"}, version: {_eq: 1}}', {6}),
]


@pytest.mark.parametrize(("where", "expected"), FILTERS, ids=[f[0] for f in FILTERS])
async def test_filter_operators(
    tenant_api: TenantApi, seeded: Database, where: str, expected: set[int]
) -> None:
    result = await run(
        tenant_api, seeded, f"{{ courses(where: {where}) {{ edges {{ node {{ id }} }} }} }}"
    )
    assert "errors" not in result, result
    ids = {e["node"]["id"] for e in result["data"]["courses"]["edges"]}
    assert ids == {uuid_of("course", n) for n in expected}


async def test_reverse_relation_quantifiers(tenant_api: TenantApi, seeded: Database) -> None:
    async def names(where: str) -> set[str]:
        result = await run(
            tenant_api, seeded, f"{{ trainers(where: {where}) {{ edges {{ node {{ name }} }} }} }}"
        )
        return {e["node"]["name"] for e in result["data"]["trainers"]["edges"]}

    assert await names("{courses: {_some: {level: {_eq: advanced}}}}") == {"Alice", "Ümit"}
    assert await names("{courses: {_none: {}}}") == {"Carol"}
    assert await names("{courses: {_every: {online: {_eq: true}}}}") == {"Bob", "Carol"}


async def test_filter_errors_carry_paths(tenant_api: TenantApi, seeded: Database) -> None:
    result = await run(
        tenant_api,
        seeded,
        '{ courses(where: {startDate: {_between: ["2026-01-01"]}}) { totalCount } }',
    )
    assert result["data"] is None  # courses is non-null
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["path"] == ["courses"]
    assert error["extensions"]["errors"][0]["path"] == ["where", "startDate", "_between"]


# -- ordering and pagination ---------------------------------------------------------------------

ORDERINGS: list[tuple[str, str]] = [
    ("", ""),
    ("[{startDate: ASC}]", "start_date ASC NULLS LAST"),
    ("[{startDate: DESC}, {title: ASC}]", "start_date DESC NULLS FIRST, title ASC NULLS LAST"),
    ("[{capacity: DESC}, {price: ASC}]", "capacity DESC NULLS FIRST, price ASC NULLS LAST"),
    ("[{capacity: DESC, price: ASC}]", "capacity DESC NULLS FIRST, price ASC NULLS LAST"),
    ("[{price: ASC, capacity: DESC}]", "price ASC NULLS LAST, capacity DESC NULLS FIRST"),
    ("[{online: ASC}]", "online ASC NULLS LAST"),
    ("[{code: DESC}]", "code DESC NULLS FIRST"),
    ("[{score: ASC}]", "score ASC NULLS LAST"),
    ("[{startsAt: DESC}]", "starts_at DESC NULLS FIRST"),
    ("[{trainerId: ASC}, {level: DESC}]", "trainer_id ASC NULLS LAST, level DESC NULLS FIRST"),
    ("[{level: ASC}, {startDate: DESC}]", "level ASC NULLS LAST, start_date DESC NULLS FIRST"),
    ("[{title: DESC}]", "title DESC NULLS FIRST"),
    ("[{id: DESC}, {title: ASC}]", "id DESC"),
]


async def _expected_order(db: Database, order_sql: str) -> list[str]:
    order = f"{order_sql}, id" if order_sql else "id"
    rows = await db.fetch(
        f"SELECT title FROM {qualified(SCHEMA, 'training_course')} ORDER BY {order}"
    )
    return [r["title"] for r in rows]


async def _walk(
    api: TenantApi, db: Database, order_by: str, size: int, *, backward: bool
) -> list[str]:
    arg = f"orderBy: {order_by}," if order_by else ""
    count, cursor_arg = ("last", "before") if backward else ("first", "after")
    query = f"""query($n: Int, $c: String) {{ courses({arg} {count}: $n, {cursor_arg}: $c) {{
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ title }} }} }} }}"""
    seen: list[str] = []
    cursor: str | None = None
    for page_number in range(100):
        result = await run(api, db, query, {"n": size, "c": cursor})
        connection = result["data"]["courses"]
        info = connection["pageInfo"]
        edges = connection["edges"]
        assert len(edges) <= size
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
        page = [e["node"]["title"] for e in edges]
        more = info["hasPreviousPage"] if backward else info["hasNextPage"]
        came_from = info["hasNextPage"] if backward else info["hasPreviousPage"]
        assert came_from == (page_number > 0)
        seen = page + seen if backward else seen + page
        if not more:
            return seen
        cursor = info["startCursor"] if backward else info["endCursor"]
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(
    ("order_by", "order_sql"), ORDERINGS, ids=[o[0] or "default" for o in ORDERINGS]
)
async def test_pagination_matches_order_by(
    tenant_api: TenantApi, seeded: Database, order_by: str, order_sql: str
) -> None:
    expected = await _expected_order(seeded, order_sql)
    arg = f"(orderBy: {order_by})" if order_by else ""
    whole = await run(tenant_api, seeded, f"{{ courses{arg} {{ edges {{ node {{ title }} }} }} }}")
    assert titles(whole) == expected
    for size in (1, 2, 3, 8):
        assert await _walk(tenant_api, seeded, order_by, size, backward=False) == expected
        assert await _walk(tenant_api, seeded, order_by, size, backward=True) == expected


async def test_page_edges_and_counts(tenant_api: TenantApi, seeded: Database) -> None:
    query = """query($n: Int, $m: Int) { empty: courses(first: $n) { totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor } }
      tail: courses(last: $m, where: {online: {_eq: true}}) { totalCount
        pageInfo { hasNextPage hasPreviousPage } edges { node { title } } } }"""
    result = await run(tenant_api, seeded, query, {"n": 0, "m": 2})
    assert result["data"]["empty"] == {
        "totalCount": 8,
        "pageInfo": {
            "hasNextPage": True,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }
    tail = result["data"]["tail"]
    assert tail["totalCount"] == 4
    assert tail["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    assert [e["node"]["title"] for e in tail["edges"]] == ["anti-harassment", "Écoute active"]


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ("first: -1", ["first"]),
        ("first: 1001", ["first"]),
        ("last: 5000", ["last"]),
        ("first: 1, last: 1", ["last"]),
        ('after: "not-a-cursor"', ["after"]),
        ('before: "WzEsMl0"', ["before"]),
    ],
)
async def test_page_argument_errors(
    tenant_api: TenantApi, seeded: Database, arguments: str, path: list[str]
) -> None:
    result = await run(tenant_api, seeded, f"{{ courses({arguments}) {{ edges {{ cursor }} }} }}")
    assert result["data"] is None
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["path"] == ["courses"]
    assert error["extensions"]["errors"][0]["path"] == path


async def test_cursor_of_another_ordering_is_rejected(
    tenant_api: TenantApi, seeded: Database
) -> None:
    first = await run(
        tenant_api, seeded, "{ courses(first: 1, orderBy: [{title: ASC}]) { edges { cursor } } }"
    )
    cursor = first["data"]["courses"]["edges"][0]["cursor"]
    result = await run(
        tenant_api,
        seeded,
        "query($c: String) { courses(after: $c, orderBy: [{startDate: ASC}]) { edges { cursor } } }",
        {"c": cursor},
    )
    assert error_codes(result) == ["VALIDATION_FAILED"]


async def test_nested_connection_pages(tenant_api: TenantApi, seeded: Database) -> None:
    query = """query($c: String) { course(id: "@course3") { enrollments(first: 2, after: $c, orderBy: [{grade: DESC}]) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { grade } } } } }"""
    page1 = (await run(tenant_api, seeded, query, {"c": None}))["data"]["course"]["enrollments"]
    assert [e["node"]["grade"] for e in page1["edges"]] == [None, 95]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (await run(tenant_api, seeded, query, {"c": page1["pageInfo"]["endCursor"]}))["data"]
    enrollments = page2["course"]["enrollments"]
    assert [e["node"]["grade"] for e in enrollments["edges"]] == [95, 40]
    assert enrollments["pageInfo"]["hasNextPage"] is False
    assert enrollments["pageInfo"]["hasPreviousPage"] is True
    assert enrollments["totalCount"] == 4


# -- aggregates ----------------------------------------------------------------------------------


async def test_aggregates_without_group_by(tenant_api: TenantApi, seeded: Database) -> None:
    query = """{ coursesAggregate(where: {level: {_neq: advanced}}) { count
        sum { price capacity } avg { capacity } min { price startDate } max { startsAt }
        groups { key { level } count } } }"""
    result = await run(tenant_api, seeded, query)
    assert result["data"]["coursesAggregate"] == {
        "count": 6,
        "sum": {"price": "1234699.04", "capacity": 89},
        "avg": {"capacity": pytest.approx(89 / 6)},
        "min": {"price": "0.10", "startDate": "2026-03-20"},
        "max": {"startsAt": "2026-03-05T09:00:00+00:00"},
        "groups": [{"key": {"level": None}, "count": 6}],
    }


async def test_aggregates_grouped(tenant_api: TenantApi, seeded: Database) -> None:
    query = """{ coursesAggregate(groupBy: [level, online]) { count groups { key { level online }
        count sum { price } } } trainersAggregate { count max { hourlyRate } } }"""
    result = await run(tenant_api, seeded, query)
    groups = result["data"]["coursesAggregate"]["groups"]
    assert result["data"]["coursesAggregate"]["count"] == 8
    assert [(g["key"]["level"], g["key"]["online"], g["count"]) for g in groups] == [
        ("advanced", False, 1),
        ("advanced", True, 1),
        ("beginner", False, 1),
        ("beginner", True, 1),
        ("beginner", None, 1),
        ("intermediate", False, 1),
        ("intermediate", True, 2),
    ]
    assert groups[-1]["sum"] == {"price": "7.15"}
    assert result["data"]["trainersAggregate"] == {"count": 5, "max": {"hourlyRate": "1234567.89"}}


async def test_aggregate_of_nothing(tenant_api: TenantApi, seeded: Database) -> None:
    query = """{ coursesAggregate(where: {capacity: {_gt: 10000}}, groupBy: [level]) { count
        sum { price } avg { score } groups { count } } }"""
    result = await run(tenant_api, seeded, query)
    assert result["data"]["coursesAggregate"] == {
        "count": 0,
        "sum": {"price": None},
        "avg": {"score": None},
        "groups": [],
    }


# -- variables, caching, principals --------------------------------------------------------------


async def test_plans_are_reused_across_value_variables(
    seeded: Database, rapport_model: Model
) -> None:
    api = _api(rapport_model)
    query = """query($n: Int, $c: String, $w: CourseWhere) {
        courses(first: $n, after: $c, where: $w, orderBy: [{title: ASC}]) { edges { cursor node { title } } } }"""
    one = await run(api, seeded, query, {"n": 1})
    two = await run(api, seeded, query, {"n": 2, "c": None})
    assert len(titles(one)) == 1 and len(titles(two)) == 2
    assert api.cache_info() == {"documents": 1, "plans": 1}  # same shape: one plan
    after = await run(
        api, seeded, query, {"n": 1, "c": one["data"]["courses"]["edges"][0]["cursor"]}
    )
    assert titles(after) == titles(two)[1:]
    filtered = await run(api, seeded, query, {"n": 5, "w": {"level": {"_eq": "advanced"}}})
    other = await run(api, seeded, query, {"n": 5, "w": {"level": {"_eq": "beginner"}}})
    assert set(titles(filtered)) == {"Advanced Python", "Zen of Excel"}
    assert set(titles(other)) == {"Safety basics", "Fire drills", "anti-harassment"}
    assert api.cache_info()["plans"] == 4  # cursor given, and two filters: new shapes
    api.close()
    assert api.cache_info() == {"documents": 0, "plans": 0}


async def test_order_by_key_order_of_variables(tenant_api: TenantApi, seeded: Database) -> None:
    query = "query($o: [CourseOrderBy!]) { courses(orderBy: $o) { edges { node { title } } } }"
    by_price = await run(tenant_api, seeded, query, {"o": [{"price": "ASC", "capacity": "DESC"}]})
    by_capacity = await run(tenant_api, seeded, query, {"o": {"capacity": "DESC", "price": "ASC"}})
    assert titles(by_price) == await _expected_order(
        seeded, "price ASC NULLS LAST, capacity DESC NULLS FIRST"
    )
    assert titles(by_capacity) == await _expected_order(
        seeded, "capacity DESC NULLS FIRST, price ASC NULLS LAST"
    )


async def test_user_variables_follow_the_principal(tenant_api: TenantApi, seeded: Database) -> None:
    query = '{ courses(where: {createdBy: {_eq: "$user.id"}}) { totalCount } }'
    # admins: no permission rule narrows the rows, only the filter's $user.id does
    seed = Principal(tenant="readpath", subject="seed", roles=frozenset({"admin"}))
    other = Principal(tenant="readpath", subject="someone", roles=frozenset({"admin"}))
    assert (await run(tenant_api, seeded, query, principal=seed))["data"]["courses"][
        "totalCount"
    ] == 8
    assert (await run(tenant_api, seeded, query, principal=other))["data"]["courses"][
        "totalCount"
    ] == 0


async def test_introspection_and_resolver_fields_mix_with_compiled_ones(
    tenant_api: TenantApi, seeded: Database
) -> None:
    query = """{ __typename metadataVersion t: __type(name: "CourseOrderBy") { name }
        __schema { queryType { name } } courses(first: 1) { totalCount } }"""
    result = await run(tenant_api, seeded, query)
    assert result == {
        "data": {
            "__typename": "Query",
            "metadataVersion": 3,
            "t": {"name": "CourseOrderBy"},
            "__schema": {"queryType": {"name": "Query"}},
            "courses": {"totalCount": 8},
        }
    }


# -- request errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "operation", "fragment"),
    [
        ("{ courses { edges ", None, None, "Syntax Error"),
        ("{ courses { nope } }", None, None, "Cannot query field 'nope'"),
        ("query A { metadataVersion } query B { metadataVersion }", None, None, "operation name"),
        ("query A { metadataVersion }", None, "C", "Unknown operation named 'C'"),
        ("query($n: Int!) { courses(first: $n) { totalCount } }", {"n": "x"}, None, "$n"),
        ("query($n: Int!) { courses(first: $n) { totalCount } }", {}, None, "$n"),
    ],
)
async def test_request_errors(
    tenant_api: TenantApi,
    seeded: Database,
    query: str,
    variables: dict[str, Any] | None,
    operation: str | None,
    fragment: str,
) -> None:
    outcome = await tenant_api.execute(
        seeded, GraphQLRequest(query, operation, variables), PRINCIPAL
    )
    assert outcome.request_error is True
    body = json.loads(outcome.body)
    assert "data" not in body
    assert fragment in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_operation_selection_by_name(tenant_api: TenantApi, seeded: Database) -> None:
    query = 'query A { course(id: "@course1") { title } } query B { metadataVersion }'
    assert (await run(tenant_api, seeded, query, operation_name="A"))["data"] == {
        "course": {"title": "Safety basics"}
    }
    assert (await run(tenant_api, seeded, query, operation_name="B"))["data"] == {
        "metadataVersion": 3
    }


async def test_single_record_missing_or_malformed(tenant_api: TenantApi, seeded: Database) -> None:
    query = 'query($id: ID!) { course(id: $id) { title } trainer(id: "@trainer2") { name } }'
    missing = await run(tenant_api, seeded, query, {"id": str(uuid.UUID(int=0))})
    assert missing == {"data": {"course": None, "trainer": {"name": "Alice"}}}
    malformed = await run(tenant_api, seeded, query, {"id": "x"})
    assert malformed["data"] == {"course": None, "trainer": {"name": "Alice"}}
    assert error_codes(malformed) == ["VALIDATION_FAILED"]
    assert malformed["errors"][0]["path"] == ["course"]
    assert malformed["errors"][0]["locations"] == [{"line": 1, "column": 19}]


async def test_unexpected_failures_are_masked(seeded: Database, rapport_model: Model) -> None:
    # given an API whose tenant schema does not exist in the database
    api = build_tenant_api(
        _tenant("tenant_missing"), TenantMetadata.of(rapport_model), kernel=KERNEL
    )
    # when
    result = await run(api, seeded, '{ courses { totalCount } course(id: "@course1") { id } }')
    # then the client learns nothing about SQL
    assert result["data"] is None
    assert error_codes(result) == ["INTERNAL", "INTERNAL"]
    text = json.dumps(result)
    assert "SELECT" not in text and "tenant_missing" not in text and "relation" not in text
    assert result["errors"][0]["message"] == "Internal server error."


async def test_mutation_over_get_is_refused(tenant_api: TenantApi, seeded: Database) -> None:
    request = GraphQLRequest(
        ids('mutation { deleteEmployee(id: "@employee2") }'), allow_mutations=False
    )
    with pytest.raises(MethodNotAllowed):
        await tenant_api.execute(seeded, request, PRINCIPAL)
    still_there = await run(tenant_api, seeded, '{ employee(id: "@employee2") { name } }')
    assert still_there["data"]["employee"] == {"name": "Ivy"}


# -- mutations -----------------------------------------------------------------------------------


async def test_create_reads_back_the_selection(tenant_api: TenantApi, seeded: Database) -> None:
    query = """mutation($input: EmployeeCreateInput!) { createEmployee(input: $input) {
        id name employeeNo version createdBy complaints { totalCount } __typename } }"""
    result = await run(
        tenant_api, seeded, query, {"input": {"name": "新员工", "employeeNo": "E-9"}}
    )
    created = result["data"]["createEmployee"]
    assert created["name"] == "新员工"
    assert created["version"] == 1
    assert created["createdBy"] == PRINCIPAL.subject
    assert created["complaints"] == {"totalCount": 0}
    assert created["__typename"] == "Employee"
    uuid.UUID(created["id"])


async def test_create_many_in_order_and_all_or_nothing(
    tenant_api: TenantApi, seeded: Database
) -> None:
    query = """mutation($inputs: [EmployeeCreateInput!]!) { createEmployees(inputs: $inputs) { name } }"""
    result = await run(tenant_api, seeded, query, {"inputs": [{"name": "B1"}, {"name": "A2"}]})
    assert result["data"]["createEmployees"] == [{"name": "B1"}, {"name": "A2"}]
    failed = await run(tenant_api, seeded, query, {"inputs": [{"name": "C1"}, {"name": "x" * 101}]})
    assert failed["data"] is None  # the field is non-null
    assert error_codes(failed) == ["VALIDATION_FAILED"]
    assert failed["errors"][0]["extensions"]["errors"][0]["path"] == ["inputs", 1, "name"]
    count = await run(
        tenant_api, seeded, '{ employees(where: {name: {_eq: "C1"}}) { totalCount } }'
    )
    assert count["data"]["employees"]["totalCount"] == 0


async def test_update_with_expected_version(tenant_api: TenantApi, seeded: Database) -> None:
    created = await run(
        tenant_api,
        seeded,
        'mutation { createEmployee(input: {name: "Old"}) { id version } }',
    )
    employee_id = created["data"]["createEmployee"]["id"]
    update = """mutation($id: ID!, $v: Int) { updateEmployee(id: $id, input: {name: "New"}, expectedVersion: $v) {
        name version } }"""
    ok = await run(tenant_api, seeded, update, {"id": employee_id, "v": 1})
    assert ok["data"]["updateEmployee"] == {"name": "New", "version": 2}
    stale = await run(tenant_api, seeded, update, {"id": employee_id, "v": 1})
    assert stale["data"] == {"updateEmployee": None}
    assert error_codes(stale) == ["VERSION_CONFLICT"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2
    missing = await run(tenant_api, seeded, update, {"id": str(uuid.UUID(int=1)), "v": None})
    assert error_codes(missing) == ["NOT_FOUND"]


async def test_update_patch_semantics(tenant_api: TenantApi, seeded: Database) -> None:
    created = await run(
        tenant_api,
        seeded,
        'mutation { createEmployee(input: {name: "P", employeeNo: "E-77"}) { id } }',
    )
    employee_id = created["data"]["createEmployee"]["id"]
    query = "mutation($id: ID!, $input: EmployeeUpdateInput!) { updateEmployee(id: $id, input: $input) { name employeeNo } }"
    kept = await run(tenant_api, seeded, query, {"id": employee_id, "input": {"name": "Q"}})
    assert kept["data"]["updateEmployee"] == {"name": "Q", "employeeNo": "E-77"}
    cleared = await run(
        tenant_api, seeded, query, {"id": employee_id, "input": {"employeeNo": None}}
    )
    assert cleared["data"]["updateEmployee"] == {"name": "Q", "employeeNo": None}


async def test_upsert_and_delete(tenant_api: TenantApi, seeded: Database) -> None:
    upsert = """mutation($input: EmployeeCreateInput!) { upsertEmployee(input: $input, onConflict: employeeNo) {
        id name version } }"""
    first = await run(tenant_api, seeded, upsert, {"input": {"name": "U1", "employeeNo": "E-50"}})
    second = await run(tenant_api, seeded, upsert, {"input": {"name": "U2", "employeeNo": "E-50"}})
    assert first["data"]["upsertEmployee"]["id"] == second["data"]["upsertEmployee"]["id"]
    assert second["data"]["upsertEmployee"]["name"] == "U2"
    assert second["data"]["upsertEmployee"]["version"] == 2
    record_id = second["data"]["upsertEmployee"]["id"]
    deleted = await run(
        tenant_api, seeded, "mutation($id: ID!) { deleteEmployee(id: $id) }", {"id": record_id}
    )
    assert deleted == {"data": {"deleteEmployee": record_id}}
    again = await run(
        tenant_api, seeded, "mutation($id: ID!) { deleteEmployee(id: $id) }", {"id": record_id}
    )
    assert again["data"] == {"deleteEmployee": None}
    assert error_codes(again) == ["NOT_FOUND"]


async def test_mutations_run_serially_and_fail_alone(
    tenant_api: TenantApi, seeded: Database
) -> None:
    # given three mutations, the middle one refused (a complaint still references employee 1)
    query = """mutation { a: createEmployee(input: {name: "S1"}) { name }
        b: deleteEmployee(id: "@employee1")
        c: createEmployee(input: {name: "S2"}) { name } }"""
    result = await run(tenant_api, seeded, query)
    assert result["data"] == {"a": {"name": "S1"}, "b": None, "c": {"name": "S2"}}
    assert error_codes(result) == ["CONSTRAINT_VIOLATION"]
    assert result["errors"][0]["path"] == ["b"]


async def test_create_validation_errors_name_the_field(
    tenant_api: TenantApi, seeded: Database
) -> None:
    query = """mutation($input: ComplaintCreateInput!) { createComplaint(input: $input) { id } }"""
    result = await run(
        tenant_api,
        seeded,
        query,
        {"input": {"title": "x" * 201, "category": "pay", "submitterId": str(uuid.UUID(int=5))}},
    )
    assert result["data"] == {"createComplaint": None}
    assert error_codes(result) == ["VALIDATION_FAILED"]
    paths = [e["path"] for e in result["errors"][0]["extensions"]["errors"]]
    assert ["input", "title"] in paths


# -- statements and spans ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.setup(server_settings(None), exporter=exporter)
    yield exporter
    exporter.shutdown()


DEEP = """{ courses(first: 1000) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
      title trainer { name courses { totalCount edges { node { title
        enrollments { edges { node { grade trainee { name enrollments { totalCount edges { node {
          course { title trainees { edges { node { name } } } } } } } } } } } } } } }
      trainees { totalCount } isSmall } } }
    coursesAggregate(groupBy: [level]) { count groups { key { level } count } }
    course(id: "@course1") { title } }"""


async def test_one_statement_per_root_field(
    tenant_api: TenantApi, seeded: Database, spans: InMemorySpanExporter
) -> None:
    # given a shallow and a deep query over every course
    shallow = '{ courses { edges { node { title } } } coursesAggregate { count } course(id: "@course1") { title } }'
    for query in (shallow, DEEP):
        spans.clear()
        # when
        result = await run(tenant_api, seeded, query)
        # then three root fields took three statements, whatever the depth and row count
        assert "errors" not in result
        finished = spans.get_finished_spans()
        statements = [s for s in finished if s.name.startswith("db ")]
        assert len(statements) == 3
        (operation,) = [s for s in finished if s.name == "graphql.operation"]
        assert operation.attributes is not None
        assert operation.attributes["rapport.tenant"] == "readpath"
        assert operation.attributes["graphql.operation.type"] == "query"
        assert all(
            s.parent is not None and s.parent.span_id == operation.context.span_id
            for s in statements
        )


async def test_many_rows_one_statement_and_default_page_size(
    seeded: Database, rapport_model: Model, spans: InMemorySpanExporter
) -> None:
    # given 300 more trainees, each enrolled in course 7
    api = _api(rapport_model)
    trainees, enrollments = (
        qualified(SCHEMA, "training_trainee"),
        qualified(SCHEMA, "training_enrollment"),
    )
    await seeded.execute(
        f"INSERT INTO {trainees} (id, name) SELECT gen_random_uuid(), 'bulk ' || n "
        "FROM generate_series(1, 300) n"
    )
    await seeded.execute(
        f"INSERT INTO {enrollments} (course_id, trainee_id) SELECT $1, id FROM {trainees} "
        "WHERE name LIKE 'bulk %'",
        uuid.UUID(uuid_of("course", 7)),
    )
    try:
        spans.clear()
        # when one root field reads them all, nested, and another pages with the default size
        query = """{ course(id: "@course7") { enrollments(first: 1000) { totalCount edges { node {
              trainee { name enrollments { totalCount edges { node { course { title } } } } } } } }
            trainees { totalCount } }
          trainees { totalCount pageInfo { hasNextPage } edges { node { name } } } }"""
        result = await run(api, seeded, query)
        # then
        course = result["data"]["course"]
        assert course["enrollments"]["totalCount"] == 300
        assert len(course["enrollments"]["edges"]) == 300
        assert course["trainees"]["totalCount"] == 300
        assert result["data"]["trainees"]["totalCount"] == 305
        assert len(result["data"]["trainees"]["edges"]) == 100  # the default page size
        assert result["data"]["trainees"]["pageInfo"]["hasNextPage"] is True
        assert len([s for s in spans.get_finished_spans() if s.name.startswith("db ")]) == 2
    finally:
        await seeded.execute(f"DELETE FROM {trainees} WHERE name LIKE 'bulk %'")
        api.close()


# -- helpers -------------------------------------------------------------------------------------


def _tenant(schema: str) -> Tenant:
    return Tenant(
        id=str(uuid.uuid4()),
        slug="readpath",
        name="Read path",
        schema=schema,
        metadata_version=3,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def _api(model: Model) -> TenantApi:
    return build_tenant_api(_tenant(SCHEMA), TenantMetadata.of(model), kernel=KERNEL)
