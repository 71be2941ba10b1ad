"""The signing ceremony's second factor over HTTP: a signer with an authenticator signs with a
fresh TOTP code (a wrong, old or replayed one is refused); a one-time code sent to the signer
expires after 10 minutes and allows 5 tries. Real PostgreSQL, a real login, a local TSA."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pyotp
import pytest
from contracts_support import approve, code_of, contract_tenant, row_id
from tests.crypto.tsa import LocalTsa
from tests.erm_support import ErmTenant, GraphQLFailed, gql

from rapport.auth.users import create_user
from rapport.db.database import Database
from rapport.settings import Settings

BOSS, MANAGER = "u-boss", "u-hrm"
PASSWORD = "Correct-Horse-42!"
START = "mutation($s: ID!) { startContractSigning(signatureId: $s) { method documentSha256 expiresAt } }"
SIGN = "mutation($s: ID!, $i: ContractSignInput!) { signContract(signatureId: $s, input: $i) { contractStatus } }"
CREATE = "mutation($i: ContractCreateInput!) { createContract(input: $i) { id } }"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as local:
        yield local


@pytest.fixture(scope="module")
async def erm(database: Database, tsa: LocalTsa, settings: Settings) -> ErmTenant:
    erm = await contract_tenant(database, tsa, "sig", employee_user="placeholder", signatory=BOSS)
    user = await create_user(
        database, settings.identity, tenant=erm.slug, login="wang@example.com",
        roles=["employee"], password=PASSWORD, actor="test",
    )  # fmt: skip
    await erm.db.execute(f'UPDATE "tenant_{erm.slug}".org_employee SET user_id = $1', user.id)
    return erm


async def _login(client: httpx.AsyncClient, erm: ErmTenant) -> tuple[str, str, str]:
    """The employee logged in with TOTP enrolled: (access token, secret, the code used)."""
    login = {"tenant": erm.slug, "login": "wang@example.com", "password": PASSWORD}
    token = (await client.post("/auth/login", json=login)).json()["accessToken"]
    bearer = {"Authorization": f"Bearer {token}"}
    enrolled = await client.post("/auth/totp/enroll", json={}, headers=bearer)
    assert enrolled.status_code == 200, enrolled.text
    secret = pyotp.parse_uri(enrolled.json()["otpauthUri"]).secret
    code = pyotp.TOTP(secret).at(time.time() - 30)  # leaves the current step unused
    confirmed = await client.post("/auth/totp/confirm", json={"code": code}, headers=bearer)
    assert confirmed.status_code == 204, confirmed.text
    return token, secret, code


async def test_totp_and_one_time_codes(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    employee, secret, used = await _login(client, erm)
    manager, boss = (
        erm.token(settings, MANAGER, "hr_manager"),
        erm.token(settings, BOSS, "hr_manager"),
    )
    start = dt.date.today()
    draft = {"number": "HT-T-001", "contractType": "fixed_term", "employeeId": await row_id(erm, "org_employee"),
             "employerId": await row_id(erm, "contracts_employer"), "templateId": await row_id(erm, "contracts_template"),
             "startDate": start.isoformat(), "endDate": (start + dt.timedelta(days=400)).isoformat(), "salary": 9000}  # fmt: skip
    contract = (await gql(client, CREATE, {"i": draft}, token=manager))["createContract"]["id"]
    hr = erm.token(settings, "u-hr", "hr")
    assert await approve(client, manager, "Contract", contract, "issue", hr) == "signing"
    mine = await row_id(
        erm, "contracts_signature", "contract_id = $1::uuid AND party = 'employee'", contract
    )
    theirs = await row_id(
        erm, "contracts_signature", "contract_id = $1::uuid AND party = 'employer'", contract
    )

    # the signer with an authenticator is challenged for TOTP: no code is sent
    started = (await gql(client, START, {"s": mine}, token=employee))["startContractSigning"]
    assert started["method"] == "TOTP"
    sent = f"SELECT count(*) FROM \"tenant_{erm.slug}\".core_notification WHERE title LIKE '合同签署验证码%'"
    assert await erm.db.fetchval(sent) == 0
    given = {"documentSha256": started["documentSha256"], "consent": True, "typedName": "王五"}
    totp = pyotp.TOTP(secret)
    # a wrong code, an old one (three steps ago) and the one used at enrolment are refused
    for code in ("000000" if totp.now() != "000000" else "111111",
                 totp.at(time.time() - 90), used):  # fmt: skip
        with pytest.raises(GraphQLFailed) as refused:
            await gql(client, SIGN, {"s": mine, "i": {**given, "code": code}}, token=employee)
        assert refused.value.codes == ["FORBIDDEN"]
    status = f'SELECT status, challenge_attempts FROM "tenant_{erm.slug}".contracts_signature WHERE id = $1::uuid'
    assert tuple(await erm.db.fetchrow(status, mine)) == ("pending", 3)
    # a fresh code signs, and cannot be used again
    code = totp.now()
    signed = (await gql(client, SIGN, {"s": mine, "i": {**given, "code": code}}, token=employee))[
        "signContract"
    ]
    assert signed["contractStatus"] == "signing"
    assert (await erm.db.fetchrow(status, mine))["status"] == "signed"

    # the employer's signatory has no authenticator: a one-time code, sent to them
    started = (await gql(client, START, {"s": theirs}, token=boss))["startContractSigning"]
    assert started["method"] == "CODE"
    code = await code_of(erm, BOSS)
    given = {**given, "typedName": "李四", "code": code}
    # ten minutes later it has expired (the challenge's deadline moved to the past)
    await erm.db.execute(
        f"UPDATE \"tenant_{erm.slug}\".contracts_signature SET challenge_expires_at = now() - interval '1 second' WHERE id = $1::uuid",
        theirs,
    )
    with pytest.raises(GraphQLFailed) as expired:
        await gql(client, SIGN, {"s": theirs, "i": given}, token=boss)
    assert expired.value.codes == ["FORBIDDEN"]
    # a new code; five wrong tries use the challenge up, so even the right code is refused then
    await gql(client, START, {"s": theirs}, token=boss)
    code = await code_of(erm, BOSS)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(GraphQLFailed):
            await gql(client, SIGN, {"s": theirs, "i": {**given, "code": wrong}}, token=boss)
    with pytest.raises(GraphQLFailed) as used_up:
        await gql(client, SIGN, {"s": theirs, "i": {**given, "code": code}}, token=boss)
    assert used_up.value.codes == ["FORBIDDEN"]
    # starting again sends a fresh code, which signs
    await gql(client, START, {"s": theirs}, token=boss)
    done = await gql(
        client, SIGN, {"s": theirs, "i": {**given, "code": await code_of(erm, BOSS)}}, token=boss
    )
    assert done["signContract"]["contractStatus"] == "active"
