"""What the contracts tests share: a tenant with an employer, a template and a local TSA, and
the signing ceremony over HTTP for every party of a document."""

from __future__ import annotations

import re
from typing import Any

import httpx
from rapport_contracts import plugin as contracts_plugin
from rapport_org import plugin as org_plugin
from tests.crypto.tsa import LocalTsa
from tests.erm_support import ErmTenant, gql, setup_tenant

from rapport.db.database import Database
from rapport.plugins import PluginSpec

__all__ = [
    "APPROVE",
    "INBOX",
    "TEMPLATE",
    "TRANSITION",
    "approve",
    "code_of",
    "contract_tenant",
    "row_id",
    "sign_document",
]

TEMPLATE = """甲方（用人单位）：{{employerName}}，统一社会信用代码 {{creditCode}}
乙方（劳动者）：{{employeeName}}
合同类型：{{contractType}}，自 {{startDate}} 起至 {{endDate}} 止，试用期 {{probationMonths}} 个月。
工作岗位：{{position}}；工作地点：{{workplace}}；工时制度：{{workingHours}}。
劳动报酬：每{{salaryPeriod}} {{salary}} 元。"""
TRANSITION = "mutation($id: ID!, $t: String!) {{ transition{0}(id: $id, transition: $t) {{ state approvalRequest }} }}"
INBOX = "{ myApprovals { id recordId transition } }"
APPROVE = "mutation($t: ID!) { approve(taskId: $t) { status state } }"
SIGNATURES = "query($d: ID!) { signatures(where: {documentId: {_eq: $d}}) { edges { node { id party signerUserId } } } }"
START = "mutation($s: ID!) { startContractSigning(signatureId: $s) { method documentSha256 } }"
SIGN = "mutation($s: ID!, $i: ContractSignInput!) { signContract(signatureId: $s, input: $i) { contractStatus auditSeq statementSha256 } }"


async def contract_tenant(
    database: Database, tsa: LocalTsa, prefix: str, *, employee_user: str, signatory: str,
    plugins: tuple[PluginSpec, ...] = (),
) -> ErmTenant:  # fmt: skip
    erm = await setup_tenant(database, [org_plugin, *plugins, contracts_plugin], prefix)
    await erm.create("org/employee", {"name": "张三", "userId": employee_user})
    await erm.create(
        "contracts/employer",
        {
            "name": "示例科技有限公司",
            "creditCode": "91310000MA1FL0000X",
            "signatoryUserId": signatory,
        },
    )
    await erm.create(
        "contracts/template",
        {"name": "标准固定期限", "contractType": "fixed_term", "title": "劳动合同 {{contractNumber}}",
         "body": TEMPLATE},
    )  # fmt: skip
    await erm.create(
        "contracts/contract_settings",
        {"tsaUrl": tsa.url, "tsaCertificate": tsa.certificate_pem.decode()},
    )
    return erm


async def row_id(erm: ErmTenant, table: str, where: str = "true", *args: Any) -> str:
    found: str = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".{table} WHERE {where} ORDER BY created_at DESC LIMIT 1',
        *args,
    )
    return found


async def code_of(erm: ErmTenant, user: str) -> str:
    """The newest one-time signing code sent to ``user`` (read from their in-app inbox)."""
    body = await erm.db.fetchval(
        f'SELECT body FROM "tenant_{erm.slug}".core_notification WHERE recipient = $1 '
        "AND title LIKE '合同签署验证码%' ORDER BY created_at DESC LIMIT 1", user,
    )  # fmt: skip
    match = re.search(r"(\d{6})", body or "")
    assert match, body
    return match.group(1)


async def approve(
    client: httpx.AsyncClient, approver: str, type_name: str, record: str, transition: str,
    requester: str,
) -> str:  # fmt: skip
    """Request ``transition`` of the ``type_name`` (``Contract``) as ``requester`` and approve
    it as ``approver``; the record's new state."""
    mutation = TRANSITION.format(type_name)
    asked = await gql(client, mutation, {"id": record, "t": transition}, token=requester)
    assert asked[f"transition{type_name}"]["approvalRequest"], asked
    tasks = [
        t
        for t in (await gql(client, INBOX, token=approver))["myApprovals"]
        if t["recordId"] == record
    ]
    state: str = (await gql(client, APPROVE, {"t": tasks[0]["id"]}, token=approver))["approve"][
        "state"
    ]
    return state


async def sign_document(
    client: httpx.AsyncClient, erm: ErmTenant, document: str, tokens: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """Both parties sign ``document`` with a one-time code (``tokens``: party -> (user, token));
    the last answer of signContract."""
    found = await gql(client, SIGNATURES, {"d": document}, token=tokens["employer"][1])
    done: dict[str, Any] = {}
    for edge in found["signatures"]["edges"]:
        signature = edge["node"]
        user, token = tokens[signature["party"]]
        started = (await gql(client, START, {"s": signature["id"]}, token=token))[
            "startContractSigning"
        ]
        given = {"code": await code_of(erm, user), "documentSha256": started["documentSha256"],
                 "consent": True, "typedName": user}  # fmt: skip
        done = (await gql(client, SIGN, {"s": signature["id"], "i": given}, token=token))[
            "signContract"
        ]
    return done
