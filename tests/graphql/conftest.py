"""The shared fixture world of the GraphQL read-path tests: the example documents' model, a
tenant schema built from it with the real DDL, and a small seeded data set in which every field
kind, NULLs, ties, Chinese text and every relation shape appear.

Ids are fixed (``uuid(kind, n)``) so expectations can name records.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rapport.composition import KERNEL
from rapport.crypto.fields import FieldSealer
from rapport.crypto.keys import default_keyring
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.graphql.executor import TenantApi, build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.builder import compile_model
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import read_folder
from rapport.metadata.ir import Model
from rapport.naming import qualified, quote_ident
from rapport.principal import Principal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "metadata"
SCHEMA = "tenant_readpath"
# A catalog tenant row backs the schema: sensitive values are sealed under its data key, and
# writes append audit entries to the catalog.
TENANT_ID = "0e5a3f6c-7a54-4d3c-9c1e-5f2b8b1d0a01"
PRINCIPAL = Principal(tenant="readpath", subject="user-1", roles=frozenset({"admin"}))

_KINDS = {"trainer": 1, "course": 2, "trainee": 3, "enrollment": 4, "employee": 5, "complaint": 6}


def uuid_of(kind: str, n: int) -> str:
    """A readable fixed id: ``00000002-0000-0000-0000-000000000007`` is course 7."""
    return str(uuid.UUID(f"{_KINDS[kind]:08x}-0000-0000-0000-{n:012x}"))


_TOKEN = re.compile(r"@(" + "|".join(_KINDS) + r")(\d+)\b")


def ids(text: str) -> str:
    """``@course3`` -> the id of course 3, so documents can name seeded records."""
    return _TOKEN.sub(lambda m: uuid_of(m.group(1), int(m.group(2))), text)


def at(day: int, hour: int = 9, micro: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, 0, micro, tzinfo=dt.UTC)


FILE = {
    "key": "files/handbook.pdf",
    "name": "手册.pdf",
    "size": 2048,
    "contentType": "application/pdf",
    "sha256": "a" * 64,
}

TRAINERS: list[dict[str, Any]] = [
    # n, name, email, phone, bio, hourly_rate, rating, active
    dict(
        n=1,
        name="王芳",
        email="wang@example.com",
        phone="+86 10 1234",
        bio="资深讲师",
        hourly_rate=Decimal("120.50"),
        rating=5,
        active=True,
    ),
    dict(
        n=2,
        name="Alice",
        email="alice@example.com",
        phone=None,
        bio=None,
        hourly_rate=Decimal("99.99"),
        rating=4,
        active=True,
    ),
    dict(
        n=3,
        name="Bob",
        email=None,
        phone=None,
        bio="likes % and _",
        hourly_rate=None,
        rating=None,
        active=False,
    ),
    dict(
        n=4,
        name="Carol",
        email="carol@example.com",
        phone=None,
        bio=None,
        hourly_rate=Decimal("0.10"),
        rating=4,
        active=True,
    ),
    dict(
        n=5,
        name="Ümit",
        email=None,
        phone="555",
        bio=None,
        hourly_rate=Decimal("1234567.89"),
        rating=3,
        active=None,
    ),
]

COURSES: list[dict[str, Any]] = [
    dict(
        n=1,
        title="Safety basics",
        code="SAF-101",
        level="beginner",
        tags=["safety"],
        start_date=dt.date(2026, 4, 1),
        starts_at=at(1, 9, 123456),
        capacity=30,
        price=Decimal("12.50"),
        score=4.5,
        syllabus={"weeks": 4, "topics": ["fire", "first aid"]},
        material=FILE,
        website="https://example.com/saf",
        online=False,
        trainer=1,
    ),
    dict(
        n=2,
        title="劳动法入门",
        code="LAW-201",
        level="intermediate",
        tags=["law", "soft_skills"],
        start_date=dt.date(2026, 4, 1),
        starts_at=at(2),
        capacity=10,
        price=Decimal("0.10"),
        score=3.25,
        syllabus=None,
        material=None,
        website=None,
        online=True,
        trainer=1,
    ),
    dict(
        n=3,
        title="Advanced Python",
        code="TEC-301",
        level="advanced",
        tags=["tech"],
        start_date=None,
        starts_at=None,
        capacity=None,
        price=None,
        score=None,
        syllabus={"nested": {"a": [1, 2, {"b": None}]}},
        material=None,
        website=None,
        online=True,
        trainer=2,
    ),
    dict(
        n=4,
        title="Negotiation",
        code=None,
        level="intermediate",
        tags=[],
        start_date=dt.date(2026, 5, 12),
        starts_at=at(3, 14),
        capacity=8,
        price=Decimal("1234567.89"),
        score=-1.5,
        syllabus=[],
        material=None,
        website=None,
        online=False,
        trainer=2,
    ),
    dict(
        n=5,
        title="Fire drills",
        code="SAF-102",
        level="beginner",
        tags=["safety", "law"],
        start_date=dt.date(2026, 3, 20),
        starts_at=at(4),
        capacity=30,
        price=Decimal("12.50"),
        score=4.5,
        syllabus=None,
        material=None,
        website=None,
        online=None,
        trainer=None,
    ),
    dict(
        n=6,
        title="anti-harassment",
        code="LAW-202",
        level="beginner",
        tags=None,
        start_date=None,
        starts_at=at(5),
        capacity=10,
        price=Decimal("99"),
        score=0.0,
        syllabus={"x": "y"},
        material=None,
        website="https://example.com/ah",
        online=True,
        trainer=3,
    ),
    dict(
        n=7,
        title="Zen of Excel",
        code="TEC-302",
        level="advanced",
        tags=["tech", "soft_skills"],
        start_date=dt.date(2026, 4, 1),
        starts_at=at(6),
        capacity=500,
        price=Decimal("0"),
        score=2.0,
        syllabus=None,
        material=None,
        website=None,
        online=False,
        trainer=5,
    ),
    dict(
        n=8,
        title="Écoute active",
        code=None,
        level="intermediate",
        tags=["soft_skills"],
        start_date=dt.date(2026, 6, 30),
        starts_at=None,
        capacity=1,
        price=Decimal("7.05"),
        score=None,
        syllabus=None,
        material=None,
        website=None,
        online=True,
        trainer=1,
    ),
]

TRAINEES: list[dict[str, Any]] = [
    dict(n=1, name="张伟", department="HR"),
    dict(n=2, name="Dana", department="IT"),
    dict(n=3, name="Eve", department=None),
    dict(n=4, name="Frank", department="IT"),
    dict(n=5, name="Grace", department="Legal"),
]

# n, course, trainee, enrolled_at, grade
ENROLLMENTS: list[tuple[int, int, int, dt.datetime | None, int | None]] = [
    (1, 1, 1, at(10), 90),
    (2, 1, 2, at(11), 75),
    (3, 1, 3, None, None),
    (4, 2, 1, at(12), 88),
    (5, 2, 4, at(12), 60),
    (6, 3, 2, at(13), 95),
    (7, 3, 3, at(13, 10), 95),
    (8, 3, 4, at(14), 40),
    (9, 3, 5, at(15), None),
    (10, 4, 5, at(16), 70),
    (11, 6, 1, at(17), 100),
    (12, 8, 2, at(18), 55),
]

EMPLOYEES = [dict(n=1, name="Hu", employee_no="E-1"), dict(n=2, name="Ivy", employee_no=None)]
COMPLAINTS = [
    dict(
        n=1,
        title="Overtime",
        category="workload",
        body="太多加班",
        anonymous=False,
        submitter=1,
        salary=Decimal("8000.00"),
        due_at=at(20),
    ),
    dict(
        n=2,
        title="Pay slip",
        category="pay",
        body=None,
        anonymous=True,
        submitter=None,
        salary=None,
        due_at=None,
    ),
]


def _created(kind: str, n: int) -> dt.datetime:
    return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=_KINDS[kind], minutes=n)


async def _insert(database: Database, table: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        columns = list(row)
        placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        sql = (
            f"INSERT INTO {qualified(SCHEMA, table)} ({', '.join(map(quote_ident, columns))}) "
            f"VALUES ({placeholders})"
        )
        await database.execute(sql, *row.values())


async def _sealed(database: Database, kind: str, n: int, value: Any) -> bytes | None:
    """A sensitive value as the RecordWriter stores it (sealed under the tenant's data key)."""
    model = compile_model(read_folder(FIXTURES))
    field = model.entity("complaints/complaint").field("salary")
    async with database.transaction() as conn:
        key = await default_keyring().for_write(conn, TENANT_ID)
    return FieldSealer(key).seal(field, uuid_of(kind, n), value)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


async def seed(database: Database) -> None:
    await _insert(
        database,
        "training_trainer",
        [
            {
                "id": uuid.UUID(uuid_of("trainer", t["n"])),
                "created_at": _created("trainer", t["n"]),
                "updated_at": _created("trainer", t["n"]),
                "created_by": "seed" if t["n"] % 2 else None,
                "name": t["name"],
                "email": t["email"],
                "phone": t["phone"],
                "bio": t["bio"],
                "hourly_rate": t["hourly_rate"],
                "rating": t["rating"],
                "active": t["active"],
            }
            for t in TRAINERS
        ],
    )
    await _insert(
        database,
        "training_course",
        [
            {
                "id": uuid.UUID(uuid_of("course", c["n"])),
                "created_at": _created("course", c["n"]),
                "updated_at": _created("course", c["n"]),
                "created_by": "seed",
                "version": c["n"] % 3 + 1,
                "title": c["title"],
                "code": c["code"],
                "level": c["level"],
                "tags": c["tags"],
                "start_date": c["start_date"],
                "starts_at": c["starts_at"],
                "capacity": c["capacity"],
                "price": c["price"],
                "score": c["score"],
                "syllabus": _json(c["syllabus"]),
                "material": _json(c["material"]),
                "website": c["website"],
                "online": c["online"],
                "trainer_id": uuid.UUID(uuid_of("trainer", c["trainer"])) if c["trainer"] else None,
            }
            for c in COURSES
        ],
    )
    await _insert(
        database,
        "training_trainee",
        [
            {
                "id": uuid.UUID(uuid_of("trainee", t["n"])),
                "created_at": _created("trainee", t["n"]),
                "updated_at": _created("trainee", t["n"]),
                "name": t["name"],
                "department": t["department"],
            }
            for t in TRAINEES
        ],
    )
    await _insert(
        database,
        "training_enrollment",
        [
            {
                "id": uuid.UUID(uuid_of("enrollment", n)),
                "created_at": _created("enrollment", n),
                "updated_at": _created("enrollment", n),
                "course_id": uuid.UUID(uuid_of("course", course)),
                "trainee_id": uuid.UUID(uuid_of("trainee", trainee)),
                "enrolled_at": enrolled_at,
                "grade": grade,
            }
            for n, course, trainee, enrolled_at, grade in ENROLLMENTS
        ],
    )
    await _insert(
        database,
        "org_employee",
        [
            {
                "id": uuid.UUID(uuid_of("employee", e["n"])),
                "name": e["name"],
                "employee_no": e["employee_no"],
            }
            for e in EMPLOYEES
        ],
    )
    await _insert(
        database,
        "complaints_complaint",
        [
            {
                "id": uuid.UUID(uuid_of("complaint", c["n"])),
                "title": c["title"],
                "category": c["category"],
                "body": c["body"],
                "anonymous": c["anonymous"],
                "submitter_id": uuid.UUID(uuid_of("employee", c["submitter"]))
                if c["submitter"]
                else None,
                "salary": await _sealed(database, "complaint", c["n"], c["salary"]),
                "due_at": c["due_at"],
            }
            for c in COMPLAINTS
        ],
    )


@pytest.fixture(scope="module")
def rapport_model() -> Model:
    return compile_model(read_folder(FIXTURES))


@pytest.fixture(scope="module")
async def seeded(database: Database, rapport_model: Model) -> Database:
    """The module's database with the tenant schema built and seeded."""
    await migrate(database)
    await database.execute(
        "INSERT INTO rapport.tenants (id, slug, name, schema_name) VALUES ($1, $2, $3, $4)",
        uuid.UUID(TENANT_ID),
        "readpath",
        "Read path",
        SCHEMA,
    )
    await database.execute(f"CREATE SCHEMA {quote_ident(SCHEMA)}")
    for statement in create_model_ddl(SCHEMA, rapport_model):
        await database.execute(statement)
    await seed(database)
    return database


@pytest.fixture(scope="module")
async def tenant_api(seeded: Database, rapport_model: Model) -> AsyncIterator[TenantApi]:
    tenant = Tenant(
        id=TENANT_ID,
        slug="readpath",
        name="Read path",
        schema=SCHEMA,
        metadata_version=3,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    api = build_tenant_api(tenant, TenantMetadata.of(rapport_model), kernel=KERNEL)
    yield api
    api.close()


async def run(
    api: TenantApi,
    database: Database,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    operation_name: str | None = None,
    principal: Principal = PRINCIPAL,
) -> dict[str, Any]:
    """Execute through the compiled path (``@course1`` tokens become ids); decode the body."""
    outcome = await api.execute(
        database, GraphQLRequest(ids(query), operation_name, variables), principal
    )
    decoded: dict[str, Any] = json.loads(outcome.body)
    return decoded
