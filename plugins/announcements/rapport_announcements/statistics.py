"""Reading statistics of one announcement revision, per department of the recipients."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.db.database import Connection
from rapport.errors import NotFound
from rapport.naming import qualified

__all__ = ["DepartmentReading", "reading_by_department"]


@dataclass(frozen=True, slots=True)
class DepartmentReading:
    department_id: str | None
    department: str | None
    recipients: int
    read: int  # read or acknowledged
    acknowledged: int


async def reading_by_department(
    conn: Connection, schema: str, announcement_id: str, revision: int | None
) -> tuple[int, tuple[DepartmentReading, ...]]:
    """The revision asked for (the latest by default) and its figures per department."""
    latest = await conn.fetchval(
        f"SELECT revision FROM {qualified(schema, 'announcements_announcement')} "
        "WHERE id = $1::uuid",
        announcement_id,
    )
    if latest is None:
        raise NotFound(f"No announcement has id {announcement_id!r}.", hint="Check the id.")
    chosen = revision or int(latest)
    rows = await conn.fetch(
        f"""
        SELECT r.department_id::text AS department_id, min(d.name) AS department,
               count(*) AS recipients,
               count(*) FILTER (WHERE r.status IN ('read', 'acknowledged')) AS read,
               count(*) FILTER (WHERE r.status = 'acknowledged') AS acknowledged
        FROM {qualified(schema, "announcements_announcement_receipt")} AS r
        LEFT JOIN {qualified(schema, "org_department")} AS d ON d.id = r.department_id
        WHERE r.announcement_id = $1::uuid AND r.revision = $2
        GROUP BY 1 ORDER BY 2 NULLS LAST
        """,
        announcement_id,
        chosen,
    )
    return chosen, tuple(
        DepartmentReading(
            r["department_id"], r["department"], r["recipients"], r["read"], r["acknowledged"]
        )
        for r in rows
    )
