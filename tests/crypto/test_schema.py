"""Sensitive fields in the schema: bytea columns, no defaults, no silent re-typing of data."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rapport.errors import MetadataInvalid, PublishFailed
from rapport.metadata.builder import compile_model
from rapport.metadata.ddl import column_type
from rapport.metadata.documents import read_folder
from rapport.metadata.lifecycle import publish
from tests.crypto.conftest import EMPLOYEE, World


def _folder(tmp_path: Path, document: dict[str, object]) -> Path:
    (tmp_path / "hr").mkdir(exist_ok=True)
    (tmp_path / "hr" / "employee.json").write_text(json.dumps(document))
    return tmp_path


def test_a_sensitive_column_is_bytea_whatever_its_kind(tmp_path: Path) -> None:
    # given / when
    model = compile_model(read_folder(_folder(tmp_path, EMPLOYEE)))
    employee = model.entity("hr/employee")
    # then
    assert column_type(employee.field("salary")) == "bytea"
    assert column_type(employee.field("healthNote")) == "bytea"
    assert column_type(employee.field("grade")) == "integer"


def test_a_sensitive_field_cannot_have_a_default(tmp_path: Path) -> None:
    # given
    document = copy.deepcopy(EMPLOYEE)
    document["properties"]["healthNote"]["default"] = "none"  # type: ignore[index]
    # when / then
    with pytest.raises(MetadataInvalid, match="cannot have a default"):
        compile_model(read_folder(_folder(tmp_path, document)))


async def test_making_a_filled_column_sensitive_is_refused(world: World, tmp_path: Path) -> None:
    # given: employees with grades exist
    await world.create("Graded", "10.00")
    document = copy.deepcopy(EMPLOYEE)
    document["properties"]["grade"]["x-sensitive"] = True  # type: ignore[index]

    # when / then: SQL cannot encrypt (the record id is in each value's associated data)
    with pytest.raises(PublishFailed, match="cannot be re-encoded by SQL"):
        await publish(world.db, "secrets", read_folder(_folder(tmp_path, document)), actor="test")
