"""Audit queries: the audit admin filters entries and checks inclusion proofs offline."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rapport.audit.checkpoints import default_signer, write_current_checkpoint
from rapport.audit.merkle import verify_inclusion
from rapport.graphql.request import GraphQLRequest
from rapport.principal import Principal
from tests.crypto.conftest import World, world  # noqa: F401 - the shared tenant fixture

AUDITOR = Principal(tenant="secrets", subject="audrey", roles=frozenset({"audit_admin"}))
ADMIN = Principal(tenant="secrets", subject="alice", roles=frozenset({"admin"}))
ENTRIES = """query($f: AuditFilter) { auditEntries(filter: $f, first: 10) {
  seq actor action entity recordId data leafHash } }"""
PROOF = """query($seq: Int!) { auditProof(seq: $seq) { seq logSeq leafHash path
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
    # given: an entry, then a signed checkpoint covering it
    record_id = await world.create("Proven", "1.00")
    seq = await world.db.fetchval(
        "SELECT tenant_seq FROM rapport.audit_entries WHERE record_id = $1", record_id
    )
    async with world.db.transaction() as conn:
        await write_current_checkpoint(conn, default_signer())

    # when
    proof = (await ask(world, AUDITOR, PROOF, {"seq": seq}))["data"]["auditProof"]

    # then: checked offline, with nothing but the public key and the proof
    checkpoint = proof["checkpoint"]
    assert proof["seq"] == seq
    leaf = proof["logSeq"] - 1
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
