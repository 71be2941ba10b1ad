from __future__ import annotations

import pytest

from rapport.naming import pascal_case, pluralize, quote_ident, snake_case, table_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [("dueAt", "due_at"), ("HTTPCode", "http_code"), ("exit-interview", "exit_interview")],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


def test_pascal_and_plural() -> None:
    assert pascal_case("exit-interview") == "ExitInterview"
    assert pluralize("course") == "courses"
    assert pluralize("category") == "categories"
    assert pluralize("box") == "boxes"
    assert pluralize("person") == "people"
    assert pluralize("feedback") == "feedback"


def test_table_name_and_quoting() -> None:
    assert table_name("training/course") == "training_course"
    assert quote_ident('we"ird') == '"we""ird"'
    with pytest.raises(ValueError):
        quote_ident("x" * 64)
