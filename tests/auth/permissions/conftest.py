"""The permission tests' world: an HR tenant with departments, employees, projects (many-to-many
through assignments) and complaints, three roles (employee, hrbp, manager) with row rules, field
rules, conditional visibility and masks, seeded with fixed ids.

Roles and what their documents grant:

* employee — every employee's id, name and department; its own employee record in full (salary
  only there); its own complaints (created by it), with submitter hidden when anonymous; may
  create complaints (title, body, category, anonymous, submitter), update the title and body
  of its own open ones and delete them; departments other than Legal, projects and
  assignments readable.
* hrbp — employees of its departments ($user.departments), salary and note masked, and may
  create and update them (name, department, note) inside its departments; complaints of its
  departments with submitter hidden when anonymous and body masked; may update their status;
  aggregates complaints; may read departments.
* manager — may aggregate complaints (no record reads), read departments.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.graphql.executor import TenantApi, build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import Document, documents_from_json
from rapport.metadata.tenants import create_tenant
from rapport.naming import qualified, quote_ident
from rapport.principal import Principal

SCHEMA = "tenant_perm"
TENANT = "perm"

ENTITIES: list[dict[str, Any]] = [
    {
        "$id": "hr/department",
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
    },
    {
        "$id": "hr/project",
        "type": "object",
        "properties": {"name": {"type": "string"}},
    },
    {
        "$id": "hr/employee",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "login": {"type": "string"},
            "salary": {"type": "number"},
            "note": {"type": "string"},
            "department": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "hr/department", "inverse": "employees"},
            },
            "projects": {
                "type": "array",
                "items": {"type": "string", "format": "uuid"},
                "x-relation": {"entity": "hr/project", "through": "hr/assignment"},
            },
        },
        "required": ["name"],
    },
    {
        "$id": "hr/assignment",
        "type": "object",
        "properties": {
            "employee": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "hr/employee", "inverse": "assignments"},
            },
            "project": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "hr/project", "inverse": "assignments"},
            },
        },
        "required": ["employee", "project"],
    },
    {
        "$id": "hr/complaint",
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "body": {"type": "string", "x-kind": "text"},
            "category": {"enum": ["pay", "workload", "manager", "harassment"]},
            "severity": {"type": "integer"},
            "anonymous": {"type": "boolean", "default": False},
            "status": {"type": "string"},
            "submitter": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "hr/employee", "inverse": "complaints"},
            },
        },
        "required": ["title", "category"],
    },
]

OWN_EMPLOYEE = {"login": {"_eq": "$user.id"}}
IN_MY_DEPARTMENTS = {"department": {"name": {"_in": "$user.departments"}}}
ANONYMOUS = {"anonymous": {"_eq": True}}

PERMISSIONS: list[dict[str, Any]] = [
    # employee
    {
        "$id": "perm/employee-directory",
        "role": "employee",
        "entity": "hr/employee",
        "actions": ["read"],
        "fields": {"read": ["id", "name", "department", "projects"]},
    },
    {
        "$id": "perm/employee-self",
        "role": "employee",
        "entity": "hr/employee",
        "actions": ["read"],
        "where": OWN_EMPLOYEE,
    },
    {
        "$id": "perm/employee-departments",
        "role": "employee",
        "entity": "hr/department",
        "actions": ["read"],
        "where": {"name": {"_neq": "Legal"}},
    },
    {
        "$id": "perm/employee-projects",
        "role": "employee",
        "entity": "hr/project",
        "actions": ["read"],
    },
    {
        "$id": "perm/employee-assignments",
        "role": "employee",
        "entity": "hr/assignment",
        "actions": ["read"],
    },
    {
        "$id": "perm/employee-complaints",
        "role": "employee",
        "entity": "hr/complaint",
        "actions": ["read", "create"],
        "where": {"createdBy": {"_eq": "$user.id"}},
        "fields": {
            "read": ["*"],
            "write": ["title", "body", "category", "anonymous", "submitter"],
        },
        "when": ANONYMOUS,
        "hide": ["submitter"],
    },
    {
        "$id": "perm/employee-complaint-edit",
        "role": "employee",
        "entity": "hr/complaint",
        "actions": ["update", "delete"],
        "where": {"createdBy": {"_eq": "$user.id"}, "status": {"_eq": "open"}},
        "fields": {"write": ["title", "body"]},
    },
    # hrbp
    {
        "$id": "perm/hrbp-employees",
        "role": "hrbp",
        "entity": "hr/employee",
        "actions": ["read"],
        "where": IN_MY_DEPARTMENTS,
        "fields": {"read": ["*"], "mask": ["salary", "note"]},
    },
    {
        "$id": "perm/hrbp-employee-edit",
        "role": "hrbp",
        "entity": "hr/employee",
        "actions": ["create", "update"],
        "where": IN_MY_DEPARTMENTS,
        "fields": {"write": ["name", "department", "note"]},
    },
    {
        "$id": "perm/hrbp-departments",
        "role": "hrbp",
        "entity": "hr/department",
        "actions": ["read"],
    },
    {
        "$id": "perm/hrbp-complaints",
        "role": "hrbp",
        "entity": "hr/complaint",
        "actions": ["read", "update", "aggregate"],
        "where": {"submitter": IN_MY_DEPARTMENTS},
        "fields": {"read": ["*"], "write": ["status"], "mask": ["body"]},
        "when": ANONYMOUS,
        "hide": ["submitter", "createdBy"],
    },
    # manager
    {
        "$id": "perm/manager-complaint-stats",
        "role": "manager",
        "entity": "hr/complaint",
        "actions": ["aggregate"],
        "fields": {"read": ["category", "severity"]},
    },
    {
        "$id": "perm/manager-departments",
        "role": "manager",
        "entity": "hr/department",
        "actions": ["read"],
    },
]


def documents(
    entities: list[dict[str, Any]] = ENTITIES, permissions: list[dict[str, Any]] = PERMISSIONS
) -> tuple[Document, ...]:
    items: list[Mapping[str, Any]] = [*entities]
    items += [{"kind": "permission", "body": p} for p in permissions]
    return documents_from_json(items)


_KINDS = {"department": 1, "employee": 2, "complaint": 3, "project": 4, "assignment": 5}


def uid(kind: str, n: int) -> str:
    return str(uuid.UUID(f"{_KINDS[kind]:08x}-0000-0000-0000-{n:012x}"))


DEPARTMENTS = [(1, "Sales"), (2, "R&D"), (3, "Legal")]
# n, name, login, salary, note, department
EMPLOYEES: list[tuple[int, str, str | None, Decimal | None, str | None, int | None]] = [
    (1, "Ann", "ann", Decimal("9000.00"), "top performer", 1),
    (2, "Ben", "ben", Decimal("7000.00"), None, 1),
    (3, "Cai", "cai", Decimal("12000.00"), "relocating", 2),
    (4, "Dee", None, None, "contractor", 3),
    (5, "Eli", "eli", Decimal("8000.00"), "new hire", None),
]
PROJECTS = [(1, "Apollo"), (2, "Borealis")]
ASSIGNMENTS = [(1, 1, 1), (2, 3, 1), (3, 3, 2), (4, 4, 2)]  # n, employee, project
# n, title, body, category, severity, anonymous, status, submitter, created_by
COMPLAINTS: list[tuple[int, str, str | None, str, int | None, bool, str, int | None, str]] = [
    (1, "Overtime", "too many hours", "workload", 3, False, "open", 1, "ann"),
    (2, "Pay slip wrong", "missing bonus", "pay", 4, True, "open", 1, "ann"),
    (3, "Team lead", "shouts", "manager", 5, True, "investigating", 2, "ben"),
    (4, "Lab safety", None, "workload", 2, False, "open", 3, "cai"),
    (5, "Bias", "unfair review", "harassment", 5, True, "closed", 3, "cai"),
    (6, "Contract", "late", "pay", 1, False, "open", 4, "dee"),
    (7, "Parking", "no spots", "workload", None, False, "open", None, "eli"),
]


async def _insert(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        columns = list(row)
        values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        await db.execute(
            f"INSERT INTO {qualified(SCHEMA, table)} ({', '.join(map(quote_ident, columns))}) "
            f"VALUES ({values})",
            *row.values(),
        )


def _ref(kind: str, n: int | None) -> uuid.UUID | None:
    return None if n is None else uuid.UUID(uid(kind, n))


async def seed(db: Database) -> None:
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    await _insert(
        db,
        "hr_department",
        [{"id": _ref("department", n), "name": name} for n, name in DEPARTMENTS],
    )
    await _insert(
        db, "hr_project", [{"id": _ref("project", n), "name": name} for n, name in PROJECTS]
    )
    await _insert(
        db,
        "hr_employee",
        [
            {
                "id": _ref("employee", n),
                "name": name,
                "login": login,
                "email": f"{name.lower()}@example.com",
                "salary": salary,
                "note": note,
                "department_id": _ref("department", dep),
                "created_at": created + dt.timedelta(minutes=n),
            }
            for n, name, login, salary, note, dep in EMPLOYEES
        ],
    )
    await _insert(
        db,
        "hr_assignment",
        [
            {
                "id": _ref("assignment", n),
                "employee_id": _ref("employee", e),
                "project_id": _ref("project", p),
            }
            for n, e, p in ASSIGNMENTS
        ],
    )
    await _insert(
        db,
        "hr_complaint",
        [
            {
                "id": _ref("complaint", n),
                "title": title,
                "body": body,
                "category": category,
                "severity": severity,
                "anonymous": anonymous,
                "status": status,
                "submitter_id": _ref("employee", submitter),
                "created_by": by,
                "created_at": created + dt.timedelta(hours=n),
            }
            for n, title, body, category, severity, anonymous, status, submitter, by in COMPLAINTS
        ],
    )


@pytest.fixture(scope="module")
def metadata() -> TenantMetadata:
    return compile_tenant(documents())


@pytest.fixture(scope="module")
async def seeded(database: Database, metadata: TenantMetadata) -> Database:
    # A real catalog tenant: write participants (audit, outbox) refer to it. Its entity tables
    # are created straight from this module's model, beside the kernel's.
    await migrate(database)
    await create_tenant(database, TENANT, actor="test")
    for statement in create_model_ddl(SCHEMA, metadata.model):
        await database.execute(statement)
    await seed(database)
    return database


@pytest.fixture(scope="module")
async def api(seeded: Database, metadata: TenantMetadata) -> AsyncIterator[TenantApi]:
    built = build_tenant_api(await get_tenant(seeded, TENANT), metadata, kernel=KERNEL)
    yield built
    built.close()


ADMIN = Principal(tenant=TENANT, subject="root", roles=frozenset({"admin"}))
ANN = Principal(tenant=TENANT, subject="ann", roles=frozenset({"employee"}))
CAI = Principal(tenant=TENANT, subject="cai", roles=frozenset({"employee"}))
HRBP = Principal(
    tenant=TENANT,
    subject="hrbp-1",
    roles=frozenset({"hrbp"}),
    attributes={"departments": ["Sales"]},
)
MANAGER = Principal(tenant=TENANT, subject="mgr", roles=frozenset({"manager"}))


async def run(
    api: TenantApi,
    db: Database,
    query: str,
    principal: Principal,
    variables: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    outcome = await api.execute(db, GraphQLRequest(query, None, variables), principal)
    decoded: dict[str, Any] = json.loads(outcome.body)
    return decoded


def code_of(result: Mapping[str, Any]) -> str:
    return str(result["errors"][0]["extensions"]["code"])
