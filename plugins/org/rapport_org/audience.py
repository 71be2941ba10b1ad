"""An audience of employees -> the people in it, in one SQL statement (for plug-ins on org).

An audience is a JSON object other plug-ins store (an announcement's, a survey campaign's). An
employee is in it when their department is one of ``departments`` or below one of them, they are
one of ``employees``, a member of one of ``projects``, or their platform user holds one of
``roles`` — and, when ``tenureBands`` is given, their tenure (from ``hiredOn``) falls in one of
the bands; minus ``excludeEmployees`` and ``excludeDepartments`` (and below). Only employees who
can sign in (a ``userId``) and have not left are members: an audience is people who can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.naming import qualified

__all__ = ["TENURE_BANDS", "Member", "resolve_audience"]

TENURE_BANDS = ("lt6m", "m6to12", "y1to3", "y3to5", "y5plus")

TENURE_SQL = """CASE WHEN e.hired_on IS NULL THEN 'unknown'
  WHEN e.hired_on > current_date - interval '6 months' THEN 'lt6m'
  WHEN e.hired_on > current_date - interval '12 months' THEN 'm6to12'
  WHEN e.hired_on > current_date - interval '3 years' THEN 'y1to3'
  WHEN e.hired_on > current_date - interval '5 years' THEN 'y3to5'
  ELSE 'y5plus' END"""


@dataclass(frozen=True, slots=True)
class Member:
    """One employee in an audience, with where they are now (department, tenure band)."""

    employee_id: str
    user_id: str
    department_id: str | None
    tenure_band: str


def _ids(audience: Mapping[str, Any], key: str) -> list[str]:
    value = audience.get(key) or []
    return [str(v) for v in value] if isinstance(value, Sequence) else []


async def resolve_audience(
    conn: Connection, tenant: Tenant, audience: Mapping[str, Any] | None
) -> list[Member]:
    """The members of ``audience`` (None or ``{}``: nobody), ordered by employee id."""
    audience = audience or {}
    employees = qualified(tenant.schema, "org_employee")
    departments = qualified(tenant.schema, "org_department")
    memberships = qualified(tenant.schema, "org_membership")
    rows = await conn.fetch(
        f"""
        WITH RECURSIVE included(id) AS (
            SELECT unnest($1::uuid[])
            UNION SELECT d.id FROM {departments} AS d JOIN included AS i ON d.parent_id = i.id
        ), excluded(id) AS (
            SELECT unnest($6::uuid[])
            UNION SELECT d.id FROM {departments} AS d JOIN excluded AS x ON d.parent_id = x.id
        ), people AS (
            SELECT e.id, e.user_id, e.department_id, {TENURE_SQL} AS band
            FROM {employees} AS e
            WHERE e.user_id IS NOT NULL AND e.status IS DISTINCT FROM 'terminated'
              AND (e.department_id IN (SELECT id FROM included)
                   OR e.id = ANY($2::uuid[])
                   OR e.id IN (SELECT employee_id FROM {memberships}
                               WHERE project_id = ANY($3::uuid[]))
                   OR e.user_id IN (SELECT u.id::text FROM rapport.users AS u
                                    WHERE u.tenant_id = $7::uuid AND u.status = 'active'
                                      AND u.roles && $4::text[]))
              AND NOT e.id = ANY($5::uuid[])
              AND (e.department_id IS NULL OR e.department_id NOT IN (SELECT id FROM excluded))
        )
        SELECT id::text AS employee_id, user_id, department_id::text AS department_id, band
        FROM people WHERE cardinality($8::text[]) = 0 OR band = ANY($8::text[])
        ORDER BY id
        """,
        _ids(audience, "departments"),
        _ids(audience, "employees"),
        _ids(audience, "projects"),
        _ids(audience, "roles"),
        _ids(audience, "excludeEmployees"),
        _ids(audience, "excludeDepartments"),
        tenant.id,
        _ids(audience, "tenureBands"),
    )
    return [Member(r["employee_id"], r["user_id"], r["department_id"], r["band"]) for r in rows]
