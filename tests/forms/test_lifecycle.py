"""Forms go through the metadata lifecycle: plan reports a form an entity change breaks,
publish refuses it, and `rapport form preview` prints the compiled output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rapport.cli import main
from rapport.db.database import Database
from rapport.errors import MetadataInvalid
from rapport.metadata.documents import Document, documents_from_json
from rapport.metadata.lifecycle import plan, publish
from tests.forms.conftest import FIXTURES, TENANT, fixture_documents


def without_evidence() -> tuple[Document, ...]:
    items = []
    for doc in fixture_documents():
        body = doc.as_json()
        if doc.id == "complaints/complaint" and doc.kind.value == "entity":
            del body["properties"]["evidence"]
        items.append({"kind": doc.kind.value, "body": body})
    return documents_from_json(items)


async def test_plan_and_publish_report_a_form_broken_by_an_entity_change(
    tenant: str, catalog: Database
) -> None:
    # when
    with pytest.raises(MetadataInvalid) as planned:
        await plan(catalog, tenant, without_evidence())
    with pytest.raises(MetadataInvalid) as published:
        await publish(catalog, tenant, without_evidence(), actor="test", allow_destructive=True)
    # then
    for raised in (planned, published):
        # (rules naming the field are not checked once the field list is broken: one cause,
        # one problem)
        assert [(p.document, p.pointer) for p in raised.value.problems] == [
            ("complaints/intake", "/fields/5")
        ]
    assert "was it removed or renamed?" in planned.value.problems[0].message


def test_form_preview_prints_json_schema_and_ui_schema(
    tenant: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    # when
    status = main(["form", "preview", "--tenant", TENANT, "complaints/intake", "--locale", "en"])
    # then
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    assert out["id"] == "complaints/intake"
    assert out["locale"] == "en"
    assert out["jsonSchema"]["title"] == "Complaint intake"
    assert out["uiSchema"]["ui:order"][0] == "title"


def test_form_preview_of_a_file_reports_its_problems(
    tenant: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    draft = tmp_path / "draft.form.json"
    draft.write_text(
        json.dumps(
            {"$id": "complaints/draft", "entity": "complaints/complaint", "fields": ["title"]}
        )
    )
    # when
    status = main(["form", "preview", "--tenant", TENANT, "complaints/draft", "--file", str(draft)])
    # then
    assert status == 1
    err = capsys.readouterr().err
    assert "the form does not show category, which complaints/complaint requires" in err


def test_form_preview_of_an_unknown_form_fails_with_a_hint(
    tenant: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    assert main(["form", "preview", "--tenant", TENANT, "nope/none"]) == 1
    err = capsys.readouterr().err
    assert "error: There is no form nope/none." in err
    assert "hint:" in err


def test_metadata_publish_takes_a_form_file_by_its_suffix(
    tenant: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given: the tenant's folders plus one loose form file
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    loose = tmp_path / "short.form.json"
    loose.write_text(
        json.dumps(
            {
                "$id": "complaints/short",
                "entity": "complaints/complaint",
                "fields": ["title", "category"],
            }
        )
    )
    demo = Path(__file__).parents[2] / "platform" / "rapport" / "_data" / "demo" / "metadata"
    # when
    status = main(["metadata", "publish", "--tenant", TENANT, str(demo), str(FIXTURES), str(loose)])
    # then
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["form", "preview", "--tenant", TENANT, "complaints/short"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["jsonSchema"]["properties"]) == ["title", "category"]
