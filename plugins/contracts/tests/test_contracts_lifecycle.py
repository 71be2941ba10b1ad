"""A contract's life after signing, over HTTP with real PostgreSQL, a real worker on a moved
clock and a local TSA: an amendment approved, rendered and signed by both parties (the original
kept in the evidence), the renewal decision drafting the successor, expiry without a decision
escalated, a contract unsigned one month after its start flagged (LCL art. 10/82), and a
termination issuing its notice linked to the exits separation."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from contracts_support import approve, contract_tenant, row_id, sign_document
from rapport_exits import plugin as exits_plugin
from tests.crypto.tsa import LocalTsa
from tests.erm_support import ErmTenant, GraphQLFailed, gql
from tests.jobs.support import WorkerProcess, eventually, move_clock

from rapport.cli import main
from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

HR, MANAGER, EMPLOYEE, BOSS = "u-hr", "u-hrm", "u-zhang", "u-boss"
CREATE = "mutation($i: ContractCreateInput!) { createContract(input: $i) { id } }"
AMEND = "mutation($i: AmendmentCreateInput!) { createAmendment(input: $i) { id revision previous status } }"
CONTRACT = "query($id: ID!) { contract(id: $id) { status revision workplace salary endDate signedAt previousContractId separationId expiryEscalated unsignedFlag } }"
DOCUMENTS = "query($id: ID!) { documents(where: {contractId: {_eq: $id}}, orderBy: [{createdAt: ASC}]) { edges { node { id kind status sha256 revision amendmentId separationId title } } } }"
SUCCESSOR = "query($id: ID!) { contracts(where: {previousContractId: {_eq: $id}}) { edges { node { id number status startDate endDate probationMonths workplace salary } } } }"
SUCCESSOR3 = "query($id: ID!) { contracts(where: {previousContractId: {_eq: $id}}) { edges { node { number contractType endDate startDate } } } }"
SEPARATE = "mutation($i: SeparationCreateInput!) { createSeparation(input: $i) { id } }"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as local:
        yield local


@pytest.fixture(scope="module")
async def erm(database: Database, tsa: LocalTsa) -> ErmTenant:
    return await contract_tenant(
        database, tsa, "life", employee_user=EMPLOYEE, signatory=BOSS, plugins=(exits_plugin,)
    )


class People:
    def __init__(self, erm: ErmTenant, settings: Settings) -> None:
        self.hr = erm.token(settings, HR, "hr")
        self.manager = erm.token(settings, MANAGER, "hr_manager")
        self.employee = erm.token(settings, EMPLOYEE, "employee")
        self.boss = erm.token(settings, BOSS, "hr_manager")
        self.parties = {"employee": (EMPLOYEE, self.employee), "employer": (BOSS, self.boss)}


async def _draft(
    client: httpx.AsyncClient, erm: ErmTenant, people: People, number: str, start: dt.date,
    end: dt.date,
) -> str:  # fmt: skip
    draft = {"number": number, "contractType": "fixed_term", "employeeId": await row_id(erm, "org_employee"),
             "employerId": await row_id(erm, "contracts_employer"), "templateId": await row_id(erm, "contracts_template"),
             "startDate": start.isoformat(), "endDate": end.isoformat(), "probationMonths": 1,
             "positionTitle": "软件工程师", "workplace": "上海", "salary": 12000}  # fmt: skip
    created: str = (await gql(client, CREATE, {"i": draft}, token=people.manager))[
        "createContract"
    ]["id"]
    return created


async def _active(
    client: httpx.AsyncClient, erm: ErmTenant, people: People, number: str, start: dt.date,
    end: dt.date,
) -> str:  # fmt: skip
    """A contract drafted, approved and signed by both parties."""
    contract = await _draft(client, erm, people, number, start, end)
    assert (
        await approve(client, people.manager, "Contract", contract, "issue", people.hr) == "signing"
    )
    document = await row_id(erm, "contracts_document", "contract_id = $1::uuid", contract)
    signed = await sign_document(client, erm, document, people.parties)
    assert signed["contractStatus"] == "active"
    return contract


async def _documents(
    client: httpx.AsyncClient, people: People, contract: str
) -> list[dict[str, Any]]:
    found = await gql(client, DOCUMENTS, {"id": contract}, token=people.hr)
    return [e["node"] for e in found["documents"]["edges"]]


async def _contract(client: httpx.AsyncClient, people: People, contract: str) -> dict[str, Any]:
    found: dict[str, Any] = (await gql(client, CONTRACT, {"id": contract}, token=people.manager))[
        "contract"
    ]
    return found


async def test_amendment_signed_by_both_keeps_the_original_in_the_evidence(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient, tmp_path: Path, tsa: LocalTsa
) -> None:
    people = People(erm, settings)
    start = dt.date.today()
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    contract = await _active(client, erm, people, "HT-A-001", start, end)
    [original] = await _documents(client, people, contract)
    amendment = {"contractId": contract, "reason": "调岗至北京研发中心", "effectiveDate": start.isoformat(),
                 "workplace": "北京", "salary": 15000}  # fmt: skip
    # an amendment that changes nothing, or a draft contract's, or an unlawful end, is refused
    with pytest.raises(GraphQLFailed, match="the amendment changes no term"):
        await gql(
            client,
            AMEND,
            {"i": {"contractId": contract, "reason": "x", "effectiveDate": start.isoformat()}},
            token=people.manager,
        )
    draft = await _draft(client, erm, people, "HT-A-002", start, end)
    with pytest.raises(GraphQLFailed, match="only a contract in force is amended"):
        await gql(client, AMEND, {"i": {**amendment, "contractId": draft}}, token=people.manager)
    with pytest.raises(GraphQLFailed, match="needs an end date after the start date"):
        await gql(
            client, AMEND, {"i": {**amendment, "endDate": start.isoformat()}}, token=people.manager
        )
    assert (
        await erm.db.fetchval(f'SELECT count(*) FROM "tenant_{erm.slug}".contracts_amendment') == 0
    )

    # given an amendment drafted, approved by an HR manager
    created = (await gql(client, AMEND, {"i": amendment}, token=people.manager))["createAmendment"]
    assert created["revision"] == 2 and created["previous"]["workplace"] == "上海"
    assert (
        await approve(client, people.manager, "Amendment", created["id"], "issue", people.hr)
        == "signing"
    )
    # then it has its own PDF to sign, the contract unchanged until both signed
    documents = await _documents(client, people, contract)
    assert [(d["kind"], d["status"], d["revision"]) for d in documents] == [
        ("contract", "signed", 1),
        ("amendment", "signing", 2),
    ]
    assert documents[1]["amendmentId"] == created["id"]
    assert (await _contract(client, people, contract))["workplace"] == "上海"
    # a second amendment cannot be issued while this one is being signed
    other = (
        await gql(client, AMEND, {"i": {**amendment, "workplace": "深圳"}}, token=people.manager)
    )["createAmendment"]
    with pytest.raises(GraphQLFailed, match="another amendment of this contract is being signed"):
        await approve(client, people.manager, "Amendment", other["id"], "issue", people.hr)
    # when both parties sign it, the contract takes the new terms as revision 2
    signed = await sign_document(client, erm, documents[1]["id"], people.parties)
    assert signed["contractStatus"] == "active"
    now = await _contract(client, people, contract)
    assert (now["workplace"], now["revision"], now["salary"]) == ("北京", 2, "15000.00")
    # and the original PDF and its signatures stay as they were, in the evidence with the amendment
    first = next(d for d in await _documents(client, people, contract) if d["kind"] == "contract")
    assert first == original
    response = await client.get(
        f"/download/contracts/evidence/{contract}", headers={"Authorization": f"Bearer {people.hr}"}
    )
    assert response.status_code == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("manifest.json"))
    assert sorted(f["path"].split("-")[0] for f in manifest["files"]) == [
        "files/amendment",
        "files/contract",
    ]
    assert len(manifest["statements"]) == 4
    package = tmp_path / "amended.zip"
    package.write_bytes(response.content)
    cert = tmp_path / "tsa.pem"
    cert.write_bytes(tsa.certificate_pem)
    assert main(["evidence", "verify", str(package), "--tsa-cert", str(cert)]) == 0


async def test_renewal_expiry_unsigned_flag_and_termination_on_a_moved_clock(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient, database_url: str,
    clean_redis: str, tmp_path: Path,
) -> None:  # fmt: skip
    people = People(erm, settings)
    start = dt.date.today()
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    # given: one contract HR decides to renew, one left without a decision, one never signed
    renewed = await _active(client, erm, people, "HT-R-001", start, end)
    undecided = await _active(client, erm, people, "HT-U-001", start, end)
    unsigned = await _draft(client, erm, people, "HT-N-001", start, end)
    assert (
        await approve(client, people.manager, "Contract", renewed, "renew", people.hr) == "renewing"
    )
    # then the decision drafts the successor from the predecessor's terms
    [successor] = [
        e["node"]
        for e in (await gql(client, SUCCESSOR, {"id": renewed}, token=people.manager))["contracts"][
            "edges"
        ]
    ]
    following = end + dt.timedelta(days=1)
    assert successor == {
        "id": successor["id"], "number": "HT-R-001-R2", "status": "draft",
        "startDate": following.isoformat(),
        "endDate": (following.replace(year=following.year + 1) - dt.timedelta(days=1)).isoformat(),
        "probationMonths": 0, "workplace": "上海", "salary": "12000.00",
    }  # fmt: skip
    # and renewing the renewal (a second consecutive fixed term) drafts a non-fixed-term contract
    # (LCL art. 14(3))
    assert (
        await approve(client, people.manager, "Contract", successor["id"], "issue", people.hr)
        == "signing"
    )
    second = await row_id(erm, "contracts_document", "contract_id = $1::uuid", successor["id"])
    assert (await sign_document(client, erm, second, people.parties))["contractStatus"] == "active"
    assert (
        await approve(client, people.manager, "Contract", successor["id"], "renew", people.hr)
        == "renewing"
    )
    third = await gql(client, SUCCESSOR3, {"id": successor["id"]}, token=people.manager)
    assert [e["node"] for e in third["contracts"]["edges"]] == [
        {"number": "HT-R-001-R3", "contractType": "open_ended", "endDate": None,
         "startDate": (following.replace(year=following.year + 1)).isoformat()}
    ]  # fmt: skip
    # a second decision is refused (the predecessor is no longer active)
    with pytest.raises(GraphQLFailed) as again:
        await gql(
            client,
            'mutation($id: ID!) { transitionContract(id: $id, transition: "renew") { state } }',
            {"id": renewed},
            token=people.hr,
        )

    assert again.value.codes == ["TRANSITION_NOT_ALLOWED"]
    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis, RAPPORT_TEST_CLOCK="1"):
        # when the clock moves past one month after the start, the unsigned contract is flagged
        sign_by = dt.datetime.combine(start, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(days=32)
        await move_clock(erm.db, sign_by)

        async def flagged() -> bool:
            return bool((await _contract(client, people, unsigned))["unsignedFlag"])

        await eventually(flagged, timeout=30)
        assert not (await _contract(client, people, undecided))["unsignedFlag"]
        told = await erm.db.fetchval(
            f'SELECT count(*) FROM "tenant_{erm.slug}".core_notification WHERE link LIKE $1 '
            "AND title LIKE '用工满一个月仍未签订书面劳动合同%'", f"%{unsigned}%",
        )  # fmt: skip
        assert told >= 1
        assert (await _contract(client, people, undecided))["expiryEscalated"] is False

        # when it moves past the end date: the undecided one escalates, the renewed one expires
        await move_clock(
            erm.db, dt.datetime.combine(end, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(days=2)
        )

        async def ended() -> bool:
            return (await _contract(client, people, renewed))["status"] == "expired" and bool(
                (await _contract(client, people, undecided))["expiryEscalated"]
            )

        await eventually(ended, timeout=30)
        escalated = await erm.db.fetch(
            f'SELECT recipient FROM "tenant_{erm.slug}".core_notification WHERE link LIKE $1 '
            "AND title LIKE '劳动合同已到期但未作续签决定%'", f"%{undecided}%",
        )  # fmt: skip
        assert [r["recipient"] for r in escalated] == ["role:hr_manager"]

    # when the employee resigns (exits) and HR terminates the undecided contract
    separation = (await gql(client, SEPARATE, {"i": {
        "employeeId": await row_id(erm, "org_employee"), "type": "resignation",
        "noticeGivenOn": start.isoformat(), "lastWorkingDay": (start + dt.timedelta(days=30)).isoformat(),
    }}, token=people.hr))["createSeparation"]["id"]  # fmt: skip
    # a termination without its date and ground is refused
    with pytest.raises(GraphQLFailed) as bare:
        await gql(
            client,
            'mutation($id: ID!) { transitionContract(id: $id, transition: "terminate") { state } }',
            {"id": undecided},
            token=people.hr,
        )
    assert "field terminationDate must have a value" in str(bare.value)
    await gql(client, "mutation($id: ID!, $i: ContractUpdateInput!) { updateContract(id: $id, input: $i) { id } }",
              {"id": undecided, "i": {"terminationDate": (start + dt.timedelta(days=30)).isoformat(),
                                      "terminationReason": "employee_37", "terminationNote": "本人辞职"}},
              token=people.manager)  # fmt: skip
    assert (
        await approve(client, people.manager, "Contract", undecided, "terminate", people.hr)
        == "terminated"
    )
    # then the notice is a PDF of its own, linked to the separation, in the evidence
    notice = next(
        d for d in await _documents(client, people, undecided) if d["kind"] == "termination"
    )
    assert (notice["status"], notice["separationId"]) == ("issued", separation)
    assert notice["title"] == "解除/终止劳动合同通知书 / Notice of termination HT-U-001"
    assert (await _contract(client, people, undecided))["separationId"] == separation
    pdf = await erm.db.fetchval(
        f"SELECT decode(pdf, 'base64') FROM \"tenant_{erm.slug}\".contracts_document WHERE id = $1::uuid",
        notice["id"],
    )
    assert bytes(pdf).startswith(b"%PDF")


async def test_terminating_a_contract_being_renewed_cancels_its_unsigned_successor(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    # given: a contract HR decided to renew, with its successor drafted
    people = People(erm, settings)
    start = dt.date.today()
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    contract = await _active(client, erm, people, "HT-T-001", start, end)
    assert (
        await approve(client, people.manager, "Contract", contract, "renew", people.hr)
        == "renewing"
    )
    [successor] = [
        e["node"]["id"]
        for e in (await gql(client, SUCCESSOR, {"id": contract}, token=people.manager))[
            "contracts"
        ]["edges"]
    ]
    # when: HR terminates it before its end
    terms = {"terminationDate": (start + dt.timedelta(days=60)).isoformat(),
             "terminationReason": "mutual_36", "terminationNote": "协商一致"}  # fmt: skip
    await gql(
        client,
        "mutation($id: ID!, $i: ContractUpdateInput!) { updateContract(id: $id, input: $i) { id } }",
        {"id": contract, "i": terms},
        token=people.manager,
    )
    assert (
        await approve(client, people.manager, "Contract", contract, "terminate", people.hr)
        == "terminated"
    )
    # then: the successor is cancelled through its workflow, with the reason in its history
    assert (await _contract(client, people, successor))["status"] == "cancelled"
    moved = await erm.db.fetchrow(
        "SELECT transition, from_state, to_state, comment FROM rapport.workflow_history "
        "WHERE record_id = $1::uuid ORDER BY at DESC, id DESC LIMIT 1",
        successor,
    )
    assert moved is not None
    assert (moved["transition"], moved["from_state"], moved["to_state"]) == (
        "cancel",
        "draft",
        "cancelled",
    )
    assert contract in moved["comment"]


async def test_an_amendment_signed_before_its_date_takes_effect_on_that_date(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    # given: an active contract and a raise agreed to apply from the first of a later month
    people = People(erm, settings)
    start = dt.date.today()
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    contract = await _active(client, erm, people, "HT-D-001", start, end)
    on = (start.replace(day=1) + dt.timedelta(days=40)).replace(day=1)
    raise_ = {"contractId": contract, "reason": "年度调薪", "effectiveDate": on.isoformat(),
              "salary": 13500}  # fmt: skip
    created = (await gql(client, AMEND, {"i": raise_}, token=people.manager))["createAmendment"]
    assert (
        await approve(client, people.manager, "Amendment", created["id"], "issue", people.hr)
        == "signing"
    )
    document = next(
        d for d in await _documents(client, people, contract) if d["kind"] == "amendment"
    )
    # when both sign it today
    assert (await sign_document(client, erm, document["id"], people.parties))[
        "contractStatus"
    ] == "active"
    # then it waits for its date: the contract keeps its salary, no other amendment is issued
    status = f'SELECT status FROM "tenant_{erm.slug}".contracts_amendment WHERE id = $1::uuid'
    assert await erm.db.fetchval(status, created["id"]) == "signed"
    before = await _contract(client, people, contract)
    assert (before["salary"], before["revision"]) == ("12000.00", 1)
    other = (await gql(client, AMEND, {"i": {**raise_, "salary": 14000}}, token=people.manager))[
        "createAmendment"
    ]
    with pytest.raises(GraphQLFailed, match="waits for its effective date"):
        await approve(client, people.manager, "Amendment", other["id"], "issue", people.hr)
    # and the day before its date nothing changes; on its date the contract takes the terms
    await sweep_sla(
        erm.db, dt.datetime.combine(on, dt.time(0), dt.UTC) - dt.timedelta(minutes=1),
        participants=KERNEL.participants,
    )  # fmt: skip
    assert await erm.db.fetchval(status, created["id"]) == "signed"
    await sweep_sla(
        erm.db, dt.datetime.combine(on, dt.time(0, 1), dt.UTC), participants=KERNEL.participants
    )
    assert await erm.db.fetchval(status, created["id"]) == "effective"
    after = await _contract(client, people, contract)
    assert (after["salary"], after["revision"]) == ("13500.00", 2)
