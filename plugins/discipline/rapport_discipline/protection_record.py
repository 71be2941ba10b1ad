"""The protection check of a dismissal decision, sealed into the case's evidence.

When a dismissal takes effect, the check of LCL art. 42 runs once more
(:func:`rapport_exits.hooks.protection_check`). What it read and found is kept so that an
auditor — or an arbitrator — can see exactly what was checked, and that it was not changed
afterwards: the record (the employee, the ground, the days checked, every protection fact as
read from ``exits/employee_protection`` and the org record, the findings with their articles
and severity, the legal review that covered them) is canonical JSON (the evidence format's,
:func:`rapport.audit.evidence.canonical_json`). It is stored on the case sealed with the
tenant's data key (``protectionCheck``: pregnancy and health are sensitive, only HR management
reads it) next to its SHA-256 (``protectionCheckSha256``), and that SHA-256 goes into the audit
log as ``discipline.protection_check`` in the decision's transaction — covered by the log's
signed checkpoints like every entry. Recomputing the hash of the stored text proves the facts
are those the decision relied on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from rapport_exits.protections import Finding, Ground, ProtectionFacts

from rapport.audit.evidence import canonical_json
from rapport.audit.log import append_entry
from rapport.db.database import Connection
from rapport.records.change import PendingChange

__all__ = ["CHECK", "DIGEST", "seal_check"]

CHECK = "protectionCheck"
DIGEST = "protectionCheckSha256"
KIND = "rapport.discipline.protection-check/1"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def check_record(
    change: PendingChange, employee: str, ground: Ground, days: Sequence[dt.date],
    facts: ProtectionFacts, findings: Sequence[Finding], review: Mapping[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "kind": KIND,
        "tenant": change.tenant.id,
        "case": change.record_id,
        "employee": employee,
        "ground": str(ground),
        "checkedOn": [d.isoformat() for d in days],
        "facts": {f.name: _plain(getattr(facts, f.name)) for f in dataclasses.fields(facts)},
        "findings": [
            {
                "code": f.code,
                "article": f.article,
                "severity": str(f.severity),
                "zh": f.zh,
                "en": f.en,
            }
            for f in findings
        ],
        "review": None if review is None else dict(review),
    }


async def seal_check(
    conn: Connection, change: PendingChange, record: Mapping[str, Any]
) -> dict[str, str]:
    """The case fields that keep ``record``, after its hash is appended to the audit log."""
    text = canonical_json(record).decode()
    digest = hashlib.sha256(text.encode()).hexdigest()
    await append_entry(
        conn,
        tenant_id=change.tenant.id,
        actor=change.principal.subject,
        action="discipline.protection_check",
        entity=change.entity.id,
        record_id=change.record_id,
        data={
            DIGEST: digest,
            "ground": record["ground"],
            "checkedOn": record["checkedOn"],
            "findings": [f["code"] for f in record["findings"]],
        },
    )
    return {CHECK: text, DIGEST: digest}
