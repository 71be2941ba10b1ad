"""User management through /graphql/admin: duties, policy, audit, no secrets returned."""

from __future__ import annotations

from typing import Any

import httpx

from rapport.auth.tokens import issue_token
from rapport.db.database import Database
from rapport.settings import Settings
from tests.auth.conftest import PASSWORD

CREATE = """mutation($login: String!, $roles: [String!]!, $password: String) {
  createUser(login: $login, roles: $roles, password: $password) { id login roles status } }"""


async def _admin(
    client: httpx.AsyncClient, settings: Settings, role: str, query: str, **variables: Any
) -> dict[str, Any]:
    token = issue_token(settings, tenant="acme", subject=f"{role}-1", roles=[role])
    response = await client.post(
        "/graphql/admin",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return dict(response.json())


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_a_system_admin_creates_users_and_a_security_admin_assigns_roles(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # when
    created = await _admin(
        client,
        settings,
        "system_admin",
        CREATE,
        login="nia@acme.test",
        roles=["reader"],
        password=PASSWORD,
    )
    assigned = await _admin(
        client,
        settings,
        "security_admin",
        'mutation { assignRoles(login: "nia@acme.test", roles: ["hr"]) { roles } }',
    )
    listed = await _admin(client, settings, "security_admin", "{ users { login roles } }")
    # then
    user = created["data"]["createUser"]
    assert user["roles"] == ["reader"] and user["status"] == "active"
    assert assigned["data"]["assignRoles"]["roles"] == ["hr"]
    assert {"login": "nia@acme.test", "roles": ["hr"]} in listed["data"]["users"]
    assert "argon2" not in str(listed)
    actions = await database.fetch(
        "SELECT action, actor FROM rapport.audit_entries WHERE record_id = $1 ORDER BY seq",
        user["id"],
    )
    assert [(r["action"], r["actor"]) for r in actions] == [
        ("user.create", "system_admin-1"),
        ("user.roles", "security_admin-1"),
    ]


async def test_duties_are_separated_in_the_admin_api(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # a security_admin cannot create users; a system_admin cannot assign roles;
    # an audit_admin can do neither and reads no metadata; admin+audit_admin is refused
    as_security = await _admin(
        client, settings, "security_admin", CREATE, login="x1", roles=["reader"]
    )
    as_system = await _admin(
        client,
        settings,
        "system_admin",
        'mutation { assignRoles(login: "nia@acme.test", roles: ["admin"]) { roles } }',
    )
    as_audit = await _admin(client, settings, "audit_admin", "{ users { login } }")
    audit_metadata = await _admin(
        client, settings, "audit_admin", "{ metadataVersions { version } }"
    )
    combined = await _admin(
        client, settings, "admin", CREATE, login="x2", roles=["admin", "audit_admin"]
    )
    assert _code(as_security) == "FORBIDDEN"
    assert _code(as_system) == "FORBIDDEN"
    assert _code(as_audit) == "FORBIDDEN"
    assert _code(audit_metadata) == "FORBIDDEN"
    assert _code(combined) == "DUTIES_CONFLICT"


async def test_weak_passwords_and_duplicate_logins_are_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    weak = await _admin(
        client,
        settings,
        "admin",
        CREATE,
        login="oz@acme.test",
        roles=["reader"],
        password="password",
    )
    await _admin(client, settings, "admin", CREATE, login="pat@acme.test", roles=["reader"])
    duplicate = await _admin(
        client, settings, "admin", CREATE, login="PAT@acme.test", roles=["reader"]
    )
    assert _code(weak) == "WEAK_PASSWORD"
    assert "at least 12" in weak["errors"][0]["message"]
    assert _code(duplicate) == "CONSTRAINT_VIOLATION"


async def test_the_totp_requirement_is_a_tenant_setting_of_the_admin_api(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    on = await _admin(
        client, settings, "system_admin", "mutation { requireTotpForAdmins(required: true) }"
    )
    stored = await database.fetchval(
        "SELECT s.totp_required_for_admins FROM rapport.tenant_security s "
        "JOIN rapport.tenants t ON t.id = s.tenant_id WHERE t.slug = 'acme'"
    )
    off = await _admin(
        client, settings, "admin", "mutation { requireTotpForAdmins(required: false) }"
    )
    assert on["data"]["requireTotpForAdmins"] is True and stored is True
    assert off["data"]["requireTotpForAdmins"] is False
