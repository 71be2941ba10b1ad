"""What a decision and an appeal leave behind, written in the same transaction.

A decided case creates its ``discipline/sanction`` (type, effective date, expiry); a decided
dismissal also records the separation in ``exits`` (type dismissal, LCL art. 39, reason
misconduct, not eligible for re-hire, with the case's legal review of a protected employee),
whose own checks run again. An overturned appeal revokes
the sanction; a varied one changes its type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.naming import qualified
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import Change
from rapport.records.writer import RecordWriter
from rapport.workflow.context import WorkflowContext
from rapport.workflow.engine import transition

__all__ = ["SUBJECT", "apply_appeal", "impose_sanction"]

SUBJECT = "system:discipline"
SANCTION = "discipline/sanction"


def _system(change: Change) -> tuple[RecordWriter, Principal]:
    writer = RecordWriter(
        change.tenant, change.metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    return writer, Principal(
        tenant=change.tenant.slug, subject=SUBJECT, roles=frozenset({ADMIN_ROLE})
    )


async def impose_sanction(conn: Connection, change: Change, case: Mapping[str, Any]) -> None:
    writer, system = _system(change)
    sanction = {
        "caseId": change.record_id,
        "employeeId": case["employeeId"],
        "type": case["proposedSanction"],
        "effectiveFrom": _iso(case["sanctionFrom"]),
    }
    if case.get("sanctionUntil"):
        sanction["expiresOn"] = _iso(case["sanctionUntil"])
    await writer.create(
        conn, change.metadata.model.entity(SANCTION), sanction, principal=system, via="discipline"
    )
    if case["proposedSanction"] == "dismissal" and change.metadata.model.has_entity(
        "exits/separation"
    ):
        separation = {
            "employeeId": case["employeeId"],
            "type": "dismissal",
            "dismissalGround": "art39",
            "lastWorkingDay": _iso(case["sanctionFrom"]),
            "reason": "misconduct",
            "reasonDetail": str(case.get("decisionReason") or ""),
            "rehireEligibility": "not_eligible",
        }
        if case.get("protectionReview") is not None:
            # Stamped on the case by HR management; exits trusts it only via "discipline".
            separation["protectionReview"] = case["protectionReview"]
        await writer.create(
            conn,
            change.metadata.model.entity("exits/separation"),
            separation,
            principal=system,
            via="discipline",
        )


async def apply_appeal(conn: Connection, change: Change, case: Mapping[str, Any]) -> None:
    writer, system = _system(change)
    row = await conn.fetchrow(
        f"SELECT id::text, status, version FROM {qualified(change.tenant.schema, 'discipline_sanction')}"
        " WHERE case_id = $1::uuid",
        change.record_id,
    )
    if row is None or row["status"] != "active":
        return
    entity = change.metadata.model.entity(SANCTION)
    if case.get("appealOutcome") == "overturned":
        context = WorkflowContext(
            change.tenant, change.metadata, writer, system, dt.datetime.now(dt.UTC)
        )
        await transition(
            conn, context, entity, row["id"], "revoke", comment="申诉撤销 / overturned on appeal"
        )
    elif case.get("appealOutcome") == "varied":
        await writer.update(
            conn,
            entity,
            row["id"],
            {"type": case["variedSanction"]},
            expected_version=row["version"],
            principal=system,
            via="discipline",
        )


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)[:10]
