"""The comparison's data and queries: training courses, their trainers and enrolments.

The same tables (Rapport's, published from bench/metadata/training) are read by all three
servers: intermediate courses by start date, each with its trainer and its enrolment count.
Start dates are unique, so the order is total and every server must return the same rows in
the same order; :func:`check_same` verifies that before anything is timed.
"""

from __future__ import annotations

import json
from typing import Any

from rapport.db.database import Database

__all__ = [
    "CREATE_INPUT",
    "Mismatch",
    "check_same",
    "limit_body",
    "postgraphile_body",
    "postgraphile_create_body",
    "rapport_body",
    "rapport_create_body",
    "seed_training",
]

RAPPORT_LIST = """
query Courses($first: Int!) {
  courses(first: $first, where: {level: {_eq: intermediate}}, orderBy: [{startDate: ASC}]) {
    edges { node {
      id title code level startDate capacity
      trainer { id name }
      enrollments { totalCount }
    } }
  }
}
"""
# The same selection in PostGraphile's names, aliased so that the answer has Rapport's shape.
POSTGRAPHILE_LIST = """
query Courses($first: Int!) {
  courses: allTrainingCourses(first: $first, condition: {level: "intermediate"},
                              orderBy: [START_DATE_ASC]) {
    edges { node {
      id: rowId title code level startDate capacity
      trainer: trainingTrainerByTrainerId { id: rowId name }
      enrollments: trainingEnrollmentsByCourseId { totalCount }
    } }
  }
}
"""
RAPPORT_CREATE = """
mutation Create($input: CourseCreateInput!) { createCourse(input: $input) { id } }
"""
POSTGRAPHILE_CREATE = """
mutation Create($input: TrainingCourseInput!) {
  createCourse: createTrainingCourse(input: {trainingCourse: $input}) {
    trainingCourse { id: rowId }
  }
}
"""
# Advanced courses without a start date: writes never change the pages the reads measure.
CREATE_INPUT = {
    "title": "Written by the benchmark",
    "code": "W-1",
    "level": "advanced",
    "capacity": 12,
}


class Mismatch(SystemExit):
    """The servers do not answer the same rows in the same order: nothing is timed."""


def _body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def rapport_body(first: int) -> bytes:
    return _body(RAPPORT_LIST, {"first": first})


def postgraphile_body(first: int) -> bytes:
    return _body(POSTGRAPHILE_LIST, {"first": first})


def limit_body(first: int, *, reverse: bool = False) -> bytes:
    variables: dict[str, Any] = {"first": first}
    if reverse:
        variables["reverse"] = True
    return _body("# the limit ignores the query text", variables)


def rapport_create_body() -> bytes:
    return _body(RAPPORT_CREATE, {"input": CREATE_INPUT})


def postgraphile_create_body() -> bytes:
    return _body(POSTGRAPHILE_CREATE, {"input": CREATE_INPUT})


def check_same(label: str, answers: dict[str, bytes], *, rows: int) -> None:
    """Raise :class:`Mismatch` unless every answer holds the same ``rows`` courses, in order,
    with equal fields; the first answer is the reference."""
    parsed = {name: json.loads(body) for name, body in answers.items()}
    reference_name, reference = next(iter(parsed.items()))
    for name, answer in parsed.items():
        if "errors" in answer:
            raise Mismatch(f"{label}: {name} answered errors: {str(answer['errors'])[:500]}")
        edges = answer.get("data", {}).get("courses", {}).get("edges")
        if not isinstance(edges, list) or len(edges) != rows:
            count = len(edges) if isinstance(edges, list) else "no"
            raise Mismatch(f"{label}: {name} answered {count} rows, expected {rows}")
    for name, answer in parsed.items():
        if answer != reference:
            ours = answer["data"]["courses"]["edges"]
            theirs = reference["data"]["courses"]["edges"]
            first = next(i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
            raise Mismatch(
                f"{label}: {name} differs from {reference_name} at row {first}: "
                f"{ours[first]} != {theirs[first]}"
            )


async def seed_training(
    db: Database, schema: str, *, courses: int, enrollments: int, trainers: int = 200
) -> None:
    """``courses`` courses (a third intermediate, unique start dates, one in 20 without a
    trainer), ``trainers`` trainers and ``enrollments`` enrolments spread over the courses."""
    async with db.transaction() as conn:
        await conn.execute(
            f'INSERT INTO "{schema}".training_trainer (name, email) '
            "SELECT 'Trainer ' || g || ' 讲师', 'trainer' || g || '@example.com' "
            "FROM generate_series(1, $1) g",
            trainers,
        )
        await conn.execute(
            f"""
            WITH t AS (SELECT id, row_number() OVER (ORDER BY email) AS n
                       FROM "{schema}".training_trainer)
            INSERT INTO "{schema}".training_course
                (title, code, level, start_date, capacity, online, trainer_id)
            SELECT 'Course ' || g || ' 课程', 'C-' || g,
                   (ARRAY['beginner', 'intermediate', 'advanced'])[1 + g % 3],
                   date '1970-01-01' + g, 10 + g % 40, g % 2 = 0,
                   CASE WHEN g % 20 = 0 THEN NULL ELSE t.id END
            FROM generate_series(1, $1) g
            LEFT JOIN t ON t.n = 1 + (g * 7) % $2
            """,
            courses,
            trainers,
        )
        await conn.execute(
            f"""
            WITH c AS (SELECT id, row_number() OVER (ORDER BY code) AS n
                       FROM "{schema}".training_course)
            INSERT INTO "{schema}".training_enrollment (course_id, grade)
            SELECT c.id, g % 101 FROM generate_series(1, $1) g
            JOIN c ON c.n = 1 + (g * 7919) % $2
            """,
            enrollments,
            courses,
        )
        await conn.execute(f'ANALYZE "{schema}".training_trainer')
        await conn.execute(f'ANALYZE "{schema}".training_course')
        await conn.execute(f'ANALYZE "{schema}".training_enrollment')
