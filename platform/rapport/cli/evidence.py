"""``rapport evidence verify FILE`` and ``rapport evidence key``: evidence packages offline.

``verify`` needs no database and no server: it reads the zip and prints every check
(:mod:`rapport.audit.evidence_check`); exit 0 when all pass, 1 when any fails. ``--audit-key``
and ``--tsa-cert`` pin the keys the package must be signed with (an auditor takes the audit
key from ``rapport evidence key`` on the installation, or from its published copy, and the
TSA's certificate from the TSA), so a package re-signed with keys of its own does not pass.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rapport.audit.checkpoints import CheckpointSigner
from rapport.audit.evidence_check import verify_package
from rapport.crypto.timestamp import certificate_fingerprint, load_certificate
from rapport.errors import EvidenceInvalid
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("evidence", help="verify evidence packages offline")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check an evidence package (zip) without the database",
        description="Check every file hash, statement hash, RFC 3161 timestamp token, audit "
        "inclusion proof and the signed checkpoint of an evidence package. Exit 0 when all "
        "pass; 1 listing the failed checks when not.",
    )
    verify.add_argument("file", type=Path, metavar="FILE", help="the evidence package (.zip)")
    verify.add_argument(
        "--audit-key",
        action="append",
        default=[],
        metavar="HEX",
        help="the audit public key (hex) the checkpoint must be signed with; repeatable",
    )
    verify.add_argument(
        "--tsa-cert",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="a TSA certificate the timestamps must come from; repeatable",
    )
    verify.set_defaults(handler=_verify)
    key = actions.add_parser(
        "key",
        help="print this installation's audit public key (to pin with --audit-key)",
    )
    key.set_defaults(handler=_key)


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise EvidenceInvalid(f"{path} is not a file.", hint="Give the path of the .zip.")
    pinned = [certificate_fingerprint(load_certificate(p.read_bytes())) for p in args.tsa_cert]
    report = verify_package(
        path.read_bytes(), audit_public_keys=args.audit_key, tsa_fingerprints=pinned
    )
    print(f"Evidence package: {report.title}")
    for check in report.checks:
        print(f"  {check}")
    if report.intact:
        print(f"VERIFIED: all {len(report.checks)} checks passed.")
        return 0
    print(f"NOT VERIFIED: {len(report.failures)} of {len(report.checks)} checks failed.")
    return 1


def _key(settings: Settings, args: argparse.Namespace) -> int:
    signer = CheckpointSigner.from_settings(settings)
    print(f"{signer.key_id} {signer.public_key_hex()}")
    return 0
