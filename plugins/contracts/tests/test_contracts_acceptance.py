"""Acceptance over HTTP with real PostgreSQL, a real worker and a local TSA: a contract drafted
from a template is approved, signed by both parties in the signing ceremony, and its evidence
package verifies offline — and fails after one byte of the PDF or one audit entry changes. The
30-day reminder fires when the clock moves to its date."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from contracts_support import code_of, contract_tenant, row_id
from tests.crypto.tsa import LocalTsa
from tests.erm_support import ErmTenant, GraphQLFailed, gql
from tests.jobs.support import WorkerProcess, eventually, move_clock

from rapport.cli import main
from rapport.db.database import Database
from rapport.settings import Settings

HR, MANAGER, EMPLOYEE, BOSS = "u-hr", "u-hrm", "u-zhang", "u-boss"
CREATE = "mutation($i: ContractCreateInput!) { createContract(input: $i) { id firstReminderOn secondReminderOn signDeadline probationEndDate } }"
TRANSITION = "mutation($id: ID!, $t: String!) { transitionContract(id: $id, transition: $t) { state approvalRequest } }"
INBOX = "{ myApprovals { id recordId transition } }"
APPROVE = "mutation($t: ID!) { approve(taskId: $t) { status state } }"
DOCUMENTS = "query($id: ID!) { documents(where: {contractId: {_eq: $id}}) { edges { node { id sha256 pdf } } } }"
SIGNATURES = "query($id: ID!) { signatures(where: {contractId: {_eq: $id}}) { edges { node { id party signerUserId status } } } }"
START = "mutation($s: ID!) { startContractSigning(signatureId: $s) { method documentSha256 } }"
SIGN = "mutation($s: ID!, $i: ContractSignInput!) { signContract(signatureId: $s, input: $i) { contractStatus auditSeq statementSha256 } }"
SALARY = "query($id: ID!) { contract(id: $id) { salary status signedAt } }"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as local:
        yield local


@pytest.fixture(scope="module")
async def erm(database: Database, tsa: LocalTsa) -> ErmTenant:
    return await contract_tenant(database, tsa, "con", employee_user=EMPLOYEE, signatory=BOSS)


def _rewrite(package: bytes, name: str, change: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            target.writestr(item, change if item == name else source.read(item))
    return out.getvalue()


async def test_draft_sign_evidence_and_the_30_day_reminder(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient, database_url: str,
    clean_redis: str, tmp_path: Path, tsa: LocalTsa,
) -> None:  # fmt: skip
    hr, manager = erm.token(settings, HR, "hr"), erm.token(settings, MANAGER, "hr_manager")
    employee, boss = (
        erm.token(settings, EMPLOYEE, "employee"),
        erm.token(settings, BOSS, "hr_manager"),
    )
    start = dt.date.today()
    end = start.replace(year=start.year + 2) - dt.timedelta(days=1)  # a two-year term
    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
        # given an HR manager (who may write the salary) drafts a contract from the template; a
        # probation longer than LCL art. 19 allows is refused first
        draft = {"number": "HT-2026-001", "contractType": "fixed_term", "employeeId": await row_id(erm, "org_employee"),
                 "employerId": await row_id(erm, "contracts_employer"), "templateId": await row_id(erm, "contracts_template"),
                 "startDate": start.isoformat(), "endDate": end.isoformat(), "probationMonths": 6,
                 "positionTitle": "软件工程师", "workplace": "上海", "workingHours": "standard", "salary": 12000}  # fmt: skip
        with pytest.raises(
            GraphQLFailed, match=r"at most 2 months of probation for this term \(LCL art. 19\)"
        ):
            await gql(client, CREATE, {"i": draft}, token=manager)
        created = (
            await gql(client, CREATE, {"i": {**draft, "probationMonths": 2}}, token=manager)
        )["createContract"]
        contract = created["id"]
        assert created["secondReminderOn"] == (end - dt.timedelta(days=30)).isoformat()
        assert created["firstReminderOn"] == (end - dt.timedelta(days=60)).isoformat()
        assert created["signDeadline"] > start.isoformat()
        # the salary is sealed at rest and masked for HR staff
        stored = await erm.db.fetchval(
            f'SELECT salary FROM "tenant_{erm.slug}".contracts_contract WHERE id = $1::uuid',
            contract,
        )
        assert b"12000" not in bytes(stored)

        # when HR issues it and an HR manager approves
        issued = await gql(client, TRANSITION, {"id": contract, "t": "issue"}, token=hr)
        assert issued["transitionContract"]["approvalRequest"]
        tasks = [
            t
            for t in (await gql(client, INBOX, token=manager))["myApprovals"]
            if t["recordId"] == contract
        ]
        assert (await gql(client, APPROVE, {"t": tasks[0]["id"]}, token=manager))["approve"][
            "state"
        ] == "signing"

        # then the exact PDF is stored with its SHA-256 and both parties have a signature to give
        documents = (await gql(client, DOCUMENTS, {"id": contract}, token=employee))["documents"][
            "edges"
        ]
        pdf = base64.b64decode(documents[0]["node"]["pdf"])
        assert (
            pdf.startswith(b"%PDF")
            and hashlib.sha256(pdf).hexdigest() == documents[0]["node"]["sha256"]
        )
        signatures = {
            e["node"]["party"]: e["node"]
            for e in (await gql(client, SIGNATURES, {"id": contract}, token=hr))["signatures"][
                "edges"
            ]
        }
        assert {p: s["signerUserId"] for p, s in signatures.items()} == {
            "employee": EMPLOYEE,
            "employer": BOSS,
        }

        # when the employee starts signing, a one-time code reaches them through the notifications
        started = (await gql(client, START, {"s": signatures["employee"]["id"]}, token=employee))[
            "startContractSigning"
        ]
        assert started == {"method": "CODE", "documentSha256": documents[0]["node"]["sha256"]}
        code = await code_of(erm, EMPLOYEE)
        sign = {
            "code": code,
            "documentSha256": started["documentSha256"],
            "consent": True,
            "typedName": "张三",
        }
        # someone else cannot use it, a wrong code or the hash of another PDF is refused
        with pytest.raises(GraphQLFailed) as other:
            await gql(client, SIGN, {"s": signatures["employee"]["id"], "i": sign}, token=boss)
        assert other.value.codes == ["NOT_FOUND"]
        with pytest.raises(GraphQLFailed) as wrong:
            await gql(
                client,
                SIGN,
                {
                    "s": signatures["employee"]["id"],
                    "i": {**sign, "code": "000000" if code != "000000" else "111111"},
                },
                token=employee,
            )
        assert wrong.value.codes == ["FORBIDDEN"]
        with pytest.raises(GraphQLFailed, match="is not the SHA-256 of the document to sign"):
            await gql(
                client,
                SIGN,
                {"s": signatures["employee"]["id"], "i": {**sign, "documentSha256": "0" * 64}},
                token=employee,
            )
        # a TSA that is down refuses the signature and writes nothing
        tsa.refuse = True
        try:
            with pytest.raises(GraphQLFailed) as down:
                await gql(
                    client, SIGN, {"s": signatures["employee"]["id"], "i": sign}, token=employee
                )
            assert down.value.codes == ["TIMESTAMP_FAILED"]
        finally:
            tsa.refuse = False
        signed = (
            await gql(client, SIGN, {"s": signatures["employee"]["id"], "i": sign}, token=employee)
        )["signContract"]
        assert signed["contractStatus"] == "signing"

        # when the employer's signatory signs too
        await gql(client, START, {"s": signatures["employer"]["id"]}, token=boss)
        boss_sign = {**sign, "code": await code_of(erm, BOSS), "typedName": "李四（代表甲方）"}
        done = (
            await gql(client, SIGN, {"s": signatures["employer"]["id"], "i": boss_sign}, token=boss)
        )["signContract"]
        assert done["contractStatus"] == "active"
        facts = await erm.db.fetchrow(
            f'SELECT client_address, user_agent, timestamp_token FROM "tenant_{erm.slug}".contracts_signature WHERE id = $1::uuid',
            signatures["employer"]["id"],
        )
        assert facts["client_address"] == "127.0.0.1" and "python-httpx" in facts["user_agent"]
        entry = await erm.db.fetchrow(
            "SELECT actor, data FROM rapport.audit_entries WHERE tenant_id = $1::uuid AND tenant_seq = $2",
            erm.tenant_id,
            done["auditSeq"],
        )
        assert (
            entry["actor"] == BOSS
            and json.loads(entry["data"])["statementSha256"] == done["statementSha256"]
        )

    # then the evidence package is one download over HTTP: a zip file, its download audited
    url = f"/download/contracts/evidence/{contract}"
    response = await client.get(url, headers={"Authorization": f"Bearer {employee}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == (
        'attachment; filename="contract-HT-2026-001-evidence.zip"; '
        "filename*=UTF-8''contract-HT-2026-001-evidence.zip"
    )
    package = response.content
    assert hashlib.sha256(package).hexdigest() == response.headers["x-content-sha256"]
    taken = await erm.db.fetchrow(
        "SELECT actor, data FROM rapport.audit_entries WHERE tenant_id = $1::uuid "
        "AND action = 'download' AND record_id = $2",
        erm.tenant_id,
        contract,
    )
    assert taken["actor"] == EMPLOYEE
    assert json.loads(taken["data"])["sha256"] == hashlib.sha256(package).hexdigest()
    # which verifies offline, and fails after one changed byte
    good = tmp_path / "contract-HT-2026-001-evidence.zip"
    good.write_bytes(package)
    cert = tmp_path / "tsa.pem"
    cert.write_bytes(tsa.certificate_pem)
    assert main(["evidence", "verify", str(good), "--tsa-cert", str(cert)]) == 0
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    pdf_name = next(n for n in names if n.endswith(".pdf"))
    changed = bytearray(zipfile.ZipFile(io.BytesIO(package)).read(pdf_name))
    changed[len(changed) // 2] ^= 0x01
    bad_pdf = tmp_path / "bad-pdf.zip"
    bad_pdf.write_bytes(_rewrite(package, pdf_name, bytes(changed)))
    assert main(["evidence", "verify", str(bad_pdf)]) == 1
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(package)).read("manifest.json"))
    sign_entry = next(
        e for e in manifest["audit"]["entries"] if '"contracts.sign"' in e["canonical"]
    )
    sign_entry["canonical"] = sign_entry["canonical"].replace(
        f'"actor":"{EMPLOYEE}"', '"actor":"u-someone"'
    )
    bad_audit = tmp_path / "bad-audit.zip"
    bad_audit.write_bytes(_rewrite(package, "manifest.json", json.dumps(manifest).encode()))
    assert main(["evidence", "verify", str(bad_audit)]) == 1
    # another employee, no login, an unknown download: refused, and nothing handed out is audited
    other = erm.token(settings, "u-other", "employee")
    foreign = await client.get(url, headers={"Authorization": f"Bearer {other}"})
    assert (
        foreign.status_code == 403
        and foreign.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    )
    assert (await client.get(url)).status_code == 401
    unknown = await client.get(
        f"/download/contracts/nothing/{contract}", headers={"Authorization": f"Bearer {hr}"}
    )
    assert unknown.status_code == 404
    assert (
        await erm.db.fetchval(
            "SELECT count(*) FROM rapport.audit_entries WHERE tenant_id = $1::uuid AND action = 'download'",
            erm.tenant_id,
        )
        == 1
    )

    # when the worker's clock moves to a day before the 30-day reminder, only the 60-day one fires
    second = dt.datetime.combine(end - dt.timedelta(days=30), dt.time(), tzinfo=dt.UTC)

    async def titles() -> list[str]:
        rows = await erm.db.fetch(
            f'SELECT title FROM "tenant_{erm.slug}".core_notification WHERE link LIKE $1',
            f"%{contract}%",
        )
        return [r["title"] for r in rows if "到期" in r["title"]]

    thirty = "劳动合同30天内到期，尚未作出续签决定 / A labour contract ends within 30 days without a renewal decision"
    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis, RAPPORT_TEST_CLOCK="1"):
        await move_clock(erm.db, second - dt.timedelta(days=1))
        sixty = await eventually(lambda: _matching(titles, "劳动合同即将到期"), timeout=30)
        assert len(sixty) == 1 and thirty not in await titles()
        # and when it reaches the 30-day date, the second reminder fires, once to each role
        await move_clock(erm.db, second + dt.timedelta(hours=1))
        await eventually(lambda: _matching(titles, thirty), timeout=30)
        told = await erm.db.fetch(
            f'SELECT recipient FROM "tenant_{erm.slug}".core_notification WHERE link LIKE $1 AND title = $2',
            f"%{contract}%",
            thirty,
        )
        assert sorted(r["recipient"] for r in told) == ["role:hr", "role:hr_manager"]


async def _matching(titles: Any, prefix: str) -> list[str]:
    return [t for t in await titles() if t.startswith(prefix)]
