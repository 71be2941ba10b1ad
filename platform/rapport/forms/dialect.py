"""A compiled form's JSON Schema in another dialect: draft-07 for stock react-jsonschema-form.

Rapport compiles forms to JSON Schema 2020-12, and the server validates submissions with that
schema. ``@rjsf/validator-ajv8`` as installed builds a plain ``Ajv`` (draft-07), which knows no
2020-12 meta-schema and answers every submission with ``no schema with key or ref
"https://json-schema.org/draft/2020-12/schema"``. :func:`to_draft07` rewrites a schema into the
same constraints spelt in draft-07, so the stock validator and the server agree:

- ``$schema`` names draft-07; ``$defs`` become ``definitions`` (and ``#/$defs/…`` references
  follow them);
- ``prefixItems`` + ``items`` become the array form of ``items`` + ``additionalItems``;
- ``dependentRequired`` and ``dependentSchemas`` become ``dependencies``.

Keywords draft-07 cannot express (``unevaluatedProperties``, ``minContains``, ``$dynamicRef``…)
are refused rather than dropped: a rendition that accepted what the server refuses would be a
lie. Rapport's own compiler emits none of them; an entity document may.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from rapport.errors import BadRequest

__all__ = ["DRAFT_07", "FormDialect", "render"]

DRAFT_07 = "http://json-schema.org/draft-07/schema#"

# Subschema-valued keywords, by shape, that both dialects share (descended into as they are).
_ONE = ("additionalProperties", "propertyNames", "contains", "not", "if", "then", "else")
_MAP = ("properties", "patternProperties")
_LIST = ("allOf", "anyOf", "oneOf")
# No draft-07 spelling with the same meaning.
_UNSUPPORTED = frozenset(
    {
        "unevaluatedProperties",
        "unevaluatedItems",
        "minContains",
        "maxContains",
        "$dynamicRef",
        "$dynamicAnchor",
        "$anchor",
        "$recursiveRef",
        "$recursiveAnchor",
    }
)


class FormDialect(Enum):
    """The JSON Schema dialect a form's ``jsonSchema`` is written in."""

    DRAFT_2020_12 = "DRAFT_2020_12"
    DRAFT_07 = "DRAFT_07"


def render(schema: Mapping[str, Any], dialect: FormDialect) -> dict[str, Any]:
    """``schema`` (2020-12, as compiled) in ``dialect`` (a fresh dict)."""
    if dialect is FormDialect.DRAFT_2020_12:
        return dict(schema)
    converted: dict[str, Any] = dict(_convert(schema, ""))
    converted["$schema"] = DRAFT_07
    return converted


def _convert(schema: Any, pointer: str) -> Any:
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        at = f"{pointer}/{_escape(key)}"
        if key in _UNSUPPORTED:
            raise BadRequest(
                f"The form's JSON Schema uses `{key}` at {at or '/'}, which draft-07 cannot "
                "express.",
                hint="Ask for the form with dialect: DRAFT_2020_12 and validate with Ajv2020 "
                "(customizeValidator({AjvClass: Ajv2020})), or drop the keyword from the entity.",
                path=tuple(p for p in at.split("/") if p),
            )
        if key == "$defs":
            out["definitions"] = {k: _convert(v, f"{at}/{_escape(k)}") for k, v in value.items()}
        elif key == "$ref" and isinstance(value, str):
            out["$ref"] = value.replace("#/$defs/", "#/definitions/")
        elif key == "prefixItems":
            out["items"] = [_convert(v, f"{at}/{i}") for i, v in enumerate(value)]
            if "items" in schema:
                out["additionalItems"] = _convert(schema["items"], f"{pointer}/items")
        elif key == "items":
            if "prefixItems" not in schema:
                out["items"] = _convert(value, at)
        elif key == "dependentRequired":
            out.setdefault("dependencies", {}).update({k: list(v) for k, v in value.items()})
        elif key == "dependentSchemas":
            deps = out.setdefault("dependencies", {})
            deps.update({k: _convert(v, f"{at}/{_escape(k)}") for k, v in value.items()})
        elif key in _ONE:
            out[key] = _convert(value, at)
        elif key in _MAP and isinstance(value, Mapping):
            out[key] = {k: _convert(v, f"{at}/{_escape(k)}") for k, v in value.items()}
        elif key in _LIST and isinstance(value, list):
            out[key] = [_convert(v, f"{at}/{i}") for i, v in enumerate(value)]
        else:
            out[key] = value
    return out


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")
