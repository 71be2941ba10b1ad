"""The org plug-in's hooks: ``$user`` attributes for permission rules.

- ``$user.employee``: the id of the employee linked to the principal (``userId``), or None;
- ``$user.departments``: the ids of that employee's department and every department below it
  (so "my whole organisation" is ``department in $user.departments``);
- ``$user.managedEmployees``: the ids of everyone reporting to the employee, directly or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.naming import qualified
from rapport.plugins import Hooks
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["OrgHooks"]


class OrgHooks(Hooks):
    async def principal_attributes(
        self, conn: Connection, tenant: Tenant, principal: Principal
    ) -> Mapping[str, Any]:
        employees = qualified(tenant.schema, "org_employee")
        departments = qualified(tenant.schema, "org_department")
        row = await conn.fetchrow(
            f"""
            WITH RECURSIVE me AS (
                SELECT id, department_id FROM {employees} WHERE user_id = $1
            ), below(id) AS (
                SELECT department_id FROM me WHERE department_id IS NOT NULL
                UNION
                SELECT d.id FROM {departments} AS d JOIN below ON d.parent_id = below.id
            ), reports(id) AS (
                SELECT e.id FROM {employees} AS e JOIN me ON e.manager_id = me.id
                UNION
                SELECT e.id FROM {employees} AS e JOIN reports ON e.manager_id = reports.id
            )
            SELECT (SELECT id::text FROM me) AS employee,
                   ARRAY(SELECT id::text FROM below ORDER BY 1) AS departments,
                   ARRAY(SELECT id::text FROM reports ORDER BY 1) AS managed
            """,
            principal.subject,
        )
        if row is None or row["employee"] is None:
            return {"employee": None, "departments": [], "managedEmployees": []}
        return {
            "employee": row["employee"],
            "departments": list(row["departments"]),
            "managedEmployees": list(row["managed"]),
        }

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_org.graphql import contribute

        return (contribute,)
