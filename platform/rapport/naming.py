"""Names: how entity ids and field names become SQL identifiers and GraphQL names.

One module owns these rules so that the DDL, the query compiler and the GraphQL schema can never
disagree about what a column or a type is called.
"""

from __future__ import annotations

import re

__all__ = [
    "GRAPHQL_NAME",
    "PG_MAX_IDENTIFIER",
    "SLUG",
    "camel_case",
    "pascal_case",
    "pluralize",
    "qualified",
    "quote_ident",
    "snake_case",
    "table_name",
    "tenant_schema",
]

PG_MAX_IDENTIFIER = 63
GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
CATALOG_SCHEMA = "rapport"

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``dueAt`` -> ``due_at``, ``HTTPCode`` -> ``http_code``, ``exit-interview`` -> ``exit_interview``."""
    return _CAMEL_BOUNDARY.sub("_", name).replace("-", "_").lower()


def pascal_case(name: str) -> str:
    """``exit-interview`` / ``exit_interview`` / ``exitInterview`` -> ``ExitInterview``."""
    parts = re.split(r"[-_\s]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def camel_case(name: str) -> str:
    pascal = pascal_case(name)
    return pascal[:1].lower() + pascal[1:]


_IRREGULAR = {"person": "people", "child": "children", "staff": "staff", "feedback": "feedback"}


def pluralize(word: str) -> str:
    """English plural of the last word of a camelCase name; ``x-plural`` overrides it."""
    lower = word.lower()
    for singular, plural in _IRREGULAR.items():
        if lower.endswith(singular.lower()):
            return word[: len(word) - len(singular)] + (
                plural if word[-len(singular)].islower() else plural.capitalize()
            )
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def tenant_schema(slug: str) -> str:
    """The PostgreSQL schema holding a tenant's entity tables."""
    return f"tenant_{slug}"


def table_name(entity_id: str) -> str:
    """``training/course`` -> ``training_course`` (inside the tenant's schema)."""
    namespace, _, name = entity_id.partition("/")
    return f"{snake_case(namespace)}_{snake_case(name)}"


def quote_ident(identifier: str) -> str:
    """Quote a validated identifier. Identifiers reach SQL only through this function."""
    if not identifier or len(identifier) > PG_MAX_IDENTIFIER or "\x00" in identifier:
        raise ValueError(f"not a valid SQL identifier: {identifier!r}")
    return '"' + identifier.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"`` — SQL never relies on search_path."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"
