"""Evidence packages: one zip that proves, offline, what happened to a record.

A package (format ``rapport-evidence/1``) holds

- ``files/<name>``: the documents themselves (a signed contract's PDF …);
- ``statements``: facts as canonical JSON (a signature: signer, time, client, the document's
  SHA-256 in ``covers`` …), each with its SHA-256, an RFC 3161 token over that SHA-256 in
  ``timestamps/<id>.tsr`` and the TSA certificate in ``tsa/<fingerprint>.pem``, and the number
  of the audit entry that recorded it (whose data carries ``statementSha256``);
- ``audit``: those audit entries as their exact canonical JSON (what their leaf hash covers),
  each with an RFC 6962 inclusion proof against a signed checkpoint of the tenant's log
  (Ed25519; the public key is included, the verifier may pin it).

``manifest.json`` lists all of it. :mod:`rapport.audit.evidence_check` (``rapport evidence
verify FILE``) checks a package without the database: file hashes, statement hashes, the
documents each statement covers, timestamp tokens, inclusion proofs and the checkpoint's
signature. Changing one byte of a file, of a statement or of an audit entry fails a check.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from rapport.audit.canonical import stored_entry
from rapport.audit.checkpoints import CheckpointSigner, default_signer, write_current_checkpoint
from rapport.audit.merkle import inclusion_proof
from rapport.crypto.timestamp import certificate_fingerprint, load_certificate
from rapport.db.database import Connection
from rapport.errors import EvidenceInvalid

__all__ = ["FORMAT", "Statement", "build_package", "canonical_json", "statement_digest"]

FORMAT = "rapport-evidence/1"


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The bytes a statement's SHA-256 (and so its timestamp) covers."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def statement_digest(body: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(body)).digest()


@dataclass(frozen=True, slots=True)
class Statement:
    """One timestamped fact. ``body["covers"]`` lists the SHA-256 (hex) of the files it is
    about; ``audit_seq`` is the tenant-log entry that recorded it."""

    id: str
    body: Mapping[str, Any]
    timestamp_token: bytes | None
    tsa_certificate: bytes | None  # PEM or DER
    audit_seq: int | None


async def build_package(
    conn: Connection,
    *,
    tenant_id: str,
    title: str,
    subject: Mapping[str, Any],
    files: Mapping[str, bytes],
    statements: Sequence[Statement],
    audit_seqs: Sequence[int],
    signer: CheckpointSigner | None = None,
) -> bytes:
    """The zip of a package; must run in a transaction (a checkpoint of the log as it is now
    is signed, if none of that size exists, and every proof is against it)."""
    signer = signer or default_signer()
    checkpoint = await write_current_checkpoint(conn, signer, tenant_id)
    seqs = sorted(set(audit_seqs) | {s.audit_seq for s in statements if s.audit_seq})
    if any(not 0 < seq <= checkpoint.size for seq in seqs):
        raise EvidenceInvalid(
            "An audit entry of the package is not in the tenant's log.",
            hint="Name entries by their number in the tenant's log (tenant_seq).",
        )
    leaves = [
        bytes(r["leaf_hash"])
        for r in await conn.fetch(
            "SELECT leaf_hash FROM rapport.audit_entries WHERE tenant_id = $1::uuid "
            "AND tenant_seq <= $2 ORDER BY tenant_seq",
            tenant_id,
            checkpoint.size,
        )
    ]
    rows = await conn.fetch(
        "SELECT * FROM rapport.audit_entries WHERE tenant_id = $1::uuid "
        "AND tenant_seq = ANY($2::bigint[]) ORDER BY tenant_seq",
        tenant_id,
        seqs,
    )
    entries = []
    for row in rows:
        seq = int(row["tenant_seq"])
        entry = stored_entry(row, seq=seq, prev=bytes(row["prev_hash"]))
        entries.append(
            {
                "seq": seq,
                "canonical": entry.canonical().decode(),
                "leafHash": bytes(row["leaf_hash"]).hex(),
                "proof": [p.hex() for p in inclusion_proof(seq - 1, leaves)],
            }
        )
    archive: dict[str, bytes] = {f"files/{name}": data for name, data in files.items()}
    listed = []
    for statement in statements:
        item: dict[str, Any] = {
            "id": statement.id,
            "body": dict(statement.body),
            "sha256": statement_digest(statement.body).hex(),
            "auditSeq": statement.audit_seq,
        }
        if statement.timestamp_token is not None:
            item["timestamp"] = f"timestamps/{statement.id}.tsr"
            archive[item["timestamp"]] = statement.timestamp_token
        if statement.tsa_certificate is not None:
            certificate = load_certificate(statement.tsa_certificate)
            fingerprint = certificate_fingerprint(certificate)
            item["tsaCertificate"] = f"tsa/{fingerprint.removeprefix('sha256:')}.pem"
            archive[item["tsaCertificate"]] = certificate.public_bytes(Encoding.PEM)
        listed.append(item)
    manifest = {
        "format": FORMAT,
        "title": title,
        "subject": dict(subject),
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [
            {"path": f"files/{name}", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        ],
        "statements": listed,
        "audit": {
            "tenant": tenant_id,
            "checkpoint": {
                "size": checkpoint.size,
                "root": checkpoint.root.hex(),
                "time": checkpoint.at.astimezone(UTC).isoformat(timespec="microseconds"),
                "keyId": checkpoint.key_id,
                "signature": checkpoint.signature.hex(),
                "publicKey": signer.public_key_hex(),
            },
            "entries": entries,
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for name, data in sorted(archive.items()):
            zf.writestr(name, data)
    return buffer.getvalue()
