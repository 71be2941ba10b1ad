"""The admin API at /graphql/admin, over real HTTP: the lifecycle flow and its error codes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import GraphQLError

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.graphql import admin as admin_module
from rapport.metadata.tenants import create_tenant
from rapport.settings import Environment, Settings
from tests.live_server import LiveServer, server_settings

DOCUMENTS = [d.as_json() for d in demo_documents()]

SAVE_DRAFT = "mutation($d: JSON!) { saveDraft(documents: $d) }"
DRAFT = "{ draft }"
PLAN = """
query($d: JSON) {
  plan(documents: $d) { destructive empty sql steps { summary sql destructive refused reason } }
}
"""
PUBLISH = """
mutation($d: JSON, $allow: Boolean! = false, $expected: Int, $note: String) {
  publish(documents: $d, allowDestructive: $allow, expectedVersion: $expected, note: $note) {
    version changed plan { destructive steps { summary } }
  }
}
"""
ROLLBACK = """
mutation($v: Int!, $allow: Boolean! = false) {
  rollback(version: $v, allowDestructive: $allow) { version changed plan { destructive } }
}
"""
VERSIONS = "{ metadataVersions { version publishedAt publishedBy note steps destructive } }"
TENANT = "{ tenant { slug name metadataVersion } }"


@pytest.fixture(scope="module", autouse=True)
async def catalog(database: Database) -> Database:
    """The module's database with the catalog schema migrated."""
    await migrate(database)
    return database


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
async def tenant(database: Database) -> str:
    await create_tenant(database, "adm", "Admin Co", actor="test")
    return "adm"


@pytest.fixture(scope="module")
def server(settings: Settings, tenant: str) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def admin(settings: Settings, tenant: str) -> str:
    return issue_token(settings, tenant=tenant, subject="alice", roles=["admin"])


@pytest.fixture(scope="module")
def operator(settings: Settings) -> str:
    return issue_token(settings, tenant=None, subject="ops", roles=["operator"])


def call(
    server: LiveServer,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    path: str = "/graphql/admin",
) -> httpx.Response:
    return httpx.post(
        server.url + path,
        json={"query": query, "variables": variables},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/graphql-response+json",
        },
        timeout=30,
    )


def data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "Traceback" not in response.text
    (first,) = body["errors"]
    assert first["message"]
    return dict(first)


def test_tenant_query(server: LiveServer, admin: str) -> None:
    assert data(call(server, admin, TENANT)) == {
        "tenant": {"slug": "adm", "name": "Admin Co", "metadataVersion": 1}
    }


def test_lifecycle_flow(server: LiveServer, admin: str) -> None:
    # saveDraft stores the documents; draft returns them
    saved = data(call(server, admin, SAVE_DRAFT, {"d": DOCUMENTS}))["saveDraft"]
    assert {d["$id"] for d in saved} == {d["$id"] for d in DOCUMENTS}
    assert {d["$id"] for d in data(call(server, admin, DRAFT))["draft"]} == {
        "training/course",
        "training/enrollment",
        "training/trainee",
        "training/trainer",
    }
    # plan(null) plans the draft
    plan = data(call(server, admin, PLAN))["plan"]
    assert not plan["destructive"] and not plan["empty"]
    assert any("CREATE TABLE" in s["sql"] for s in plan["steps"])
    assert "CREATE TABLE" in plan["sql"]
    # the tenant API does not know the type yet
    before = call(server, admin, "{ courses { totalCount } }", path="/graphql")
    assert before.status_code == 400
    # publish(null) publishes the draft
    published = data(call(server, admin, PUBLISH, {"note": "training"}))["publish"]
    assert published["version"] == 2 and published["changed"]
    assert data(call(server, admin, DRAFT))["draft"] is None
    # the very next request on /graphql serves the new type
    created = call(
        server,
        admin,
        'mutation { createCourse(input: {title: "Safety", level: beginner}) { id title } }',
        path="/graphql",
    )
    assert data(created)["createCourse"]["title"] == "Safety"
    assert data(call(server, admin, "{ courses { totalCount } }", path="/graphql")) == {
        "courses": {"totalCount": 1}
    }
    # publishing the same documents again changes nothing
    again = data(call(server, admin, PUBLISH, {"d": DOCUMENTS}))["publish"]
    assert again == {"version": 2, "changed": False, "plan": {"destructive": False, "steps": []}}
    # rollback to version 1 drops the tables: destructive, so it needs allowDestructive
    refused = call(server, admin, ROLLBACK, {"v": 1})
    assert error(refused)["extensions"]["code"] == "DESTRUCTIVE_CHANGE"
    rolled = data(call(server, admin, ROLLBACK, {"v": 1, "allow": True}))["rollback"]
    assert rolled == {"version": 3, "changed": True, "plan": {"destructive": True}}
    gone = call(server, admin, "{ courses { totalCount } }", path="/graphql")
    assert gone.status_code == 400
    # versions record it all
    versions = data(call(server, admin, VERSIONS))["metadataVersions"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[1]["note"] == "training" and versions[1]["publishedBy"] == "alice"
    assert versions[1]["steps"] > 0 and not versions[1]["destructive"]
    assert versions[2]["destructive"] and versions[2]["note"] == "rollback to version 1"
    # export returns a version's documents
    exported = data(call(server, admin, "{ export(version: 2) }"))["export"]
    assert sorted(d["$id"] for d in exported) == sorted(d["$id"] for d in DOCUMENTS)
    assert data(call(server, admin, "{ export }"))["export"] == []
    assert data(call(server, admin, TENANT))["tenant"]["metadataVersion"] == 3


def test_invalid_documents_report_every_problem(server: LiveServer, admin: str) -> None:
    broken = copy.deepcopy(DOCUMENTS)
    course = next(d for d in broken if d["$id"] == "training/course")
    course["properties"]["trainer"]["x-relation"]["entity"] = "training/nobody"
    course["properties"]["level"] = {"enum": ["has space"]}
    response = call(server, admin, SAVE_DRAFT, {"d": broken})
    assert response.status_code == 200
    first = error(response)
    assert first["extensions"]["code"] == "METADATA_INVALID"
    problems = first["extensions"]["problems"]
    assert len(problems) >= 2
    for problem in problems:
        assert set(problem) == {"document", "pointer", "message", "hint"}
    assert any("training/nobody" in p["message"] for p in problems)


def test_documents_must_be_a_list_of_objects(server: LiveServer, admin: str) -> None:
    for value in [{"$id": "a/b"}, [1, 2], "x"]:
        first = error(call(server, admin, PLAN, {"d": value}))
        assert first["extensions"]["code"] == "BAD_REQUEST"
        assert first["path"] == ["plan"]


def test_expected_version_conflict(server: LiveServer, admin: str) -> None:
    current = data(call(server, admin, TENANT))["tenant"]["metadataVersion"]
    response = call(server, admin, PUBLISH, {"d": DOCUMENTS, "expected": current - 1})
    first = error(response)
    assert first["extensions"]["code"] == "METADATA_CONFLICT"
    assert first["extensions"]["currentVersion"] == current


def test_destructive_publish_carries_the_steps(server: LiveServer, admin: str) -> None:
    data(call(server, admin, PUBLISH, {"d": DOCUMENTS}))
    smaller = [d for d in DOCUMENTS if d["$id"] != "training/enrollment"]
    first = error(call(server, admin, PUBLISH, {"d": smaller}))
    assert first["extensions"]["code"] == "DESTRUCTIVE_CHANGE"
    assert any("training_enrollment" in step for step in first["extensions"]["steps"])
    assert "allowDestructive" in first["extensions"]["hint"]


def test_rollback_to_a_missing_version(server: LiveServer, admin: str) -> None:
    first = error(call(server, admin, ROLLBACK, {"v": 99}))
    assert first["extensions"]["code"] == "NOT_FOUND"


def test_operator_fields(server: LiveServer, admin: str, operator: str) -> None:
    created = data(call(server, operator, 'mutation { createTenant(slug: "newco") { slug } }'))
    assert created == {"createTenant": {"slug": "newco"}}
    duplicate = error(call(server, operator, 'mutation { createTenant(slug: "newco") { slug } }'))
    assert duplicate["extensions"]["code"] == "CONSTRAINT_VIOLATION"
    slugs = [t["slug"] for t in data(call(server, operator, "{ tenants { slug } }"))["tenants"]]
    assert {"adm", "newco"} <= set(slugs)
    # an admin is not an operator, and an operator has no tenant
    assert error(call(server, admin, "{ tenants { slug } }"))["extensions"]["code"] == "FORBIDDEN"
    assert error(call(server, operator, TENANT))["extensions"]["code"] == "FORBIDDEN"


def test_transport_rules_apply(server: LiveServer, admin: str, settings: Settings) -> None:
    viewer = issue_token(settings, tenant="adm", subject="v", roles=["viewer"])
    assert call(server, viewer, TENANT).status_code == 403
    assert httpx.post(server.url + "/graphql/admin", json={"query": TENANT}).status_code == 401
    over_get = httpx.get(
        server.url + "/graphql/admin",
        params={"query": "mutation { rollback(version: 1) { version } }"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert over_get.status_code == 405 and over_get.headers["allow"] == "POST"
    by_get = httpx.get(
        server.url + "/graphql/admin",
        params={"query": TENANT},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert data(by_get)["tenant"]["slug"] == "adm"
    syntax = call(server, admin, "{ tenant {")
    assert syntax.status_code == 400 and "data" not in syntax.json()
    assert error(syntax)["extensions"]["code"] == "BAD_REQUEST"


def test_development_allows_introspection_and_suggestions(server: LiveServer, admin: str) -> None:
    assert data(call(server, admin, "{ __schema { queryType { name } } }"))
    typo = error(call(server, admin, "{ tenantt { slug } }"))
    assert "Did you mean" in typo["message"]


def test_production_hides_introspection_and_suggestions(settings: Settings, admin: str) -> None:
    production = replace(settings, environment=Environment.PRODUCTION, graphiql=False)
    with LiveServer(production) as live:
        introspection = call(live, admin, "{ __schema { queryType { name } } }")
        typo = call(live, admin, "{ tenantt { slug } }")
    assert introspection.status_code == 400
    messages = [e["message"] for e in introspection.json()["errors"]]
    assert messages and all("introspection" in m.lower() for m in messages)
    assert "Did you mean" not in error(typo)["message"]


def test_unexpected_errors_are_masked() -> None:
    # given: a resolver failure that is no RapportError (its text may hold SQL or secrets)
    failure = GraphQLError(
        "relation x does not exist: SELECT secret FROM x",
        path=["plan"],
        original_error=ValueError("SELECT secret FROM x"),
    )
    # when
    formatted = admin_module._format(failure)
    # then
    assert formatted == {
        "message": "Unexpected error.",
        "path": ["plan"],
        "extensions": {"code": "INTERNAL"},
    }
