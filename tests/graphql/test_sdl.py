"""The demo tenant's SDL snapshot (docs/demo-schema.graphql) and how it is printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rapport.cli import main
from rapport.cli.schema import demo_metadata
from rapport.composition import KERNEL
from rapport.graphql.sdl import schema_sdl

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "demo-schema.graphql"
REFRESH = ".venv/bin/rapport schema print --demo > docs/demo-schema.graphql  (or: make schema)"


def test_the_committed_demo_schema_is_the_one_the_code_builds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when
    status = main(["schema", "print", "--demo"])

    # then
    printed = capsys.readouterr().out
    assert status == 0
    assert printed == SNAPSHOT.read_text(encoding="utf-8"), (
        f"{SNAPSHOT.name} is stale: the demo tenant's GraphQL API changed. Review the change, "
        f"then refresh the snapshot with\n    {REFRESH}"
    )


def test_the_sdl_is_sorted_and_the_same_on_every_build() -> None:
    # given
    metadata = demo_metadata()

    # when
    first = schema_sdl(metadata, KERNEL.contributors)
    again = schema_sdl(demo_metadata(), KERNEL.contributors)

    # then
    assert first == again
    names = re.findall(r"^(?:type|input|enum|scalar) (\w+)", first, flags=re.M)
    assert names == sorted(names)
    assert "Query" in names and "Mutation" in names


def test_the_contributed_fields_are_part_of_the_snapshot() -> None:
    # given: the kernel's fields without any capability's contributions
    metadata = demo_metadata()

    # when
    bare = schema_sdl(metadata, ())
    full = schema_sdl(metadata, KERNEL.contributors)

    # then: forms, workflows, notifications and audit add root fields
    assert "submitForm" not in bare and "submitForm" in full
