"""Termination (解除/终止): the written notice as a PDF, linked to the exits separation.

When a contract is terminated (the ``terminate`` transition: a date, a ground of LCL arts.
36–44 and an HR manager's approval), the notice is rendered — parties, contract number, the
ground with its article, the date, HR's note — and stored as a ``contracts/document`` of kind
``termination`` (status ``issued``: the employer's notice needs no countersignature, LCL art.
50 obliges it to issue one). If the tenant has the exits plug-in and a separation of the
employee is recorded (not cancelled), the newest one is linked on the contract and the document
(``separationId``) and named in the notice, so the dispute file holds both.
"""

from __future__ import annotations

import datetime as dt

from rapport.db.database import Connection
from rapport.naming import qualified
from rapport.records.change import Change
from rapport_contracts.documents import signable_view, store_document, system_writer

__all__ = ["GROUNDS", "issue_termination"]

GROUNDS = {
    "mutual_36": (
        "协商一致解除劳动合同（《劳动合同法》第三十六条）",
        "mutual agreement (LCL art. 36)",
    ),
    "employee_37": ("劳动者提前通知解除（第三十七条）", "the employee's notice (LCL art. 37)"),
    "employee_38": ("劳动者因用人单位过错解除（第三十八条）", "the employer's fault (LCL art. 38)"),
    "employer_39": (
        "劳动者有过错，用人单位解除（第三十九条）",
        "the employee's fault (LCL art. 39)",
    ),
    "employer_40": ("无过失性辞退（第四十条）", "dismissal with notice (LCL art. 40)"),
    "employer_41": ("经济性裁员（第四十一条）", "redundancy (LCL art. 41)"),
    "expiry_44": ("劳动合同期满终止（第四十四条）", "expiry of the term (LCL art. 44)"),
}


async def _separation(conn: Connection, change: Change) -> str | None:
    if not change.metadata.model.has_entity("exits/separation"):
        return None
    found: str | None = await conn.fetchval(
        f"SELECT id::text FROM {qualified(change.tenant.schema, 'exits_separation')} "
        "WHERE employee_id = $1::uuid AND status <> 'cancelled' ORDER BY created_at DESC LIMIT 1",
        str((change.after or {}).get("employeeId")),
    )
    return found


async def issue_termination(conn: Connection, change: Change) -> str:
    after = change.after or {}
    view = await signable_view(conn, change.tenant, change.record_id)
    separation = await _separation(conn, change)
    zh, en = GROUNDS.get(str(after.get("terminationReason")), ("—", "—"))
    number = view["number"] or change.record_id
    day = after.get("terminationDate")
    day = day.isoformat() if isinstance(day, dt.date) else str(day)[:10]
    title = f"解除/终止劳动合同通知书 / Notice of termination {number}"
    body = "\n".join([
        f"致 / To: {view['employee_name']}",
        f"用人单位 / Employer: {view['employer_name']}",
        f"劳动合同 / Contract: {number}（{view['start_date']} 起 / from {view['start_date']}）",
        f"依据 / Ground: {zh} / {en}",
        f"劳动合同于 {day} 解除/终止 / The contract ends on {day}.",
        f"说明 / Note: {after.get('terminationNote') or '—'}",
        *([f"离职记录 / Separation record: {separation}"] if separation else []),
        "用人单位将依法出具解除或终止劳动合同的证明，并在十五日内为劳动者办理档案和社会保险关系转移手续"
        "（第五十条）/ The employer issues the separation certificate and transfers the records "
        "within 15 days (LCL art. 50).",
    ])  # fmt: skip
    links = {"separationId": separation} if separation else {}
    document, _ = await store_document(
        conn, change.tenant, change.metadata, view, kind="termination",
        revision=int(view["revision"] or 1), title=title, body=body,
        created=after.get("updatedAt") or dt.datetime.now(dt.UTC), status="issued", links=links,
    )  # fmt: skip
    if separation:
        writer, system = system_writer(change)
        await writer.update(
            conn, change.entity, change.record_id, {"separationId": separation},
            expected_version=None, principal=system, via="contracts",
        )  # fmt: skip
    return document
