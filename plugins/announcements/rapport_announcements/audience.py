"""Resolving an announcement's audience to employees, in one SQL statement.

An employee is in the audience when their department is one of ``departments`` or below one of
them, they are one of ``employees``, a member of one of ``projects``, or their platform user
holds one of ``roles``; and they are neither in ``excludeEmployees`` nor in (or below) one of
``excludeDepartments``. Only employees who can sign in (a ``userId``) and have not left count:
a receipt is for someone who can read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.naming import qualified

__all__ = ["Recipient", "resolve_audience"]


@dataclass(frozen=True, slots=True)
class Recipient:
    employee_id: str
    user_id: str
    department_id: str | None


def _ids(audience: Mapping[str, Any], key: str) -> list[str]:
    value = audience.get(key) or []
    return [str(v) for v in value] if isinstance(value, Sequence) else []


async def resolve_audience(
    conn: Connection, tenant: Tenant, audience: Mapping[str, Any] | None
) -> list[Recipient]:
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
        )
        SELECT e.id::text AS employee_id, e.user_id, e.department_id::text AS department_id
        FROM {employees} AS e
        WHERE e.user_id IS NOT NULL AND e.status IS DISTINCT FROM 'terminated'
          AND (e.department_id IN (SELECT id FROM included)
               OR e.id = ANY($2::uuid[])
               OR e.id IN (SELECT employee_id FROM {memberships} WHERE project_id = ANY($3::uuid[]))
               OR e.user_id IN (SELECT u.id::text FROM rapport.users AS u
                                WHERE u.tenant_id = $7::uuid AND u.status = 'active'
                                  AND u.roles && $4::text[]))
          AND NOT e.id = ANY($5::uuid[])
          AND (e.department_id IS NULL OR e.department_id NOT IN (SELECT id FROM excluded))
        ORDER BY e.id
        """,
        _ids(audience, "departments"),
        _ids(audience, "employees"),
        _ids(audience, "projects"),
        _ids(audience, "roles"),
        _ids(audience, "excludeEmployees"),
        _ids(audience, "excludeDepartments"),
        tenant.id,
    )
    return [Recipient(r["employee_id"], r["user_id"], r["department_id"]) for r in rows]
