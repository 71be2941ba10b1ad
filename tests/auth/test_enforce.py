"""The duty model over real HTTP: every (acting role × target role × act) against /graphql/admin.

Each allowed cell succeeds; each refused cell answers FORBIDDEN with a hint, changes nothing and
leaves a ``duty.refused`` audit entry naming the act.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from rapport.auth.api_keys import create_key
from rapport.auth.tokens import issue_token
from rapport.auth.users import create_user
from rapport.db.database import Database
from rapport.settings import Settings
from tests.auth.test_duties import ACTS, ALLOWED, NONE

ADMIN_API_ROLES = ("admin", "system_admin", "security_admin", "audit_admin")
TARGETS = ("admin", "system_admin", "security_admin", "audit_admin", "hr")
_serial = itertools.count()

MUTATIONS = {
    "createUser": "mutation($login: String!, $roles: [String!]!) { "
    "createUser(login: $login, roles: $roles) { id } }",
    "assignRoles": "mutation($login: String!, $roles: [String!]!) { "
    "assignRoles(login: $login, roles: $roles) { roles } }",
    "resetPassword": "mutation($login: String!) { "
    'resetPassword(login: $login, password: "Another-Secret-99!") { id } }',
    "setUserActive": "mutation($login: String!) { setUserActive(login: $login, active: true) { id } }",
    "unlockUser": "mutation($login: String!) { unlockUser(login: $login) { id } }",
    "resetTotp": "mutation($login: String!) { resetTotp(login: $login) { id } }",
    "createApiKey": 'mutation($roles: [String!]!) { createApiKey(name: "k", roles: $roles) { key } }',
    "revokeApiKey": "mutation($id: String!) { revokeApiKey(id: $id) { id } }",
}


async def _variables(database: Database, settings: Settings, act: str, target: str) -> Any:
    """A fresh target for the cell (so cells never see each other's changes)."""
    name, _, variant = act.partition(":")
    login = f"cell{next(_serial)}@acme.test"
    if name == "createUser":
        return {"login": login, "roles": [target]}
    if name == "createApiKey":
        return {"roles": [target]}
    if name == "revokeApiKey":
        key, _ = await create_key(
            database, tenant="acme", name="t", roles=[target], expires_at=None, actor="test"
        )
        return {"id": key.id}
    # grant: `target` is given to a user who holds hr; revoke: taken from a user who keeps hr
    roles = {"grant": ["hr"], "revoke": list(dict.fromkeys([target, "hr"]))}.get(variant, [target])
    await create_user(
        database,
        settings.identity,
        tenant="acme",
        login=login,
        roles=roles,
        password=None,
        actor="test",
    )
    if variant == "grant":
        return {"login": login, "roles": list(dict.fromkeys(["hr", target]))}
    if variant == "revoke":
        return {"login": login, "roles": ["hr"] if target != "hr" else ["reader"]}
    return {"login": login}


async def _refusals(database: Database, actor: str) -> list[dict[str, Any]]:
    rows = await database.fetch(
        "SELECT data FROM rapport.audit_entries WHERE actor = $1 AND action = 'duty.refused' "
        "ORDER BY seq",
        actor,
    )
    return [json.loads(r["data"]) for r in rows]


CELLS = [(a, act, t) for a in ADMIN_API_ROLES for act in ACTS for t in TARGETS]


@pytest.mark.parametrize(("actor", "act", "target"), CELLS)
async def test_every_cell_over_http(
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    actor: str,
    act: str,
    target: str,
) -> None:
    # given
    subject = f"{actor}-{act}-{target}"
    token = issue_token(settings, tenant="acme", subject=subject, roles=[actor])
    variables = await _variables(database, settings, act, target)
    allowed = target in ALLOWED.get((actor, act), NONE)
    # when
    response = await client.post(
        "/graphql/admin",
        json={"query": MUTATIONS[act.partition(":")[0]], "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    # then
    body = response.json()
    refusals = await _refusals(database, subject)
    if allowed:
        assert "errors" not in body, (actor, act, target, body)
        assert refusals == []
    else:
        error = body["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN", (actor, act, target, body)
        assert error["extensions"]["hint"]
        assert [r["act"] for r in refusals] == [act.partition(":")[0]]


async def test_a_plain_role_does_not_reach_the_admin_api(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # given
    token = issue_token(settings, tenant="acme", subject="hr1", roles=["hr"])
    # when
    response = await client.post(
        "/graphql/admin",
        json={"query": MUTATIONS["unlockUser"], "variables": {"login": "x"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    # then
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
