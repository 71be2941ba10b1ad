"""Permission documents publish like other metadata and take effect on every running instance
without a restart (two live servers on one database, real HTTP, real tokens)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from tests.auth.permissions.conftest import ENTITIES, documents
from tests.live_server import LiveServer, server_settings

SLUG = "livepermissions"
COUNT = {"query": "{ departments { totalCount edges { node { name } } } }"}
CREATE = "mutation($i: DepartmentCreateInput!) { createDepartment(input: $i) { name } }"


def _post(server: LiveServer, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        server.url + "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    decoded: dict[str, Any] = response.json()
    return decoded


def _viewer_rule(where: dict[str, Any] | None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "$id": "perm/viewer-departments",
        "role": "viewer",
        "entity": "hr/department",
        "actions": ["read"],
    }
    if where is not None:
        rule["where"] = where
    return rule


def _until(server: LiveServer, token: str, expected: int) -> int:
    deadline = time.monotonic() + 5
    while True:
        count = int(_post(server, token, COUNT)["data"]["departments"]["totalCount"])
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


async def test_a_published_rule_applies_on_every_instance(
    database_url: str, database: Database
) -> None:
    # given: two instances, a tenant with three departments and a viewer who may read all
    await migrate(database)
    await create_tenant(database, SLUG, actor="test")
    await publish(database, SLUG, documents(ENTITIES, [_viewer_rule(None)]), actor="test")
    settings = server_settings(database_url)
    admin = issue_token(settings, tenant=SLUG, subject="root", roles=["admin"])
    viewer = issue_token(settings, tenant=SLUG, subject="v", roles=["viewer"])
    with LiveServer(settings) as first, LiveServer(settings) as second:
        for name in ("Sales", "R&D", "Legal"):
            created = _post(first, admin, {"query": CREATE, "variables": {"i": {"name": name}}})
            assert "errors" not in created
        assert _until(first, viewer, 3) == 3
        assert _until(second, viewer, 3) == 3
        # when: a new version narrows the rule
        narrowed = [_viewer_rule({"name": {"_neq": "Legal"}})]
        await publish(database, SLUG, documents(ENTITIES, narrowed), actor="test")
        # then: both instances apply it without a restart
        assert _until(first, viewer, 2) == 2
        assert _until(second, viewer, 2) == 2
        # when: the rule is removed
        await publish(database, SLUG, documents(ENTITIES, []), actor="test")
        # then: the viewer sees nothing; the admin still sees everything
        assert _until(first, viewer, 0) == 0
        assert _until(second, viewer, 0) == 0
        assert _until(second, admin, 3) == 3
