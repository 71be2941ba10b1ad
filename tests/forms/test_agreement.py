"""Client and server agree: the compiled JSON Schema, checked by the plain ``jsonschema`` library
(as a browser checks it with ajv or RJSF), accepts exactly the answers ``submitForm`` accepts.

For forms with conditional rules (show, hide, require under _eq/_neq/_in/_nin/_is_null/_gt/
_gte/_lte/_and/_or/_not), many answer objects — seeded random ones and hand-written edge cases —
go to both: the schema the server hands out over GraphQL (in 2020-12 and in its draft-07
rendition), and ``submitForm`` on a live uvicorn
against real PostgreSQL. Every answer must get the same verdict; a refusal must be
VALIDATION_FAILED (never an internal error).
"""

from __future__ import annotations

import random
from typing import Any

import httpx
from jsonschema import Draft7Validator, Draft202012Validator

from tests.forms.conftest import gql

FORM = "query($id: String!) { form(id: $id) { jsonSchema } }"
# The draft-07 rendition, for stock react-jsonschema-form (rapport.forms.dialect).
FORM_07 = "query($id: String!) { form(id: $id, dialect: DRAFT_07) { jsonSchema } }"
SUBMIT = "mutation($id: String!, $data: JSON!) { submitForm(id: $id, data: $data) { id } }"

FILE = {"key": "k/1", "name": "a.png", "size": 2048, "contentType": "image/png"}
ABSENT = object()

# Candidate values per answer key: valid ones, invalid ones, null; ABSENT leaves the key out.
POOLS: dict[str, list[Any]] = {
    "title": ["Late pay", "test", "x" * 201, 5, None],
    "category": ["pay", "workload", "manager", "harassment", "other", "boredom", None],
    "body": ["What happened", "", None, 3],
    "anonymous": [True, False, None, "yes"],
    "contact": ["li@example.com", "not-an-email", None],
    "evidence": [FILE, {**FILE, "size": 2_000_000}, {"key": "k"}, None],
    "severity": [1, 3, 4, 5, 0, 6, None, 2.5],
    "amount": [0, 500, 1000, 1001, 2500, -1, None, "12"],
    "channel": ["form", "web", None],
    "internalNote": ["not in the form"],
    "reason": ["pay", "growth", "manager", "relocation", "other", "boredom", None],
    "satisfaction": [1, 2, 3, 5, 0, None],
    "wouldReturn": [True, False, None],
    "comment": ["Better pay", "x" * 501, None],
}

CASES: dict[str, list[dict[str, Any]]] = {
    "complaints/intake": [
        {"title": "t", "category": "pay"},
        {"title": "t", "category": "harassment", "body": "b", "evidence": FILE},
        {"title": "t", "category": "harassment", "body": "b"},
        {"title": "t", "category": "harassment", "body": "b", "evidence": None},
        {"title": "t", "category": "pay", "anonymous": True},
        {"title": "t", "category": "pay", "anonymous": True, "contact": None},
        {"title": "t", "category": "pay", "anonymous": False, "contact": "a@example.com"},
        {"title": "t", "category": "pay", "anonymous": None, "contact": "a@example.com"},
        {"title": "t", "category": "workload", "amount": 1000, "severity": 2},
        {"title": "t", "category": "workload", "amount": 1001},
        {"title": "t", "category": "pay", "amount": 1001},
        {"title": "t", "category": "pay", "severity": 3},
        {"title": "t", "category": "pay", "amount": None, "severity": 3},
        {"title": "t", "category": "workload", "amount": 5, "severity": 4},
        {"title": "t", "category": "workload", "amount": 5, "severity": 4, "body": "b"},
        {"title": "t", "category": "pay", "channel": "form"},
        {"title": "t", "category": "pay", "channel": "web"},
        {"title": "t", "category": "pay", "internalNote": "x"},
        {"category": "pay"},
        {},
    ],
    "complaints/quick": [
        {"title": "test", "category": "pay"},
        {"title": "test", "category": "manager"},
        {"title": "test", "category": "manager", "body": "b"},
        {"title": "other", "category": "manager", "body": "b"},
        {"title": "other", "category": "manager"},
        {"title": "other", "category": "pay", "anonymous": True},
        {"title": "other", "category": "pay", "anonymous": False},
    ],
    "surveys/exit": [
        {"reason": "pay"},
        {"reason": "pay", "wouldReturn": False},
        {"reason": "pay", "wouldReturn": False, "comment": "c"},
        {"reason": "pay", "wouldReturn": True, "comment": "c"},
        {"reason": "pay", "comment": "c"},
        {"reason": "pay", "wouldReturn": None, "comment": "c"},
        {"reason": "pay", "satisfaction": 2},
        {"reason": "pay", "satisfaction": 2, "wouldReturn": False, "comment": "c"},
        {"reason": "pay", "satisfaction": 3, "wouldReturn": True},
        {"satisfaction": 3},
    ],
}

RANDOM_PER_FORM = 60


def random_answers(rng: random.Random, keys: list[str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for key in keys:
        if rng.random() < 0.35:
            continue
        value = rng.choice(POOLS[key])
        if value is not ABSENT:
            answers[key] = value
    if rng.random() < 0.05:
        answers["internalNote"] = "x"
    return answers


async def server_accepts(
    client: httpx.AsyncClient, token: str, form_id: str, answers: dict[str, Any]
) -> bool:
    body = await gql(client, token, SUBMIT, {"id": form_id, "data": answers})
    if "errors" not in body:
        return True
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"VALIDATION_FAILED"}, (answers, body)
    return False


async def test_the_compiled_schema_and_submit_form_accept_the_same_answers(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    rng = random.Random(20261127)
    verdicts = {True: 0, False: 0}
    for form_id, cases in CASES.items():
        # given: the schema exactly as a client receives it
        schema = (await gql(client, admin_token, FORM, {"id": form_id}))["data"]["form"][
            "jsonSchema"
        ]
        client_side = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        schema_07 = (await gql(client, admin_token, FORM_07, {"id": form_id}))["data"]["form"][
            "jsonSchema"
        ]
        assert schema_07["$schema"] == "http://json-schema.org/draft-07/schema#"
        Draft7Validator.check_schema(schema_07)
        draft_07 = Draft7Validator(schema_07, format_checker=Draft7Validator.FORMAT_CHECKER)
        keys = list(schema["properties"])
        answers_list = [*cases, *(random_answers(rng, keys) for _ in range(RANDOM_PER_FORM))]
        for answers in answers_list:
            # when
            expected = client_side.is_valid(answers)
            actual = await server_accepts(client, admin_token, form_id, answers)
            # then
            assert actual == expected, (form_id, answers, list(client_side.iter_errors(answers)))
            assert draft_07.is_valid(answers) == expected, (form_id, answers)
            verdicts[actual] += 1
    # both verdicts are well represented, so the agreement is not vacuous
    assert verdicts[True] >= 20 and verdicts[False] >= 20, verdicts
