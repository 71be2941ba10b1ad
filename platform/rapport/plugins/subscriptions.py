"""Operator-managed subscription plans: which plug-ins a tenant may install.

A plan is a named set of plug-in names; each tenant has at most one plan. A tenant without a
plan may install nothing: what a tenant gets is always an operator's explicit decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapport.db.database import Connection, Database
from rapport.db.tenants import Queryable, get_tenant
from rapport.errors import ConstraintViolation, NotFound, PluginNotAllowed

__all__ = [
    "Plan",
    "assign_plan",
    "check_allowed",
    "delete_plan",
    "list_plans",
    "put_plan",
    "tenant_plan",
]


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    description: str
    plugins: tuple[str, ...]
    tenants: tuple[str, ...] = ()  # slugs of the tenants on the plan


async def put_plan(db: Queryable, name: str, plugins: Sequence[str], description: str = "") -> Plan:
    """Create the plan or replace its plug-ins and description."""
    await db.execute(
        """
        INSERT INTO rapport.plugin_plans (name, description, plugins) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO UPDATE
           SET description = EXCLUDED.description, plugins = EXCLUDED.plugins
        """,
        name,
        description,
        sorted(set(plugins)),
    )
    return Plan(name, description, tuple(sorted(set(plugins))))


async def delete_plan(db: Database | Connection, name: str) -> None:
    async with db.transaction() as conn:
        users = await conn.fetchval(
            "SELECT count(*) FROM rapport.plugin_plan_assignments WHERE plan = $1", name
        )
        if users:
            raise ConstraintViolation(
                f"Plan {name!r} is assigned to {users} tenant(s).",
                hint="Assign those tenants another plan first.",
            )
        status = await conn.execute("DELETE FROM rapport.plugin_plans WHERE name = $1", name)
        if status.endswith(" 0"):
            raise _no_plan(name)


async def list_plans(db: Queryable) -> list[Plan]:
    rows = await db.fetch(
        """
        SELECT p.name, p.description, p.plugins,
               coalesce(array_agg(t.slug ORDER BY t.slug) FILTER (WHERE t.slug IS NOT NULL),
                        '{}') AS tenants
          FROM rapport.plugin_plans AS p
          LEFT JOIN rapport.plugin_plan_assignments AS a ON a.plan = p.name
          LEFT JOIN rapport.tenants AS t ON t.id = a.tenant_id
         GROUP BY p.name ORDER BY p.name
        """
    )
    return [
        Plan(r["name"], r["description"], tuple(r["plugins"]), tuple(r["tenants"])) for r in rows
    ]


async def assign_plan(db: Queryable, slug: str, plan: str, *, actor: str) -> None:
    """Put the tenant on ``plan``. Installed plug-ins the new plan lacks stay installed (an
    operator uninstalls them explicitly; data is never removed as a side effect)."""
    tenant = await get_tenant(db, slug)
    if not await db.fetchval("SELECT 1 FROM rapport.plugin_plans WHERE name = $1", plan):
        raise _no_plan(plan)
    await db.execute(
        """
        INSERT INTO rapport.plugin_plan_assignments (tenant_id, plan, assigned_by)
        VALUES ($1::uuid, $2, $3)
        ON CONFLICT (tenant_id) DO UPDATE
           SET plan = EXCLUDED.plan, assigned_by = EXCLUDED.assigned_by, assigned_at = now()
        """,
        tenant.id,
        plan,
        actor,
    )


async def tenant_plan(db: Queryable, tenant_id: str) -> Plan | None:
    row = await db.fetchrow(
        """
        SELECT p.name, p.description, p.plugins FROM rapport.plugin_plan_assignments AS a
          JOIN rapport.plugin_plans AS p ON p.name = a.plan WHERE a.tenant_id = $1::uuid
        """,
        tenant_id,
    )
    return None if row is None else Plan(row["name"], row["description"], tuple(row["plugins"]))


async def check_allowed(db: Queryable, tenant_id: str, slug: str, plugin: str) -> None:
    plan = await tenant_plan(db, tenant_id)
    if plan is None:
        raise PluginNotAllowed(
            f"Tenant {slug!r} has no subscription plan, so it may install no plug-in.",
            hint=f"An operator assigns one: `rapport plugin plans assign --tenant {slug} PLAN`.",
        )
    if plugin not in plan.plugins:
        raise PluginNotAllowed(
            f"Tenant {slug!r} is on plan {plan.name!r}, which does not include {plugin!r}.",
            hint="An operator adds it to the plan (`rapport plugin plans put`) or assigns "
            "the tenant another plan.",
        )


def _no_plan(name: str) -> NotFound:
    return NotFound(
        f"There is no plan {name!r}.",
        hint="List plans with `rapport plugin plans list`; create one with "
        "`rapport plugin plans put NAME PLUGIN...`.",
    )
