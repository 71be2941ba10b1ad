"""forms / form / submitForm over real HTTP on a live uvicorn, against real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.db.database import Database
from rapport.metadata.documents import documents_from_json
from rapport.metadata.lifecycle import publish
from rapport.settings import Settings
from tests.forms.conftest import TENANT, fixture_documents, gql

FORM = """
query($id: String!, $locale: String) {
  form(id: $id, locale: $locale) { id entity title version locale jsonSchema uiSchema }
}"""
FORMS = "query($locale: String) { forms(locale: $locale) { id title locale } }"
SUBMIT = """
mutation($id: String!, $data: JSON!, $v: Int) {
  submitForm(id: $id, data: $data, formVersion: $v) { id }
}"""
SUBMISSIONS = """
{ formSubmissions {
    edges { node { form formVersion entity recordId answers createdBy } } } }"""
COMPLAINTS = "{ complaints { totalCount edges { node { id title channel anonymous } } } }"

FILE = {"key": "k/1", "name": "proof.png", "size": 2048, "contentType": "image/png"}


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    (error,) = body["errors"]
    return dict(error)


def field_errors(body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    error = only_error(body)
    assert error["extensions"]["code"] == "VALIDATION_FAILED", error
    return [(tuple(e["path"]), e["code"]) for e in error["extensions"]["errors"]]


async def served(client: httpx.AsyncClient, token: str, version: int) -> None:
    """Wait until the server serves metadata ``version`` (it swaps on NOTIFY)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        body = await gql(client, token, "{ metadataVersion }")
        if body["data"]["metadataVersion"] == version:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server never served metadata version {version}")


async def count(client: httpx.AsyncClient, token: str, query: str = COMPLAINTS) -> int:
    body = await gql(client, token, query)
    return int(body["data"]["complaints"]["totalCount"])


async def test_default_form_of_an_entity_has_the_entity_id_and_zh_labels(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    # when
    body = await gql(client, admin_token, FORM, {"id": "training/course", "locale": "zh"})
    # then
    form = body["data"]["form"]
    assert form["id"] == "training/course"
    assert form["entity"] == "training/course"
    assert form["title"] == "课程"
    assert form["locale"] == "zh"
    assert isinstance(form["version"], int)
    schema, ui = form["jsonSchema"], form["uiSchema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["title"]["title"] == "标题"
    assert "trainerId" in schema["properties"]
    assert sorted(schema["required"]) == ["level", "title"]
    assert ui["ui:order"] == list(schema["properties"])
    assert ui["level"]["ui:widget"] == "select"
    assert ui["startDate"]["ui:widget"] == "date"


async def test_locale_falls_back_from_region_to_language_to_default(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    # given: the exit questionnaire has en, zh and zh-Hant titles and defaultLocale zh
    async def title(locale: str | None) -> tuple[str, str]:
        body = await gql(client, admin_token, FORM, {"id": "surveys/exit", "locale": locale})
        form = body["data"]["form"]
        return form["title"], form["locale"]

    # when / then
    assert await title("zh-Hant-TW") == ("離職問卷", "zh-Hant")
    assert await title("zh-CN") == ("离职问卷", "zh")
    assert await title("fr") == ("离职问卷", "zh")  # no French: the form's default language
    assert await title("en-GB") == ("Exit questionnaire", "en")
    assert await title(None) == ("离职问卷", "zh")


async def test_forms_lists_what_the_user_may_submit(
    client: httpx.AsyncClient, admin_token: str, employee_token: str
) -> None:
    # when
    admin = await gql(client, admin_token, FORMS, {"locale": "en"})
    employee = await gql(client, employee_token, FORMS)
    # then
    assert "data" in employee, employee
    admin_ids = {f["id"] for f in admin["data"]["forms"]}
    assert {"complaints/intake", "complaints/quick", "surveys/exit", "training/course"} <= admin_ids
    assert "core/form_submission" not in admin_ids
    # an employee without permission documents may create no entity: only questionnaires
    assert [f["id"] for f in employee["data"]["forms"]] == ["surveys/exit"], employee


async def test_submit_creates_the_record_and_remembers_the_form_version(
    client: httpx.AsyncClient, admin_token: str, catalog: Database
) -> None:
    # given
    form = (await gql(client, admin_token, FORM, {"id": "complaints/intake"}))["data"]["form"]
    before = await count(client, admin_token)
    data = {
        "title": "Harassed at the stand-up",
        "category": "harassment",
        "body": "Details",
        "anonymous": False,
        "contact": "li@example.com",
        "evidence": FILE,
    }
    # when
    body = await gql(
        client, admin_token, SUBMIT, {"id": "complaints/intake", "data": data, "v": form["version"]}
    )
    # then
    assert "errors" not in body, body
    record_id = body["data"]["submitForm"]["id"]
    complaints = (await gql(client, admin_token, COMPLAINTS))["data"]["complaints"]
    assert complaints["totalCount"] == before + 1
    node = next(e["node"] for e in complaints["edges"] if e["node"]["id"] == record_id)
    assert node["channel"] == "form"  # the hidden field got its form default
    links = (await gql(client, admin_token, SUBMISSIONS))["data"]["formSubmissions"]["edges"]
    assert {
        "form": "complaints/intake",
        "formVersion": form["version"],
        "entity": "complaints/complaint",
        "recordId": record_id,
        "answers": None,
        "createdBy": "hr-admin",
    } in [e["node"] for e in links]
    audited = await catalog.fetchrow(
        "SELECT actor, entity, data FROM rapport.audit_entries "
        "WHERE action = 'form.submit' AND record_id = $1",
        record_id,
    )
    assert audited is not None
    assert (audited["actor"], audited["entity"]) == ("hr-admin", "complaints/complaint")
    assert json.loads(audited["data"]) == {
        "form": "complaints/intake",
        "formVersion": form["version"],
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # a conditional requirement: harassment needs evidence (and a body)
        (
            {"title": "t", "category": "harassment"},
            [(("data", "body"), "REQUIRED"), (("data", "evidence"), "REQUIRED")],
        ),
        # a value outside the enum
        ({"title": "t", "category": "boredom"}, [(("data", "category"), "NOT_IN_ENUM")]),
        # an oversized file
        (
            {
                "title": "t",
                "category": "harassment",
                "body": "b",
                "evidence": {**FILE, "size": 5_000_000},
            },
            [(("data", "evidence", "size"), "RANGE")],
        ),
        # a field of the entity the form does not show, and a field of nothing
        (
            {"title": "t", "category": "pay", "internalNote": "x", "bogus": 1},
            [(("data", "bogus"), "UNKNOWN_FIELD"), (("data", "internalNote"), "NOT_IN_FORM")],
        ),
        # a field hidden by a rule for these answers: anonymous hides contact
        (
            {"title": "t", "category": "pay", "anonymous": True, "contact": "a@example.com"},
            [(("data", "contact"), "HIDDEN_FIELD")],
        ),
        # a field shown only by a rule that does not hold
        (
            {"title": "t", "category": "pay", "evidence": FILE},
            [(("data", "evidence"), "HIDDEN_FIELD")],
        ),
        # a hidden field with another value than its default
        ({"title": "t", "category": "pay", "channel": "web"}, [(("data", "channel"), "READ_ONLY")]),
        # a required-by-rule field sent as null
        (
            {"title": "t", "category": "manager", "body": None},
            [(("data", "body"), "REQUIRED")],
        ),
    ],
)
async def test_bad_answers_get_path_addressed_errors_and_nothing_is_stored(
    client: httpx.AsyncClient,
    admin_token: str,
    data: dict[str, Any],
    expected: list[tuple[tuple[Any, ...], str]],
) -> None:
    # given
    before = await count(client, admin_token)
    # when
    body = await gql(client, admin_token, SUBMIT, {"id": "complaints/intake", "data": data})
    # then
    assert body["data"] is None
    assert field_errors(body) == expected
    assert only_error(body)["path"] == ["submitForm"]
    assert await count(client, admin_token) == before


async def test_a_stale_form_version_is_refused_with_the_current_one(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    # given
    form = (await gql(client, admin_token, FORM, {"id": "complaints/quick"}))["data"]["form"]
    before = await count(client, admin_token)
    data = {"title": "x", "category": "pay"}
    # when
    body = await gql(
        client,
        admin_token,
        SUBMIT,
        {"id": "complaints/quick", "data": data, "v": form["version"] + 7},
    )
    # then
    error = only_error(body)
    assert error["extensions"]["code"] == "FORM_VERSION_STALE"
    assert error["extensions"]["currentVersion"] == form["version"]
    assert await count(client, admin_token) == before


async def test_a_standalone_questionnaire_stores_a_submission(
    client: httpx.AsyncClient, admin_token: str, employee_token: str
) -> None:
    # given
    form = (await gql(client, employee_token, FORM, {"id": "surveys/exit"}))["data"]["form"]
    assert form["entity"] is None
    answers = {"reason": "growth", "satisfaction": 2, "wouldReturn": False, "comment": "A path"}
    # when
    bad = await gql(
        client,
        employee_token,
        SUBMIT,
        {"id": "surveys/exit", "data": {"reason": "growth", "satisfaction": 1}},
    )
    good = await gql(
        client,
        employee_token,
        SUBMIT,
        {"id": "surveys/exit", "data": answers, "v": form["version"]},
    )
    # then
    assert field_errors(bad) == [(("data", "comment"), "REQUIRED")]
    assert "errors" not in good, good
    links = (await gql(client, admin_token, SUBMISSIONS))["data"]["formSubmissions"]["edges"]
    stored = [e["node"] for e in links if e["node"]["form"] == "surveys/exit"]
    assert stored == [
        {
            "form": "surveys/exit",
            "formVersion": form["version"],
            "entity": None,
            "recordId": None,
            "answers": answers,
            "createdBy": "emp-7",
        }
    ]


async def test_an_employee_may_not_submit_an_entity_form(
    client: httpx.AsyncClient, employee_token: str
) -> None:
    # when
    body = await gql(
        client,
        employee_token,
        SUBMIT,
        {"id": "complaints/quick", "data": {"title": "x", "category": "pay"}},
    )
    # then
    assert only_error(body)["extensions"]["code"] == "FORBIDDEN"


async def test_unknown_form_is_not_found(client: httpx.AsyncClient, admin_token: str) -> None:
    body = await gql(client, admin_token, FORM, {"id": "nope/nothing"})
    assert only_error(body)["extensions"]["code"] == "NOT_FOUND"


async def test_editing_a_form_bumps_its_version_and_retiring_refuses_submissions(
    client: httpx.AsyncClient, admin_token: str, catalog: Database
) -> None:
    # given: the versions before
    async def version(form_id: str) -> int:
        body = await gql(client, admin_token, FORM, {"id": form_id})
        return int(body["data"]["form"]["version"])

    quick, exit_form, course = (
        await version("complaints/quick"),
        await version("surveys/exit"),
        await version("training/course"),
    )
    documents = []
    for doc in fixture_documents():
        body = doc.as_json()
        if doc.id == "complaints/quick":
            body["title"] = "Quick complaint (v2)"
        if doc.id == "surveys/exit":
            body["retired"] = True
        documents.append({"kind": doc.kind.value, "body": body})
    # when
    result = await publish(catalog, TENANT, documents_from_json(documents), actor="test")
    await served(client, admin_token, result.version)
    # then
    assert await version("complaints/quick") == result.version != quick
    assert await version("training/course") == course  # untouched forms keep their version
    listed = {f["id"] for f in (await gql(client, admin_token, FORMS))["data"]["forms"]}
    assert "surveys/exit" not in listed
    body = await gql(
        client,
        admin_token,
        SUBMIT,
        {"id": "surveys/exit", "data": {"reason": "pay"}, "v": exit_form},
    )
    assert only_error(body)["extensions"]["code"] == "FORM_RETIRED"


ADMIN_PREVIEW = """
query($id: String, $document: JSON, $locale: String) {
  formPreview(id: $id, document: $document, locale: $locale)
}"""


async def test_admin_form_preview_of_a_document_and_of_a_published_form(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    # given
    document = {
        "$id": "complaints/mini",
        "entity": "complaints/complaint",
        "title": {"en": "Mini", "zh": "迷你"},
        "fields": ["title", "category"],
    }
    headers = {"Authorization": f"Bearer {admin_token}"}
    # when
    drafted = await client.post(
        "/graphql/admin",
        json={"query": ADMIN_PREVIEW, "variables": {"document": document, "locale": "zh"}},
        headers=headers,
    )
    published = await client.post(
        "/graphql/admin",
        json={"query": ADMIN_PREVIEW, "variables": {"id": "training/course"}},
        headers=headers,
    )
    broken = await client.post(
        "/graphql/admin",
        json={"query": ADMIN_PREVIEW, "variables": {"document": {**document, "fields": ["title"]}}},
        headers=headers,
    )
    # then
    preview = drafted.json()["data"]["formPreview"]
    assert preview["jsonSchema"]["title"] == "迷你"
    assert list(preview["jsonSchema"]["properties"]) == ["title", "category"]
    assert published.json()["data"]["formPreview"]["id"] == "training/course"
    error = only_error(broken.json())
    assert error["extensions"]["code"] == "METADATA_INVALID"
    assert error["extensions"]["problems"][0]["document"] == "complaints/mini"


async def test_answers_that_are_not_an_object_are_refused_at_data(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    body = await gql(client, admin_token, SUBMIT, {"id": "complaints/quick", "data": ["title"]})
    assert field_errors(body) == [(("data",), "TYPE")]


async def test_a_role_allowed_to_create_the_entity_sees_and_submits_its_forms(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # given: complaints/staff grants role staff `create` on complaints/complaint
    token = issue_token(settings, tenant=TENANT, subject="staff-1", roles=["staff"])
    # when
    listed = await gql(client, token, FORMS)
    submitted = await gql(
        client, token, SUBMIT, {"id": "complaints/quick", "data": {"title": "x", "category": "pay"}}
    )
    # then
    # (surveys/exit was retired by an earlier test of this module)
    assert [f["id"] for f in listed["data"]["forms"]] == [
        "complaints/complaint",
        "complaints/intake",
        "complaints/quick",
    ]
    assert "errors" not in submitted, submitted
