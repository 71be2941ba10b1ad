"""Checking an evidence package offline (``rapport evidence verify FILE``).

Needs nothing but the zip (see :mod:`rapport.audit.evidence` for its layout). Every check is
reported, passed or failed, with what it checked, so an auditor can read the whole chain:

1. ``file``: each listed file is in the zip with the listed SHA-256 and size;
2. ``statement``: each statement's canonical JSON hashes to its listed SHA-256, and every
   SHA-256 it ``covers`` is one of the package's files;
3. ``timestamp``: each statement's RFC 3161 token verifies against the statement's SHA-256
   and the included TSA certificate (pinned by fingerprint when ``tsa_fingerprints`` is given);
4. ``audit-entry``: each audit entry's canonical JSON hashes to its leaf, belongs to the
   checkpoint's log, and its inclusion proof leads to the checkpoint's root;
5. ``binding``: each statement's audit entry records that statement's SHA-256;
6. ``checkpoint``: the checkpoint's Ed25519 signature verifies with the included public key
   (pinned when ``audit_public_keys`` is given).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rapport.audit.checkpoints import checkpoint_message, key_id
from rapport.audit.evidence import FORMAT, statement_digest
from rapport.audit.merkle import leaf_hash, verify_inclusion
from rapport.crypto.timestamp import certificate_fingerprint, load_certificate, verify_timestamp
from rapport.errors import EvidenceInvalid, RapportError

__all__ = ["Check", "EvidenceReport", "verify_package"]


@dataclass(frozen=True, slots=True)
class Check:
    kind: str  # file | statement | timestamp | audit-entry | binding | checkpoint
    subject: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"[{'OK' if self.ok else 'FAILED'}] {self.kind} {self.subject}: {self.detail}"


@dataclass(frozen=True, slots=True)
class EvidenceReport:
    title: str
    checks: tuple[Check, ...]

    @property
    def intact(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


def verify_package(
    data: bytes,
    *,
    audit_public_keys: Sequence[str] = (),
    tsa_fingerprints: Sequence[str] = (),
) -> EvidenceReport:
    """Check a package (the zip's bytes); malformed packages raise EvidenceInvalid."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        contents = {name: archive.read(name) for name in archive.namelist()}
        manifest = json.loads(contents["manifest.json"])
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise EvidenceInvalid(
            f"This is not an evidence package ({type(exc).__name__}: {exc}).",
            hint="Give the .zip downloaded as the evidence package, unchanged.",
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise EvidenceInvalid(
            f"The package's format is not {FORMAT}.",
            hint="Use a Rapport version that knows this package's format.",
        )
    checks: list[Check] = []
    file_hashes = _files(manifest, contents, checks)
    entries = _audit(manifest, checks, audit_public_keys)
    for statement in manifest.get("statements", []):
        _statement(statement, contents, file_hashes, entries, checks, tsa_fingerprints)
    return EvidenceReport(str(manifest.get("title", "")), tuple(checks))


def _files(
    manifest: Mapping[str, Any], contents: Mapping[str, bytes], checks: list[Check]
) -> set[str]:
    hashes: set[str] = set()
    for item in manifest.get("files", []):
        path, listed = str(item.get("path")), str(item.get("sha256"))
        data = contents.get(path)
        if data is None:
            checks.append(Check("file", path, False, "listed in the manifest but not in the zip"))
            continue
        actual = hashlib.sha256(data).hexdigest()
        ok = actual == listed and len(data) == item.get("size")
        detail = (
            f"SHA-256 {actual}"
            if ok
            else f"SHA-256 is {actual}, the manifest says {listed}: the file was changed"
        )
        checks.append(Check("file", path, ok, detail))
        if ok:
            hashes.add(actual)
    return hashes


def _statement(
    statement: Mapping[str, Any],
    contents: Mapping[str, bytes],
    file_hashes: set[str],
    entries: Mapping[int, Mapping[str, Any]],
    checks: list[Check],
    tsa_fingerprints: Sequence[str],
) -> None:
    name = str(statement.get("id"))
    body = statement.get("body")
    if not isinstance(body, dict):
        checks.append(Check("statement", name, False, "has no body"))
        return
    digest = statement_digest(body)
    listed = str(statement.get("sha256"))
    uncovered = [h for h in body.get("covers", []) if h not in file_hashes]
    ok = digest.hex() == listed and not uncovered
    detail = (
        f"SHA-256 {listed}; covers {', '.join(body.get('covers', [])) or 'no file'}"
        if ok
        else (
            f"its content hashes to {digest.hex()}, the manifest says {listed}: it was changed"
            if digest.hex() != listed
            else f"it covers {', '.join(uncovered)}, which no intact file of the package has"
        )
    )
    checks.append(Check("statement", name, ok, detail))
    token_path, cert_path = statement.get("timestamp"), statement.get("tsaCertificate")
    if token_path:
        checks.append(
            _timestamp(name, contents, str(token_path), cert_path, digest, tsa_fingerprints)
        )
    seq = statement.get("auditSeq")
    if seq is not None:
        entry = entries.get(int(seq))
        recorded = None if entry is None else entry.get("data", {}).get("statementSha256")
        ok = recorded == listed
        detail = (
            f"audit entry {seq} records it"
            if ok
            else f"audit entry {seq} is missing or intact-failing, or records {recorded}"
        )
        checks.append(Check("binding", name, ok, detail))


def _timestamp(
    name: str,
    contents: Mapping[str, bytes],
    token_path: str,
    cert_path: Any,
    digest: bytes,
    tsa_fingerprints: Sequence[str],
) -> Check:
    token = contents.get(token_path)
    certificate_bytes = contents.get(str(cert_path)) if cert_path else None
    if token is None or certificate_bytes is None:
        return Check("timestamp", name, False, "the token or the TSA certificate is missing")
    try:
        certificate = load_certificate(certificate_bytes)
        fingerprint = certificate_fingerprint(certificate)
        if tsa_fingerprints and fingerprint not in tsa_fingerprints:
            return Check(
                "timestamp", name, False, f"the TSA certificate {fingerprint} is not a pinned one"
            )
        info = verify_timestamp(token, digest, certificate)
    except RapportError as exc:
        return Check("timestamp", name, False, exc.message)
    return Check(
        "timestamp",
        name,
        True,
        f"RFC 3161 token of {info.tsa} ({fingerprint}) at {info.time.isoformat()}, "
        f"serial {info.serial_number}",
    )


def _audit(
    manifest: Mapping[str, Any], checks: list[Check], audit_public_keys: Sequence[str]
) -> dict[int, Mapping[str, Any]]:
    """Check the checkpoint and each entry; the intact entries by number."""
    audit = manifest.get("audit") or {}
    checkpoint = audit.get("checkpoint") or {}
    tenant = audit.get("tenant")
    try:
        size = int(checkpoint["size"])
        root = bytes.fromhex(checkpoint["root"])
        public_hex = str(checkpoint["publicKey"])
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        message = checkpoint_message(tenant, size, root, datetime.fromisoformat(checkpoint["time"]))
        signed_ok = key_id(public) == checkpoint["keyId"]
        if signed_ok:
            public.verify(bytes.fromhex(checkpoint["signature"]), message)
    except (KeyError, ValueError, TypeError, InvalidSignature):
        signed_ok, size, root, public_hex = False, 0, b"", ""
    pinned = not audit_public_keys or public_hex in audit_public_keys
    checks.append(
        Check(
            "checkpoint",
            f"size {size}",
            signed_ok and pinned,
            f"Ed25519 signature of key {checkpoint.get('keyId')} (public key {public_hex}) "
            + ("verifies" if signed_ok else "does not verify: the checkpoint was changed")
            + ("" if pinned else "; that key is not a pinned one"),
        )
    )
    intact: dict[int, Mapping[str, Any]] = {}
    for item in audit.get("entries", []):
        seq = int(item.get("seq", 0))
        canonical = str(item.get("canonical", "")).encode()
        leaf = leaf_hash(canonical)
        try:
            parsed = json.loads(canonical)
            proof = [bytes.fromhex(p) for p in item.get("proof", [])]
        except ValueError:
            checks.append(Check("audit-entry", str(seq), False, "cannot be read"))
            continue
        problems = []
        if parsed.get("seq") != seq or parsed.get("tenant") != tenant:
            problems.append("it names another log or position")
        if not verify_inclusion(seq - 1, size, leaf, proof, root):
            problems.append(
                f"its hash {leaf.hex()} is not under the checkpoint's root: the entry was changed"
            )
        ok = not problems
        detail = (
            f"{parsed.get('action')} at {parsed.get('at')} by {parsed.get('actor')}: included in "
            f"the signed tree of {size}"
            if ok
            else "; ".join(problems)
        )
        checks.append(Check("audit-entry", str(seq), ok, detail))
        if ok:
            intact[seq] = parsed
    return intact
