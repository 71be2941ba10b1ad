"""SQL and Python agree: the rows PostgreSQL selects with compile_sql are the records evaluate accepts.

The fixture model (tests/fixtures/metadata plus one probe entity with a plain uuid field) is
created in a schema of a real database and filled with rows chosen to hit the corners: NULLs
everywhere, Chinese and mixed-case text, ``%``/``_``/``\\`` in text, int4 limits, NaN and
infinities, JSON null, nested JSON, empty arrays, unset relations. Hand-written expressions cover
every operator on every kind; a seeded generator then adds a few hundred random ones.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rapport.db.database import Database
from rapport.expr import (
    ParamList,
    SqlContext,
    compile_sql,
    evaluate,
    operators_for,
    parse_where,
)
from rapport.expr.operands import STRING_KINDS
from rapport.metadata.builder import compile_model
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import documents_from_json, read_folder
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind, Model
from rapport.naming import qualified, quote_ident

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metadata"
SCHEMA = "tenant_exprtest"
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
PROBE = {
    "$id": "lab/probe",
    "title": "Probe",
    "type": "object",
    "properties": {
        "ref": {"type": "string", "format": "uuid"},
        "note": {"type": "string"},
    },
}
KNOWN_REF = "6f1c2a9e-1d4b-4c7e-9a53-2b8e7d0c4f11"
JSON_NULL = object()  # a json column holding the JSON value null (not SQL NULL)


def build_model() -> Model:
    documents = (*read_folder(FIXTURES), *documents_from_json([PROBE]))
    return compile_model(documents)


# -- sample data --------------------------------------------------------------------------------

TITLES = [
    "Intro to Safety",
    "intro to SAFETY",
    "INTRO",
    "劳动法基础",
    "劳动法进阶 Advanced",
    "100% Growth",
    "under_score",
    "back\\slash",
    "Zebra",
    "apple",
    "Äpfel",
    "éclair",
    "Éclair",
    "",
    "Mixed Case 中文 Title",
    "a%b_c",
    "Tech Talk",
    "tech talk 2",
    "Law & Order",
    "law",
    "$dollar",
    "Ωmega",
    "zzz",
    "Z",
    "a",
    "Safety First",
    "安全生产",
    "Leadership",
    "leadership 101",
    "ÉCLAIR",
]
CODES = ["SAF-001", "SAF-002", "LAW-100", "TECH-007", "AB-123", None]
TAGS: list[list[str] | None] = [
    None,
    [],
    ["safety"],
    ["law", "tech"],
    ["safety", "law", "soft_skills", "tech"],
    ["tech"],
    ["soft_skills", "safety"],
]
DATES = [
    None,
    dt.date(2026, 1, 1),
    dt.date(2025, 12, 31),
    dt.date(1999, 1, 1),
    dt.date(2026, 1, 15),
]
DATETIMES = [
    None,
    dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 15, 12, 0, 0, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC),
    dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
]
CAPACITIES = [None, -(2**31), 2**31 - 1, 1, 10, 11, 500, 0]
PRICES = [None, Decimal("0"), Decimal("12.50"), Decimal("12.5"), Decimal("-3.25"), Decimal("0.001")]
SCORES = [None, 0.0, -0.0, 0.1, 1e308, -1e-300, float("nan"), float("inf"), 3.5, float("-inf")]
SYLLABI: list[Any] = [
    None,
    JSON_NULL,
    {"weeks": 3, "topics": ["a", "b"]},
    {"weeks": 3.0, "level": {"min": 1}},
    [1, 2, [3, 4]],
    "plain string",
    42,
    True,
    {"nested": {"a": {"b": 1}}, "topics": []},
    {},
    [],
    ["a", {"x": 1}],
]
MATERIALS: list[Any] = [
    None,
    {"key": "k1", "name": "a.pdf", "size": 100, "contentType": "application/pdf", "sha256": "00"},
    {"key": "k2", "name": "b.png", "size": 2048, "contentType": "image/png", "sha256": "11"},
]
WEBSITES = [None, "https://example.com/a_b", "http://EXAMPLE.com/%20", "https://例子.中国/"]
ONLINE = [None, True, False]
TRAINERS = [
    (
        "王伟",
        "wang@example.com",
        "+86 138 0000 0000",
        "Bio with 100% effort",
        Decimal("120.00"),
        5,
        True,
    ),
    ("Li Na", "li.na@example.com", None, None, Decimal("80.50"), 3, False),
    ("ANNA", None, "555_1234", "likes_underscores", None, None, None),
    ("anna", "ANNA@EXAMPLE.COM", None, "", Decimal("0.00"), 1, True),
    ("Zoë", "zoe@example.com", "(555) 1234", "back\\slash bio", Decimal("999999.99"), 4, True),
    ("张三", None, None, "讲师简介", Decimal("-1.00"), 2, False),
]
TRAINEES = [
    ("Amy", "Sales"),
    ("Bob", "R&D"),
    ("Chen", "销售"),
    ("dave", None),
    ("Eve", "sales"),
    ("Frank", "R&D"),
    ("Gao", "Sales"),
    ("Hu", None),
]
GRADES = [None, 0, 59, 60, 100, 85]


@dataclass(repr=False)  # records are linked in cycles: a generated repr would never end
class Sample:
    model: Model
    records: dict[str, list[dict[str, Any]]]  # entity id -> records (GraphQL names, linked)
    wire_records: dict[str, list[Any]]  # the same in the GraphQL wire format
    variables: dict[str, Any]

    def __repr__(self) -> str:
        return f"Sample({ {k: len(v) for k, v in self.records.items()} })"


def new_uuid(rng: random.Random) -> uuid.UUID:
    """A random uuid from the seeded generator: the same data, hence the same test, every run."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def created(rng: random.Random) -> dt.datetime:
    return NOW - dt.timedelta(days=rng.randint(0, 40), microseconds=rng.randint(0, 10**6))


async def insert_rows(db: Database, rng: random.Random) -> None:
    trainer_ids = [new_uuid(rng) for _ in TRAINERS]
    for tid, (name, email, phone, bio, rate, rating, active) in zip(
        trainer_ids, TRAINERS, strict=True
    ):
        await db.execute(
            f"INSERT INTO {qualified(SCHEMA, 'training_trainer')} "
            "(id, name, email, phone, bio, hourly_rate, rating, active, created_by, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            tid, name, email, phone, bio, rate, rating, active, rng.choice([None, "admin", "Admin"]),
            created(rng),
        )  # fmt: skip
    trainee_ids = [new_uuid(rng) for _ in TRAINEES]
    for tid, (name, department) in zip(trainee_ids, TRAINEES, strict=True):
        await db.execute(
            f"INSERT INTO {qualified(SCHEMA, 'training_trainee')} "
            "(id, name, department, created_at) VALUES ($1, $2, $3, $4)",
            tid,
            name,
            department,
            created(rng),
        )
    course_ids = [new_uuid(rng) for _ in TITLES]
    used_codes: set[str] = set()
    for i, (cid, title) in enumerate(zip(course_ids, TITLES, strict=True)):
        code = rng.choice(CODES)
        if code in used_codes:
            code = None
        if code is not None:
            used_codes.add(code)
        syllabus = SYLLABI[i % len(SYLLABI)]
        material = rng.choice(MATERIALS)
        await db.execute(
            f"INSERT INTO {qualified(SCHEMA, 'training_course')} "
            "(id, title, code, level, tags, start_date, starts_at, capacity, price, score, "
            "syllabus, material, website, online, trainer_id, version, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13, $14, "
            "$15, $16, $17, $18)",
            cid,
            title,
            code,
            rng.choice(["beginner", "intermediate", "advanced"]),
            TAGS[i % len(TAGS)],
            rng.choice(DATES),
            rng.choice(DATETIMES),
            CAPACITIES[i % len(CAPACITIES)],
            rng.choice(PRICES),
            SCORES[i % len(SCORES)],
            _jsonb(syllabus),
            _jsonb(material),
            rng.choice(WEBSITES),
            rng.choice(ONLINE),
            rng.choice([None, *trainer_ids[:-1]]),  # the last trainer teaches nothing
            rng.choice([1, 2, 7]),
            created(rng),
            rng.choice([None, "admin", "hr"]),
        )
    pairs = {(rng.choice(course_ids), rng.choice(trainee_ids)) for _ in range(45)}
    for course_id, trainee_id in sorted(pairs):
        await db.execute(
            f"INSERT INTO {qualified(SCHEMA, 'training_enrollment')} "
            "(id, course_id, trainee_id, enrolled_at, grade, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            new_uuid(rng),
            course_id,
            trainee_id,
            rng.choice(DATETIMES),
            rng.choice(GRADES),
            created(rng),
        )
    for ref, note in [(KNOWN_REF, "known"), (None, "none"), (str(new_uuid(rng)), "other")]:
        await db.execute(
            f"INSERT INTO {qualified(SCHEMA, 'lab_probe')} (id, ref, note, created_at) "
            "VALUES ($1, $2, $3, $4)",
            new_uuid(rng),
            ref,
            note,
            created(rng),
        )


LINGUISTIC = ("en-x-icu", "und-x-icu", "en_US.utf8", "en_US.UTF-8", "en_US")


async def use_linguistic_collation(db: Database, model: Model) -> None:
    """Give text columns a linguistic collation when the server has one.

    The test server's databases use C.UTF-8, where code-point order and C collation coincide;
    production servers often run en_US. Under a linguistic collation, a compiler that forgot
    ``COLLATE "C"`` would order "apple" before "Zebra" and fold "É" to "é" — and disagree
    with Python, which the tests would then catch.
    """
    found = await db.fetchval(
        "SELECT collname FROM pg_collation WHERE collname = ANY($1::text[]) "
        "ORDER BY array_position($1::text[], collname::text) LIMIT 1",
        list(LINGUISTIC),
    )
    if found is None:
        return
    for entity in model:
        for field in entity.stored_fields:
            if field.column is not None and (
                field.kind in STRING_KINDS or field.kind is FieldKind.ENUM
            ):
                await db.execute(
                    f"ALTER TABLE {qualified(SCHEMA, entity.table)} ALTER COLUMN "
                    f"{quote_ident(field.column)} TYPE text COLLATE {quote_ident(found)}"
                )


def _jsonb(value: Any) -> str | None:
    if value is None:
        return None
    return "null" if value is JSON_NULL else json.dumps(value)


async def load_records(db: Database, model: Model) -> dict[str, list[dict[str, Any]]]:
    """Every row of every entity as a record: GraphQL names, relations linked both ways."""
    by_id: dict[str, dict[str, dict[str, Any]]] = {}
    for entity in model:
        rows = await db.fetch(f"SELECT * FROM {qualified(SCHEMA, entity.table)} ORDER BY id")
        records: dict[str, dict[str, Any]] = {}
        for row in rows:
            record: dict[str, Any] = {f.name: row[f.column] for f in SYSTEM_FIELDS}
            for field in entity.stored_fields:
                value = row[field.column]
                if field.kind in (FieldKind.JSON, FieldKind.FILE) and value is not None:
                    value = json.loads(value)
                if field.kind is FieldKind.RELATION:
                    record[f"{field.name}Id"] = value  # replaced by the nested record below
                else:
                    record[field.name] = value
            records[str(row["id"])] = record
        by_id[entity.id] = records
    for entity in model:
        for record in by_id[entity.id].values():
            for reverse in entity.reverse_relations:
                record[reverse.name] = []
            for field in entity.fields:
                if field.kind is FieldKind.MANY_TO_MANY:
                    record[field.name] = []
    for entity in model:
        for record in by_id[entity.id].values():
            for field in entity.fields:
                if field.kind is not FieldKind.RELATION or field.relation is None:
                    continue
                target_id = record.pop(f"{field.name}Id")
                target = None if target_id is None else by_id[field.relation.target][str(target_id)]
                record[field.name] = target  # evaluate finds trainerId through the nested record
                if target is not None:
                    target[field.relation.inverse or ""].append(record)
    for entity in model:
        for field in entity.fields:
            m2m = field.many_to_many
            if m2m is None:
                continue
            for link in by_id[m2m.through].values():
                source, far = link[m2m.source_field], link[m2m.target_field]
                source[field.name].append(far)
    return {entity_id: list(records.values()) for entity_id, records in by_id.items()}


@pytest.fixture(scope="module")
async def sample(database: Database) -> Sample:
    model = build_model()
    await database.execute(f"CREATE SCHEMA {quote_ident(SCHEMA)}")
    for statement in create_model_ddl(SCHEMA, model):
        await database.execute(statement)
    await use_linguistic_collation(database, model)
    await insert_rows(database, random.Random(20260115))
    for entity in model:  # vary the system columns, and keep them independent of the clock
        await database.execute(
            f"UPDATE {qualified(SCHEMA, entity.table)} SET "
            "version = 1 + abs(hashtext(id::text)) % 3, "
            "created_by = (ARRAY[NULL, 'admin', 'Admin', 'hr'])[1 + abs(hashtext(id::text)) % 4], "
            "updated_at = created_at + make_interval(hours => abs(hashtext(id::text)) % 5)"
        )
    records = await load_records(database, model)
    busiest = max(records["training/trainer"], key=lambda t: len(t["courses"]))
    trainer_id = str(busiest["id"])
    variables = {
        "user.id": trainer_id,
        "user.roles": ["admin", "hr"],
        "user.departments": ["Sales", "销售", None],
        "user.department": "Sales",
        "user.level": "intermediate",
        "user.minCapacity": "10",
        "user.ref": KNOWN_REF.upper(),
        "user.nothing": None,
        "user.tag": "law",
        "user.pattern": "%a%",
        "now": NOW,
    }
    wired = {entity_id: [wire(r) for r in rows] for entity_id, rows in records.items()}
    return Sample(model, records, wired, variables)


async def selected(database: Database, sample: Sample, entity: EntityDef, doc: Any) -> set[str]:
    expr = parse_where(doc, entity, sample.model)
    params = ParamList()
    where = compile_sql(expr, SqlContext(SCHEMA, "r", params, sample.variables, sample.model))
    rows = await database.fetch(
        f"SELECT r.id FROM {qualified(SCHEMA, entity.table)} AS r WHERE {where}", *params.values
    )
    return {str(row["id"]) for row in rows}


def accepted(
    sample: Sample, entity: EntityDef, doc: Any, records: Sequence[Mapping[str, Any]]
) -> set[str]:
    expr = parse_where(doc, entity, sample.model)
    return {str(r["id"]) for r in records if evaluate(expr, r, sample.variables)}


def wire(value: Any, depth: int = 0) -> Any:
    """A record in the GraphQL wire form: uuids, decimals, dates as strings."""
    if isinstance(value, dict):
        if depth > 3:  # records are linked in cycles; the expressions never go this deep
            return value
        return {k: wire(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v, depth + 1) for v in value]
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


async def check_agreement(
    database: Database, sample: Sample, entity_id: str, doc: Any
) -> tuple[set[str], set[str]]:
    entity = sample.model.entity(entity_id)
    records = sample.records[entity_id]
    in_sql = await selected(database, sample, entity, doc)
    in_python = accepted(sample, entity, doc, records)
    assert in_sql == in_python, (
        f"{entity_id} {json.dumps(doc, ensure_ascii=False, default=str)}: "
        f"only SQL {sorted(in_sql - in_python)}, only Python {sorted(in_python - in_sql)}"
    )
    in_wire = accepted(sample, entity, doc, sample.wire_records[entity_id])
    assert in_wire == in_python, f"wire-format records disagree for {doc}"
    return in_sql, {str(r["id"]) for r in records}


# -- hand-written expressions ---------------------------------------------------------------------

C = "training/course"
T = "training/trainer"
S = "training/trainee"
E = "training/enrollment"
P = "lab/probe"

CASES: list[tuple[str, dict[str, Any]]] = [
    # strings: equality, ordering under COLLATE "C", patterns with %, _ and \
    (C, {"title": {"_eq": "Intro to Safety"}}),
    (C, {"title": {"_neq": "Intro to Safety"}}),
    (C, {"title": {"_gt": "Z"}}),
    (C, {"title": {"_lte": "a"}}),
    (C, {"title": {"_between": ["A", "Zz"]}}),
    (C, {"title": {"_gte": "劳动法"}}),
    (C, {"title": {"_in": ["INTRO", "apple", "nope"]}}),
    (C, {"title": {"_nin": ["INTRO", "apple"]}}),
    (C, {"code": {"_nin": ["SAF-001"]}}),
    (C, {"code": {"_is_null": True}}),
    (C, {"title": {"_like": "%Safety%"}}),
    (C, {"title": {"_like": "_ntro%"}}),
    (C, {"title": {"_like": "%\\%%"}}),
    (C, {"title": {"_like": "%\\_%"}}),
    (C, {"title": {"_like": "%\\\\%"}}),
    (C, {"title": {"_ilike": "intro%"}}),
    (C, {"title": {"_ilike": "%éclair%"}}),
    (C, {"title": {"_ilike": "%中文%"}}),
    (C, {"title": {"_starts_with": "100%"}}),
    (C, {"title": {"_starts_with": "劳动法"}}),
    (C, {"title": {"_contains": "_"}}),
    (C, {"title": {"_contains": "%"}}),
    (C, {"title": {"_contains": "\\"}}),
    (C, {"title": {"_contains": "$$"}}),
    (C, {"title": {"_starts_with": "$$dollar"}}),
    (C, {"website": {"_contains": "%20"}}),
    (C, {"website": {"_ilike": "%example%"}}),
    # enum and multi-enum
    (C, {"level": {"_eq": "beginner"}}),
    (C, {"level": {"_in": ["beginner", "advanced"]}}),
    (C, {"level": {"_like": "%ate"}}),
    (C, {"tags": {"_contains": "law"}}),
    (C, {"tags": {"_contains": ["safety", "tech"]}}),
    (C, {"tags": {"_contains": []}}),
    (C, {"tags": {"_is_null": True}}),
    (C, {"_not": {"tags": {"_contains": "law"}}}),
    # numbers: int4 limits, exact decimals, NaN and infinities
    (C, {"capacity": {"_gt": 10}}),
    (C, {"capacity": {"_lte": -2147483648}}),
    (C, {"capacity": {"_gte": 2147483647}}),
    (C, {"capacity": {"_between": [1, "11"]}}),
    (C, {"capacity": {"_in": [0, 1, 500]}}),
    (C, {"capacity": {"_neq": 10}}),
    (C, {"price": {"_eq": "12.5"}}),
    (C, {"price": {"_gt": 0.0009}}),
    (C, {"price": {"_lt": 0}}),
    (C, {"price": {"_in": [12.50, "0.001"]}}),
    (C, {"score": {"_gt": 1}}),
    (C, {"score": {"_eq": 0}}),
    (C, {"score": {"_lt": -1e307}}),
    (C, {"score": {"_between": [-1, 1]}}),
    (C, {"score": {"_nin": [0.1, 3.5]}}),
    (C, {"_not": {"score": {"_gte": 0}}}),
    # booleans, dates, date-times
    (C, {"online": {"_eq": False}}),
    (C, {"online": {"_neq": True}}),
    (C, {"online": {"_is_null": False}}),
    (C, {"startDate": {"_lt": "2026-01-01"}}),
    (C, {"startDate": {"_between": ["2025-12-31", "2026-01-01"]}}),
    (C, {"startDate": {"_gte": "$now"}}),
    (C, {"startsAt": {"_eq": "2026-01-15T12:00:00Z"}}),
    (C, {"startsAt": {"_eq": "2026-01-15T20:00:00+08:00"}}),
    (C, {"startsAt": {"_gt": "$now"}}),
    (C, {"startsAt": {"_lte": "2026-01-15"}}),
    (C, {"startsAt": {"_in": ["2030-01-01T00:00:00Z", "2025-06-01T08:30:00Z"]}}),
    (C, {"createdAt": {"_gt": "2026-01-01T00:00:00Z"}}),
    (C, {"version": {"_gt": 1}}),
    # json and file
    (C, {"syllabus": {"_contains": {"weeks": 3}}}),
    (C, {"syllabus": {"_contains": {"topics": ["a"]}}}),
    (C, {"syllabus": {"_contains": {"nested": {"a": {}}}}}),
    (C, {"syllabus": {"_contains": [[3]]}}),
    (C, {"syllabus": {"_contains": [2, 1]}}),
    (C, {"syllabus": {"_contains": "a"}}),
    (C, {"syllabus": {"_contains": "plain string"}}),
    (C, {"syllabus": {"_contains": 42}}),
    (C, {"syllabus": {"_contains": [{"x": 1}]}}),
    (C, {"syllabus": {"_contains": {}}}),
    (C, {"syllabus": {"_is_null": True}}),
    (C, {"syllabus": {"_is_null": False}}),
    (C, {"material": {"_contains": {"contentType": "application/pdf"}}}),
    (C, {"material": {"_is_null": True}}),
    # system fields and uuids
    (C, {"createdBy": {"_is_null": True}}),
    (C, {"trainerId": {"_is_null": True}}),
    (C, {"trainerId": {"_eq": "$user.id"}}),
    (C, {"trainerId": {"_neq": "$user.id"}}),
    (P, {"ref": {"_eq": KNOWN_REF}}),
    (P, {"ref": {"_eq": "$user.ref"}}),
    (P, {"ref": {"_neq": KNOWN_REF}}),
    (P, {"ref": {"_nin": [KNOWN_REF]}}),
    (P, {"ref": {"_in": "$user.nothing"}}),
    (P, {"ref": {"_nin": "$user.nothing"}}),
    # logic and null semantics
    (C, {"_not": {"capacity": {"_gt": 10}}}),
    (C, {"_not": {"_not": {"capacity": {"_gt": 10}}}}),
    (C, {"_or": [{"capacity": {"_lt": 5}}, {"online": {"_eq": True}}]}),
    (C, {"_and": [{"capacity": {"_gte": 1}}, {"capacity": {"_lte": 500}}]}),
    (C, {"_not": {"_or": [{"price": {"_gt": 1}}, {"code": {"_like": "SAF%"}}]}}),
    (C, {"_not": {"_and": [{"price": {"_gt": 1}}, {"score": {"_gt": 1}}]}}),
    (C, {"capacity": {"_gt": 1, "_lt": 500}, "level": {"_neq": "advanced"}}),
    (C, {}),
    (C, {"_and": []}),
    (C, {"_or": []}),
    (C, {"_not": {"_or": []}}),
    # computed field, inlined
    (C, {"isSmall": {"_eq": True}}),
    (C, {"isSmall": {"_eq": False}}),
    # relations: many-to-one, reverse, many-to-many, nested
    (C, {"trainer": {"name": {"_ilike": "anna"}}}),
    (C, {"trainer": {}}),
    (C, {"_not": {"trainer": {"active": {"_eq": True}}}}),
    (C, {"trainer": {"hourlyRate": {"_gte": "100"}, "rating": {"_in": [4, 5]}}}),
    (C, {"trainer": {"courses": {"_every": {"trainerId": {"_eq": "$user.id"}}}}}),
    (
        C,
        {
            "trainer": {
                "courses": {"_some": {"level": {"_neq": "beginner"}, "online": {"_eq": True}}}
            }
        },
    ),
    (C, {"enrollments": {"_some": {"grade": {"_gte": 60}}}}),
    (C, {"enrollments": {"_none": {"grade": {"_lt": 60}}}}),
    (C, {"enrollments": {"_every": {"grade": {"_gte": 60}}}}),
    (C, {"enrollments": {"_some": {}}}),
    (C, {"enrollments": {"_every": {"trainee": {"department": {"_is_null": False}}}}}),
    (C, {"trainees": {"_some": {"department": {"_in": "$user.departments"}}}}),
    (C, {"trainees": {"_none": {"name": {"_ilike": "%a%"}}}}),
    (C, {"trainees": {"_every": {"department": {"_eq": "$user.department"}}}}),
    (C, {"trainees": {"_some": {"enrollments": {"_some": {"grade": {"_eq": 100}}}}}}),
    (T, {"courses": {"_some": {"tags": {"_contains": "$user.tag"}}}}),
    (T, {"courses": {"_none": {}}}),
    (T, {"courses": {"_every": {"capacity": {"_gt": 0}}}}),
    (T, {"email": {"_ilike": "%@EXAMPLE.com"}}),
    (T, {"phone": {"_contains": "_"}}),
    (T, {"bio": {"_like": "%\\\\%"}}),
    (T, {"hourlyRate": {"_between": [0, "120"]}}),
    (T, {"rating": {"_gte": 3}, "active": {"_neq": False}}),
    (T, {"id": {"_eq": "$user.id"}}),
    (S, {"department": {"_in": "$user.departments"}}),
    (S, {"department": {"_nin": "$user.departments"}}),
    (S, {"department": {"_eq": "$user.nothing"}}),
    (S, {"department": {"_neq": "$user.nothing"}}),
    (S, {"department": {"_like": "$user.pattern"}}),
    (S, {"enrollments": {"_some": {"course": {"level": {"_eq": "$user.level"}}}}}),
    (E, {"course": {"trainer": {"name": {"_eq": "王伟"}}}}),
    (E, {"grade": {"_gte": "$user.minCapacity"}}),
    (E, {"enrolledAt": {"_lt": "$now"}, "trainee": {"name": {"_gt": "Chen"}}}),
    (E, {"_or": [{"grade": {"_is_null": True}}, {"course": {"isSmall": {"_eq": True}}}]}),
]

# Cases that legitimately select all or no rows; every other case must split the rows.
TRIVIAL = {
    json.dumps(doc, sort_keys=True)
    for doc in [
        {},
        {"_and": []},
        {"_or": []},
        {"_not": {"_or": []}},
        {"ref": {"_in": "$user.nothing"}},
        {"ref": {"_nin": "$user.nothing"}},
        {"department": {"_eq": "$user.nothing"}},
    ]
}


@pytest.mark.parametrize(
    ("entity_id", "doc"),
    CASES,
    ids=[f"{i}-{json.dumps(doc, ensure_ascii=False)[:60]}" for i, (_, doc) in enumerate(CASES)],
)
async def test_sql_and_python_agree(
    database: Database, sample: Sample, entity_id: str, doc: dict[str, Any]
) -> None:
    matched, everything = await check_agreement(database, sample, entity_id, doc)

    trivial = json.dumps(doc, sort_keys=True) in TRIVIAL
    assert trivial or 0 < len(matched) < len(everything), (
        f"{doc} selects {len(matched)} of {len(everything)} rows: it cannot tell SQL from Python"
    )


# -- known answers: agreement is not enough, both sides must be right ----------------------------


async def titles(database: Database, sample: Sample, doc: dict[str, Any]) -> list[str]:
    ids = await check_agreement(database, sample, C, doc)
    return sorted(r["title"] for r in sample.records[C] if str(r["id"]) in ids[0])


async def test_like_family_known_answers(database: Database, sample: Sample) -> None:
    assert await titles(database, sample, {"title": {"_ilike": "intro%"}}) == [
        "INTRO",
        "Intro to Safety",
        "intro to SAFETY",
    ]
    # ILIKE folds only A-Z: É and é stay different.
    assert await titles(database, sample, {"title": {"_ilike": "%clair"}}) == [
        "ÉCLAIR",
        "Éclair",
        "éclair",
    ]
    assert await titles(database, sample, {"title": {"_ilike": "éclair"}}) == ["éclair"]
    assert await titles(database, sample, {"title": {"_ilike": "Éclair"}}) == ["ÉCLAIR", "Éclair"]
    assert await titles(database, sample, {"title": {"_contains": "%"}}) == [
        "100% Growth",
        "a%b_c",
    ]
    assert await titles(database, sample, {"title": {"_like": "a%b\\_c"}}) == ["a%b_c"]
    assert await titles(database, sample, {"title": {"_contains": "\\"}}) == ["back\\slash"]
    assert await titles(database, sample, {"title": {"_starts_with": "$$"}}) == ["$dollar"]


async def test_string_order_is_code_point_order(database: Database, sample: Sample) -> None:
    # Under a linguistic collation "apple" < "Zebra"; by code point every capital comes first.
    assert await titles(database, sample, {"title": {"_gt": "Zebra", "_lt": "a"}}) == []
    assert await titles(database, sample, {"title": {"_between": ["Z", "a"]}}) == [
        "Z",
        "Zebra",
        "a",
    ]
    upper_than_z = await titles(database, sample, {"title": {"_gt": "zzz"}})
    assert upper_than_z == sorted(t for t in TITLES if t > "zzz")
    assert "劳动法基础" in upper_than_z and "Äpfel" in upper_than_z


async def test_null_semantics_known_answers(database: Database, sample: Sample) -> None:
    courses = sample.records[C]
    no_capacity = {str(r["id"]) for r in courses if r["capacity"] is None}
    not_gt, _ = await check_agreement(database, sample, C, {"_not": {"capacity": {"_gt": 10}}})
    gt, _ = await check_agreement(database, sample, C, {"capacity": {"_gt": 10}})
    assert no_capacity and no_capacity <= not_gt
    assert gt.isdisjoint(not_gt) and len(gt) + len(not_gt) == len(courses)
    neq, _ = await check_agreement(database, sample, C, {"capacity": {"_neq": 10}})
    assert no_capacity <= neq
    sql_nulls, json_nulls = await database.fetchrow(
        "SELECT count(*) FILTER (WHERE syllabus IS NULL), "
        "count(*) FILTER (WHERE jsonb_typeof(syllabus) = 'null') "
        f"FROM {qualified(SCHEMA, 'training_course')}"
    ) or (0, 0)
    assert sql_nulls > 0 and json_nulls > 0
    is_null, _ = await check_agreement(database, sample, C, {"syllabus": {"_is_null": True}})
    assert len(is_null) == sql_nulls + json_nulls


async def test_nan_orders_above_every_number(database: Database, sample: Sample) -> None:
    above, _ = await check_agreement(database, sample, C, {"score": {"_gt": 1e308}})
    scores = {str(r["id"]): r["score"] for r in sample.records[C]}
    assert sorted(repr(scores[i]) for i in above) == sorted(
        repr(s) for s in scores.values() if s is not None and (s != s or s == float("inf"))
    )


# -- generated expressions -------------------------------------------------------------------------

OPERAND_OPS = ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte")


class Generator:
    """Random where documents over the sample's own values, plus near misses and variables."""

    def __init__(self, sample: Sample, rng: random.Random) -> None:
        self.sample = sample
        self.rng = rng

    def doc(self, entity: EntityDef, depth: int) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random()
        if depth <= 0 or roll < 0.45:
            return self.atom(entity, depth)
        if roll < 0.6:
            key = rng.choice(["_and", "_or"])
            return {key: [self.doc(entity, depth - 1) for _ in range(rng.randint(0, 3))]}
        if roll < 0.7:
            return {"_not": self.doc(entity, depth - 1)}
        if roll < 0.8:
            return {**self.atom(entity, depth), **self.atom(entity, depth)}
        return self.relation(entity, depth)

    def relation(self, entity: EntityDef, depth: int) -> dict[str, Any]:
        options: list[tuple[str, str, bool]] = []  # (key, target, quantified)
        for field in entity.fields:
            if field.relation is not None:
                options.append((field.name, field.relation.target, False))
            if field.many_to_many is not None:
                options.append((field.name, field.many_to_many.target, True))
        options.extend((r.name, r.source, True) for r in entity.reverse_relations)
        if not options:
            return self.atom(entity, depth)
        key, target_id, quantified = self.rng.choice(options)
        inner = self.doc(self.sample.model.entity(target_id), depth - 1)
        if quantified:
            return {key: {self.rng.choice(["_some", "_none", "_every"]): inner}}
        return {key: inner}

    def atom(self, entity: EntityDef, depth: int) -> dict[str, Any]:
        rng = self.rng
        fields: list[tuple[str, FieldKind, tuple[str, ...]]] = []
        for field in entity.fields:
            if field.kind is FieldKind.RELATION:
                fields.append((f"{field.name}Id", FieldKind.UUID, ()))
            elif field.kind is FieldKind.COMPUTED:
                fields.append((field.name, field.kind, ()))
            elif field.column is not None:
                fields.append((field.name, field.kind, field.enum_values))
        if rng.random() < 0.25:
            fields = [(f.name, f.kind, ()) for f in SYSTEM_FIELDS]
        name, kind, enum_values = rng.choice(fields)
        op = rng.choice(operators_for(kind))
        present: list[Any] = []
        if kind is not FieldKind.COMPUTED:
            column_values = [
                r[name] if name in r else (r[name[:-2]] or {}).get("id")
                for r in self.sample.records[entity.id]
            ]
            present = [v for v in column_values if v is not None]
        return {name: {op: self.operand(kind, op, present, enum_values)}}

    def operand(
        self, kind: FieldKind, op: str, present: list[Any], enum_values: tuple[str, ...]
    ) -> Any:
        rng = self.rng
        if op == "_is_null":
            return rng.choice([True, False])
        if kind is FieldKind.COMPUTED:
            return rng.choice([True, False])
        if op in ("_in", "_nin"):
            if rng.random() < 0.15:
                return (
                    rng.choice(["$user.departments", "$user.roles", "$user.nothing"])
                    if (kind in (FieldKind.STRING, FieldKind.TEXT, FieldKind.ENUM))
                    else []
                )
            return [self.scalar(kind, present, enum_values) for _ in range(rng.randint(0, 3))]
        if op == "_between":
            low, high = (
                self.scalar(kind, present, enum_values),
                self.scalar(kind, present, enum_values),
            )
            return [low, high]
        if kind is FieldKind.MULTI_ENUM:
            picks = rng.sample(list(enum_values), rng.randint(0, 2))
            return picks[0] if len(picks) == 1 and rng.random() < 0.5 else picks
        if kind in (FieldKind.JSON, FieldKind.FILE):
            return self.json_part(rng.choice(present) if present else {})
        if op in ("_like", "_ilike", "_starts_with", "_contains"):
            return self.text_operand(op, present, enum_values)
        if (
            op in OPERAND_OPS
            and kind in (FieldKind.DATE, FieldKind.DATETIME)
            and rng.random() < 0.2
        ):
            return "$now"
        return self.scalar(kind, present, enum_values)

    def text_operand(self, op: str, present: list[Any], enum_values: tuple[str, ...]) -> str:
        rng = self.rng
        source = str(rng.choice(present or list(enum_values) or ["x"]))
        start = rng.randint(0, len(source))
        piece = source[start : rng.randint(start, len(source))]
        if op in ("_starts_with",):
            piece = source[: rng.randint(0, len(source))]
        if rng.random() < 0.3:
            piece = piece.swapcase()
        if op in ("_like", "_ilike"):
            chars = [c if rng.random() > 0.2 else rng.choice(["%", "_"]) for c in piece]
            pattern = "".join(chars).replace("\\", "\\\\")
            return rng.choice([pattern, f"%{pattern}", f"{pattern}%", f"%{pattern}%"])
        return "$$" + piece if piece.startswith("$") else piece

    def scalar(self, kind: FieldKind, present: list[Any], enum_values: tuple[str, ...]) -> Any:
        rng = self.rng
        if kind is FieldKind.ENUM:
            return rng.choice(enum_values)
        if kind is FieldKind.BOOLEAN:
            return rng.choice([True, False])
        if kind is FieldKind.UUID:
            return (
                str(rng.choice(present)) if present and rng.random() < 0.8 else str(new_uuid(rng))
            )
        base = rng.choice(present) if present else None
        if kind in (FieldKind.INTEGER, FieldKind.RATING):
            whole = base if isinstance(base, int) else 0
            return max(-(2**31), min(2**31 - 1, whole + rng.choice([-1, 0, 0, 1])))
        if kind in (FieldKind.DECIMAL, FieldKind.MONEY):
            exact = base if isinstance(base, Decimal) else Decimal(0)
            return str(exact + rng.choice([Decimal("-0.01"), Decimal(0), Decimal("0.005")]))
        if kind is FieldKind.FLOAT:
            number = base if isinstance(base, float) and base == base and abs(base) < 1e300 else 0.0
            return number + rng.choice([-0.5, 0.0, 0.0, 0.5])
        if kind is FieldKind.DATE:
            day = base if isinstance(base, dt.date) else dt.date(2026, 1, 1)
            return (day + dt.timedelta(days=rng.choice([-1, 0, 1]))).isoformat()
        if kind is FieldKind.DATETIME:
            moment = base if isinstance(base, dt.datetime) else NOW
            return (moment + dt.timedelta(microseconds=rng.choice([-1, 0, 1]))).isoformat()
        text = str(base) if base is not None else ""
        text = rng.choice([text, text, text, text + "a", text[:-1], text.upper(), "Z", "a", "中"])
        return "$$" + text if text.startswith("$") else text

    def json_part(self, value: Any) -> Any:
        rng = self.rng
        if isinstance(value, dict) and value and rng.random() < 0.7:
            key = rng.choice(sorted(value))
            return {key: self.json_part(value[key])}
        if isinstance(value, list) and value and rng.random() < 0.7:
            return [self.json_part(rng.choice(value))]
        if rng.random() < 0.1:
            return rng.choice([{"weeks": 3.0}, [1], "a", 3, True, {"topics": []}])
        return value if value is not None else {}


@pytest.mark.parametrize("entity_id", [C, T, S, E, P])
async def test_generated_expressions_agree(
    database: Database, sample: Sample, entity_id: str
) -> None:
    generator = Generator(sample, random.Random(f"agreement-{entity_id}"))
    entity = sample.model.entity(entity_id)
    split = 0
    for _ in range(120):
        doc = generator.doc(entity, depth=3)
        matched, everything = await check_agreement(database, sample, entity_id, doc)
        split += 0 < len(matched) < len(everything)
    # Most generated expressions must tell rows apart, or agreement would prove little.
    assert split >= 40
