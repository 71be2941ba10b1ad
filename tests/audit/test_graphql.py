"""Audit queries: the audit admin filters entries and checks inclusion proofs offline, against
its own tenant's log: no number it sees counts another tenant's events."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rapport.audit.checkpoints import default_signer, write_current_checkpoint
from rapport.audit.log import append_entry
from rapport.audit.merkle import verify_inclusion
from rapport.graphql.request import GraphQLRequest
from rapport.principal import Principal
from tests.crypto.conftest import World, world  # noqa: F401 - the shared tenant fixture

AUDITOR = Principal(tenant="secrets", subject="audrey", roles=frozenset({"audit_admin"}))
ADMIN = Principal(tenant="secrets", subject="alice", roles=frozenset({"admin"}))
ENTRIES = """query($f: AuditFilter) { auditEntries(filter: $f, first: 10) {
  seq actor action entity recordId data leafHash } }"""
PROOF = """query($seq: Int!) { auditProof(seq: $seq) { seq leafHash path
  checkpoint { treeSize rootHash signature publicKey message } } }"""


async def ask(on: World, principal: Principal, query: str, variables: Any = None) -> Any:
    outcome = await on.api.execute(on.db, GraphQLRequest(query, None, variables), principal)
    return json.loads(outcome.body)


async def test_the_audit_admin_filters_entries(world: World) -> None:  # noqa: F811
    # given
    record_id = await world.create("Filtered", "100.00")

    # when
    by_record = await ask(world, AUDITOR, ENTRIES, {"f": {"recordId": record_id}})
    by_prefix = await ask(world, AUDITOR, ENTRIES, {"f": {"action": "metadata."}})

    # then
    entries = by_record["data"]["auditEntries"]
    assert [e["action"] for e in entries] == ["record.create"]
    assert entries[0]["actor"] == "alice" and entries[0]["entity"] == "hr/employee"
    assert entries[0]["data"]["changed"]["name"] == {"before": None, "after": "Filtered"}
    assert {e["action"] for e in by_prefix["data"]["auditEntries"]} == {"metadata.publish"}


async def test_nobody_else_reads_the_log(world: World) -> None:  # noqa: F811
    # given / when
    result = await ask(world, ADMIN, ENTRIES)
    # then
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_inclusion_proof_verifies_against_the_signed_checkpoint(
    world: World,  # noqa: F811
) -> None:
    # given: an entry, other tenants' and the operator's events, then a signed checkpoint of
    # this tenant's log covering the entry
    record_id = await world.create("Proven", "1.00")
    seq = await world.db.fetchval(
        "SELECT tenant_seq FROM rapport.audit_entries WHERE record_id = $1", record_id
    )
    async with world.db.transaction() as conn:
        for tenant_id in (str(uuid.uuid4()), None):
            for _ in range(3):
                await append_entry(conn, tenant_id=tenant_id, actor="x", action="auth.login")
        await write_current_checkpoint(conn, default_signer(), world.tenant.id)
    own = await world.db.fetchval(
        "SELECT count(*) FROM rapport.audit_entries WHERE tenant_id = $1::uuid", world.tenant.id
    )

    # when
    proof = (await ask(world, AUDITOR, PROOF, {"seq": seq}))["data"]["auditProof"]

    # then: checked offline, with nothing but the public key and the proof
    checkpoint = proof["checkpoint"]
    assert proof["seq"] == seq
    assert checkpoint["treeSize"] == own  # this tenant's entries, nobody else's
    assert json.loads(checkpoint["message"])["tenant"] == world.tenant.id
    leaf = seq - 1
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint["publicKey"]))
    public.verify(bytes.fromhex(checkpoint["signature"]), checkpoint["message"].encode())
    assert json.loads(checkpoint["message"])["root"] == checkpoint["rootHash"]
    assert verify_inclusion(
        leaf,
        checkpoint["treeSize"],
        bytes.fromhex(proof["leafHash"]),
        [bytes.fromhex(h) for h in proof["path"]],
        bytes.fromhex(checkpoint["rootHash"]),
    )
    # and a proof of another leaf does not verify against it
    assert not verify_inclusion(
        leaf,
        checkpoint["treeSize"],
        bytes(32),
        [bytes.fromhex(h) for h in proof["path"]],
        bytes.fromhex(checkpoint["rootHash"]),
    )


async def test_metadata_publish_is_audited_in_its_transaction(world: World) -> None:  # noqa: F811
    # given / when: the fixture published version 2
    rows = await world.db.fetch(
        "SELECT data FROM rapport.audit_entries WHERE tenant_id = $1::uuid "
        "AND action = 'metadata.publish' ORDER BY seq",
        world.tenant.id,
    )
    # then
    versions = [json.loads(r["data"])["version"] for r in rows]
    assert versions == [1, 2]
    assert any("hr_employee" in step for step in json.loads(rows[1]["data"])["steps"])
