"""The attacks of issue 10, tried over real HTTP on a tenant with salaries and permissions.

Each attack is reproduced as an attacker would try it, and must be refused: FORBIDDEN with a
hint and a ``duty.refused`` audit entry for duty violations, and no salary ever read.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pyotp
import pytest

from rapport.auth.tokens import issue_token
from rapport.auth.users import create_user
from rapport.db.database import Database
from rapport.metadata.documents import documents_from_json
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings
from tests.auth.conftest import PASSWORD

TENANT = "payroll"
EMPLOYEE = {
    "$id": "hr/employee",
    "title": "Employee",
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "salary": {"type": "number", "x-kind": "money", "x-sensitive": True},
    },
    "required": ["name"],
}
# hr reads names, never salaries; the administrators get no data rights at all.
HR_DIRECTORY = {
    "$id": "perm/hr-directory",
    "role": "hr",
    "entity": "hr/employee",
    "actions": ["read"],
    "fields": {"read": ["id", "name"]},
}
SALARIES = "{ employees(first: 10) { edges { node { name salary } } } }"
NEW_PASSWORD = "Taken-Over-Account-7!"


@pytest.fixture(scope="module")
async def payroll(database: Database, tenants: tuple[str, str], settings: Settings) -> str:
    await create_tenant(database, TENANT, actor="test")
    documents = documents_from_json([EMPLOYEE, {"kind": "permission", "body": HR_DIRECTORY}])
    await publish(database, TENANT, documents, actor="test")
    return issue_token(settings, tenant=TENANT, subject="boss", roles=["admin"])


async def _user(database: Database, settings: Settings, login: str, *roles: str) -> str:
    user = await create_user(
        database,
        settings.identity,
        tenant=TENANT,
        login=login,
        roles=list(roles),
        password=PASSWORD,
        actor="test",
    )
    return user.id


async def _login(
    client: httpx.AsyncClient, login: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    body = {"tenant": TENANT, "login": login, "password": password, **extra}
    return await client.post("/auth/login", json=body)


async def _token(client: httpx.AsyncClient, login: str, **extra: Any) -> str:
    response = await _login(client, login, **extra)
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


async def _admin_api(
    client: httpx.AsyncClient, token: str, query: str, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql/admin",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return dict(response.json())


async def _salaries(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    response = await client.post("/graphql", json={"query": SALARIES}, headers=headers)
    return response.json()


def _refused(body: dict[str, Any]) -> None:
    error = body["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN", body
    assert error["extensions"]["hint"]


async def _refusals(database: Database, user_id: str) -> list[str]:
    rows = await database.fetch(
        "SELECT data FROM rapport.audit_entries WHERE actor = $1 AND action = 'duty.refused'",
        user_id,
    )
    return [json.loads(r["data"])["act"] for r in rows]


def _no_salary(body: Any) -> None:
    assert "salary" not in json.dumps(body.get("data") or {}) or all(
        edge["node"].get("salary") is None for edge in body["data"]["employees"]["edges"]
    ), body


CREATE_USER = """mutation($login: String!, $roles: [String!]!, $password: String) {
  createUser(login: $login, roles: $roles, password: $password) { id } }"""
ASSIGN = """mutation($login: String!, $roles: [String!]!) {
  assignRoles(login: $login, roles: $roles) { roles } }"""
CREATE_KEY = (
    """mutation($roles: [String!]!) { createApiKey(name: "exfil", roles: $roles) { key } }"""
)
RESET = """mutation($login: String!, $password: String!) {
  resetPassword(login: $login, password: $password) { id } }"""


async def test_a_system_admin_cannot_create_an_admin_and_read_salaries(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given: a salary exists (the tenant admin wrote it); a system_admin logs in
    admin = {"Authorization": f"Bearer {payroll}"}
    await client.post(
        "/graphql",
        json={"query": 'mutation { createEmployee(input: {name: "Wu", salary: 45000}) { id } }'},
        headers=admin,
    )
    assert (await _salaries(client, admin))["data"]["employees"]["edges"][0]["node"]["salary"]
    sysadmin = await _user(database, settings, "sys@payroll.test", "system_admin")
    token = await _token(client, "sys@payroll.test")
    # when: it creates an admin for itself to log in as
    body = await _admin_api(
        client, token, CREATE_USER, login="puppet", roles=["admin"], password=NEW_PASSWORD
    )
    # then
    _refused(body)
    assert (await _login(client, "puppet", NEW_PASSWORD)).status_code == 401
    assert await _refusals(database, sysadmin) == ["createUser"]
    _no_salary(await _salaries(client, {"Authorization": f"Bearer {token}"}))


async def test_a_security_admin_cannot_make_itself_admin(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given
    secadmin = await _user(database, settings, "sec@payroll.test", "security_admin")
    token = await _token(client, "sec@payroll.test")
    # when: on its own login, and an admin for a colleague it controls
    own = await _admin_api(client, token, ASSIGN, login="sec@payroll.test", roles=["admin"])
    await _user(database, settings, "friend@payroll.test", "hr")
    other = await _admin_api(client, token, ASSIGN, login="friend@payroll.test", roles=["admin"])
    # then
    _refused(own)
    _refused(other)
    assert await _refusals(database, secadmin) == ["assignRoles", "assignRoles"]
    roles = await database.fetchval(
        "SELECT roles FROM rapport.users WHERE lower(login) = 'sec@payroll.test'"
    )
    assert list(roles) == ["security_admin"]
    _no_salary(await _salaries(client, {"Authorization": f"Bearer {token}"}))


async def test_a_security_admin_cannot_mint_an_admin_api_key(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given
    secadmin = await _user(database, settings, "keys@payroll.test", "security_admin")
    token = await _token(client, "keys@payroll.test")
    # when
    admin_key = await _admin_api(client, token, CREATE_KEY, roles=["admin"])
    sec_key = await _admin_api(client, token, CREATE_KEY, roles=["security_admin"])
    # then: refused, both audited; the key it may mint reads no salary either
    _refused(admin_key)
    _refused(sec_key)
    assert await _refusals(database, secadmin) == ["createApiKey", "createApiKey"]
    hr_key = (await _admin_api(client, token, CREATE_KEY, roles=["hr"]))["data"]["createApiKey"]
    _no_salary(await _salaries(client, {"X-API-Key": hr_key["key"]}))


async def test_a_system_admin_cannot_hand_out_security_admin_or_take_over_the_admin(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given: the tenant's admin user and a system_admin
    await _user(database, settings, "root@payroll.test", "admin")
    sysadmin = await _user(database, settings, "ops@payroll.test", "system_admin")
    token = await _token(client, "ops@payroll.test")
    # when
    grant = await _admin_api(client, token, ASSIGN, login="ops@payroll.test", roles=["hr"])
    create = await _admin_api(
        client, token, CREATE_USER, login="sidekick", roles=["security_admin"], password=None
    )
    takeover = await _admin_api(
        client, token, RESET, login="root@payroll.test", password=NEW_PASSWORD
    )
    # then: all refused and audited; the admin's password is unchanged
    for body in (grant, create, takeover):
        _refused(body)
    assert sorted(await _refusals(database, sysadmin)) == [
        "assignRoles",
        "createUser",
        "resetPassword",
    ]
    assert (await _login(client, "root@payroll.test", NEW_PASSWORD)).status_code == 401
    assert (await _login(client, "root@payroll.test")).status_code == 200


async def _enrolled(client: httpx.AsyncClient, login: str) -> tuple[str, str]:
    """A logged-in user with TOTP enabled: (access token, secret)."""
    token = await _token(client, login)
    bearer = {"Authorization": f"Bearer {token}"}
    enrolled = await client.post("/auth/totp/enroll", json={}, headers=bearer)
    assert enrolled.status_code == 200, enrolled.text
    uri = enrolled.json()["otpauthUri"]
    secret = pyotp.parse_uri(uri).secret
    code = pyotp.TOTP(secret).at(time.time() - 30)  # keeps the current step for the test
    confirmed = await client.post("/auth/totp/confirm", json={"code": code}, headers=bearer)
    assert confirmed.status_code == 204, confirmed.text
    return token, secret


async def test_wrong_totp_codes_count_toward_the_lockout(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given: a user with TOTP; the lockout is 3 attempts (tests/auth/conftest.py)
    await _user(database, settings, "totp1@payroll.test", "hr")
    _, secret = await _enrolled(client, "totp1@payroll.test")
    # when: the right password with wrong codes, three times
    for guess in ("000000", "111111", "222222"):
        assert (await _login(client, "totp1@payroll.test", totp=guess)).status_code == 401
    # then: locked — even the right code is refused now
    locked = await _login(client, "totp1@payroll.test", totp=pyotp.TOTP(secret).now())
    assert locked.json()["errors"][0]["extensions"]["code"] == "LOGIN_FAILED"
    reasons = await database.fetch(
        "SELECT data->>'reason' AS reason FROM rapport.audit_entries "
        "WHERE action IN ('auth.login_failed', 'auth.lockout') AND data->>'login' = $1",
        "totp1@payroll.test",
    )
    assert [r["reason"] for r in reasons].count("totp") == 3
    assert [r["reason"] for r in reasons][-1] == "locked"


async def test_a_stolen_access_token_cannot_replace_or_remove_the_second_factor(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given: the attacker holds the victim's access token, not its authenticator
    await _user(database, settings, "totp2@payroll.test", "hr")
    stolen, secret = await _enrolled(client, "totp2@payroll.test")
    bearer = {"Authorization": f"Bearer {stolen}"}
    # when
    enrol = await client.post("/auth/totp/enroll", json={}, headers=bearer)
    guess = await client.post("/auth/totp/enroll", json={"code": "123456"}, headers=bearer)
    disable = await client.post("/auth/totp/disable", json={"code": "123456"}, headers=bearer)
    # then: refused; the victim's factor is the same and still enabled
    assert enrol.status_code == guess.status_code == disable.status_code == 400
    row = await database.fetchrow(
        "SELECT totp_enabled, totp_pending FROM rapport.users WHERE login = 'totp2@payroll.test'"
    )
    assert row["totp_enabled"] is True and row["totp_pending"] is None
    ok = await _login(client, "totp2@payroll.test", totp=pyotp.TOTP(secret).now())
    assert ok.status_code == 200


async def test_a_totp_code_works_once(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given
    await _user(database, settings, "totp3@payroll.test", "hr")
    _, secret = await _enrolled(client, "totp3@payroll.test")
    code = pyotp.TOTP(secret).now()
    # when
    first = await _login(client, "totp3@payroll.test", totp=code)
    replay = await _login(client, "totp3@payroll.test", totp=code)
    # then
    assert first.status_code == 200
    assert replay.json()["errors"][0]["extensions"]["code"] == "LOGIN_FAILED"


async def test_a_lost_factor_is_reset_by_a_security_admin_audited(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given
    victim = await _user(database, settings, "totp4@payroll.test", "hr")
    old_token, _ = await _enrolled(client, "totp4@payroll.test")
    secadmin = await _user(database, settings, "helpdesk@payroll.test", "security_admin")
    token = await _token(client, "helpdesk@payroll.test")
    # when
    body = await _admin_api(
        client,
        token,
        'mutation { resetTotp(login: "totp4@payroll.test") { totpEnabled } }',
    )
    # then: reset, audited with the actor, and the victim's old sessions ended
    assert body["data"]["resetTotp"]["totpEnabled"] is False
    actor = await database.fetchval(
        "SELECT actor FROM rapport.audit_entries WHERE action = 'user.totp_reset' "
        "AND record_id = $1",
        victim,
    )
    assert actor == secadmin
    time.sleep(settings.identity.revocation_cache_seconds + 0.1)
    old = await client.post(
        "/graphql", json={"query": SALARIES}, headers={"Authorization": f"Bearer {old_token}"}
    )
    assert old.status_code == 401
    assert (await _login(client, "totp4@payroll.test")).status_code == 200


async def test_a_data_role_knocking_on_the_admin_api_is_refused_and_audited(
    client: httpx.AsyncClient, database: Database, settings: Settings, payroll: str
) -> None:
    # given: an hr user, who has data rights but no administrator role
    user_id = await _user(database, settings, "knocker", "hr")
    token = await _token(client, "knocker")

    # when: it asks the admin API for the tenant's users
    response = await client.post(
        "/graphql/admin",
        json={"query": "{ users { login roles } }"},
        headers={"Authorization": f"Bearer {token}"},
    )

    # then: FORBIDDEN with a hint, nothing listed, and the refusal is in the audit log
    assert response.status_code == 403, response.text
    _refused(response.json())
    assert "data" not in response.json() or not response.json()["data"]
    assert await _refusals(database, user_id) == ["admin_api"]
