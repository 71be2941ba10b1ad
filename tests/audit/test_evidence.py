"""Evidence packages: built from the database, verified offline; one changed byte fails."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rapport.audit.checkpoints import CheckpointSigner
from rapport.audit.evidence import Statement, build_package, statement_digest
from rapport.audit.evidence_check import verify_package
from rapport.audit.log import append_entry
from rapport.cli import main
from rapport.crypto.timestamp import request_timestamp
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import EvidenceInvalid
from tests.crypto.tsa import LocalTsa

SIGNER = CheckpointSigner(bytes(range(32)), interval=1000)
PDF = b"%PDF-1.7 a contract\n%%EOF"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as local:
        yield local


@pytest.fixture(scope="module")
async def package(database: Database, tsa: LocalTsa) -> bytes:
    await migrate(database)
    tenant = str(uuid.uuid4())
    body = {"kind": "test.signature", "signer": "u-1", "covers": [hashlib.sha256(PDF).hexdigest()]}
    digest = statement_digest(body)
    token = await request_timestamp(tsa.url, digest)
    async with database.transaction() as conn:
        for i in range(4):  # other activity of the tenant before and after
            await append_entry(
                conn, tenant_id=tenant, actor="x", action=f"noise.{i}", signer=SIGNER
            )
        seq = await append_entry(
            conn, tenant_id=tenant, actor="u-1", action="test.sign",
            data={"statementSha256": digest.hex(), "covers": body["covers"]}, signer=SIGNER,
        )  # fmt: skip
        await append_entry(conn, tenant_id=tenant, actor="x", action="noise.5", signer=SIGNER)
    async with database.transaction() as conn:
        return await build_package(
            conn, tenant_id=tenant, title="Test contract", subject={"contract": "c-1"},
            files={"contract.pdf": PDF},
            statements=[Statement("signature-1", body, token.token, tsa.certificate_pem, seq)],
            audit_seqs=[1], signer=SIGNER,
        )  # fmt: skip


def _rewrite(package: bytes, name: str, change: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            target.writestr(item, change if item == name else source.read(item))
    return out.getvalue()


def _manifest(package: bytes) -> dict:  # type: ignore[type-arg]
    return json.loads(zipfile.ZipFile(io.BytesIO(package)).read("manifest.json"))


def test_an_intact_package_passes_every_check(package: bytes) -> None:
    report = verify_package(package, audit_public_keys=[SIGNER.public_key_hex()])
    assert report.intact, [str(c) for c in report.failures]
    assert {c.kind for c in report.checks} == {
        "file", "statement", "timestamp", "audit-entry", "binding", "checkpoint",
    }  # fmt: skip
    assert len([c for c in report.checks if c.kind == "audit-entry"]) == 2


def test_one_changed_byte_of_the_document_fails(package: bytes) -> None:
    changed = bytearray(PDF)
    changed[3] ^= 0x01
    report = verify_package(_rewrite(package, "files/contract.pdf", bytes(changed)))
    failed = {(c.kind, c.subject) for c in report.failures}
    # the file no longer matches, so the signature statement covers no intact file
    assert failed == {("file", "files/contract.pdf"), ("statement", "signature-1")}


def test_one_changed_audit_entry_fails(package: bytes) -> None:
    manifest = _manifest(package)
    entry = manifest["audit"]["entries"][1]
    entry["canonical"] = entry["canonical"].replace('"actor":"u-1"', '"actor":"u-2"')
    report = verify_package(_rewrite(package, "manifest.json", json.dumps(manifest).encode()))
    failed = {(c.kind, c.subject) for c in report.failures}
    assert failed == {("audit-entry", "5"), ("binding", "signature-1")}
    assert "the entry was changed" in next(c.detail for c in report.failures)


def test_a_changed_statement_checkpoint_or_unpinned_key_fails(package: bytes) -> None:
    manifest = _manifest(package)
    manifest["statements"][0]["body"]["signer"] = "u-9"
    changed = verify_package(_rewrite(package, "manifest.json", json.dumps(manifest).encode()))
    assert {c.kind for c in changed.failures} == {"statement", "timestamp"}

    manifest = _manifest(package)
    manifest["audit"]["checkpoint"]["size"] += 1
    forged = verify_package(_rewrite(package, "manifest.json", json.dumps(manifest).encode()))
    assert "checkpoint" in {c.kind for c in forged.failures}

    other = CheckpointSigner(bytes(32)).public_key_hex()
    unpinned = verify_package(package, audit_public_keys=[other])
    assert [c.kind for c in unpinned.failures] == ["checkpoint"]

    with pytest.raises(EvidenceInvalid, match="not an evidence package"):
        verify_package(b"not a zip")


def test_the_cli_verifies_offline_and_exits_1_on_damage(
    package: bytes, tsa: LocalTsa, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    good.write_bytes(package)
    bad.write_bytes(_rewrite(package, "files/contract.pdf", PDF + b" "))
    cert = tmp_path / "tsa.pem"
    cert.write_bytes(tsa.certificate_pem)
    args = ["--audit-key", SIGNER.public_key_hex(), "--tsa-cert", str(cert)]
    assert main(["evidence", "verify", str(good), *args]) == 0
    assert "VERIFIED: all" in capsys.readouterr().out
    assert main(["evidence", "verify", str(bad), *args]) == 1
    out = capsys.readouterr().out
    assert "NOT VERIFIED" in out and "[FAILED] file files/contract.pdf" in out
    assert main(["evidence", "verify", str(tmp_path / "missing.zip")]) == 1
