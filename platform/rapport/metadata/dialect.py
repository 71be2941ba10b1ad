"""The entity dialect: checking documents against ``schemas/entity.schema.json``.

Every meta-schema error becomes a :class:`MetadataProblem` with a JSON pointer, a message a
person can act on, and a hint (the closest known keyword for a typo, otherwise the description
of the keyword in the meta-schema, which is written to double as advice). jsonschema-rs answers
"is it valid?" quickly; only invalid documents go through ``jsonschema``'s slower
``iter_errors`` for the full list.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from rapport.errors import MetadataProblem
from rapport.metadata.documents import Document
from rapport.metadata.problems import pointer

__all__ = ["check_dialect", "entity_meta_schema"]

_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


@functools.cache
def entity_meta_schema() -> dict[str, Any]:
    """The entity meta-schema (JSON Schema 2020-12), as shipped in the package (do not mutate)."""
    text = resources.files("rapport").joinpath("_data", "schemas", "entity.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validators() -> tuple[Any, Draft202012Validator]:
    schema = entity_meta_schema()
    return jsonschema_rs.validator_for(schema), Draft202012Validator(schema)


def _kind_of(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def _describe(schema: Any) -> str:
    if isinstance(schema, Mapping) and isinstance(schema.get("description"), str):
        return _first_sentence(schema["description"])
    return ""


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    pool = [c for c in candidates if c.startswith("x-")] if word.startswith("x-") else candidates
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not close and not word.startswith("x-"):
        # `label` for `x-label`: the prefix is the usual thing forgotten.
        close = difflib.get_close_matches("x-" + word, candidates, n=1, cutoff=0.8)
    return close[0] if close else None


def _unknown_keys(error: ValidationError, where: list[str | int]) -> Iterator[MetadataProblem]:
    instance, schema = error.instance, error.schema
    if not isinstance(instance, Mapping) or not isinstance(schema, Mapping):
        return
    known = sorted(schema.get("properties", {}))
    for key in instance:
        if key in known:
            continue
        suggestion = _closest(key, known)
        if suggestion:
            hint = f"Did you mean {suggestion}?"
        elif key.startswith("x-"):
            hint = "Rapport keywords here: " + ", ".join(k for k in known if k.startswith("x-"))
        elif key.startswith("$"):
            hint = "References and schema ids are not supported inside a field; write it inline."
        else:
            hint = "Remove it; allowed here: " + ", ".join(known[:30])
        yield MetadataProblem("", pointer(*where, key), f"unknown keyword {key!r}", hint)


def _alternatives(error: ValidationError, at: str, hint: str) -> Iterator[MetadataProblem]:
    """Errors of the alternative meant: the one whose type the value has (an index written as
    an object is explained by the object form's errors, not by "is not an array")."""
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [
        errors
        for errors in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    if not meant:
        yield MetadataProblem(
            "", at, f"{_kind_of(error.instance)} is not allowed here", hint or error.message
        )
        return
    for sub in meant[0]:
        yield from _problems(sub)


def _problems(error: ValidationError) -> Iterator[MetadataProblem]:
    where = list(error.absolute_path)
    at = pointer(*where)
    validator, value, instance = error.validator, error.validator_value, error.instance
    hint = _describe(error.schema)
    if validator in ("oneOf", "anyOf") and error.context:
        yield from _alternatives(error, at, hint)
        return
    if validator == "additionalProperties" and error.schema.get("additionalProperties") is False:
        yield from _unknown_keys(error, where)
        return
    if validator == "required":
        missing = [k for k in value if isinstance(instance, Mapping) and k not in instance]
        for key in missing:
            yield MetadataProblem(
                "",
                at,
                f"missing required keyword {key!r}",
                _describe(error.schema.get("properties", {}).get(key)) or hint,
            )
        return
    schema_path = list(error.absolute_schema_path)
    if len(schema_path) >= 2 and schema_path[-2] == "propertyNames":
        # The error is about a member name, reported on its object; point at the name itself.
        at = pointer(*where, str(instance))
        yield MetadataProblem("", at, f"{instance!r} is not allowed as a name here", hint)
        return
    if validator == "type":
        expected = value if isinstance(value, str) else " or ".join(value)
        message = f"must be of type {expected}, not {_kind_of(instance)}"
    elif validator == "const":
        message = f"must be {json.dumps(value)}, not {json.dumps(instance, ensure_ascii=False)}"
    elif validator == "enum":
        options = ", ".join(json.dumps(v) for v in value)
        message = f"{json.dumps(instance, ensure_ascii=False)} is not one of {options}"
        close = (
            _closest(instance, [v for v in value if isinstance(v, str)])
            if isinstance(instance, str)
            else None
        )
        hint = f"Did you mean {json.dumps(close)}?" if close else hint
    elif validator == "pattern":
        message = f"{json.dumps(instance, ensure_ascii=False)} does not have the required form"
    else:
        message = error.message
    if not hint:
        keyword = next((p for p in reversed(where) if isinstance(p, str)), "")
        hint = f"See the JSON Schema 2020-12 rules for `{keyword}`." if keyword else ""
    yield MetadataProblem("", at, message, hint)


def check_dialect(document: Document) -> list[MetadataProblem]:
    """Every way the document breaks the entity meta-schema (empty when it conforms)."""
    body = document.as_json()
    fast, full = _validators()
    if fast.is_valid(body):
        return []
    errors = sorted(full.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    # A field schema is checked twice: by Rapport's keyword definitions and by the standard
    # 2020-12 meta-schema (reached through `allOf`). Rapport's message is the more useful one,
    # so the standard one is kept only for places Rapport's definitions say nothing about.
    ordered = sorted(errors, key=lambda e: "allOf" in e.absolute_schema_path)
    problems: list[MetadataProblem] = []
    for error in ordered:
        standard = "allOf" in error.absolute_schema_path
        for problem in _problems(error):
            if standard and any(p.pointer == problem.pointer for p in problems):
                continue
            problems.append(
                MetadataProblem(document.id, problem.pointer, problem.message, problem.hint)
            )
    return problems
