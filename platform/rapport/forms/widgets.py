"""Form widgets: which field kinds each one can edit, the default per kind, and the RJSF name.

Most widgets are react-jsonschema-form's own. ``rating``, ``signature`` and ``file`` (a file
field holds a FileRef object ``{key, name, size, contentType, sha256}``, which RJSF's data-URL
FileWidget cannot produce) are Rapport widgets a frontend registers once under those names
(``<Form widgets={{rating, signature, file}} />``); every other form then renders with no code.
"""

from __future__ import annotations

from collections.abc import Mapping

from rapport.metadata.ir import FieldKind

__all__ = ["RJSF_NAMES", "WIDGETS", "allowed_widgets", "default_widget"]

_TEXTUAL = frozenset(
    {FieldKind.STRING, FieldKind.EMAIL, FieldKind.PHONE, FieldKind.URL, FieldKind.UUID}
)
_NUMBERS = frozenset({FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.MONEY, FieldKind.FLOAT})

# Widget -> the kinds it can edit ("hidden" edits any kind).
WIDGETS: Mapping[str, frozenset[FieldKind]] = {
    "text": _TEXTUAL
    | _NUMBERS
    | {FieldKind.TEXT, FieldKind.RELATION, FieldKind.DATE, FieldKind.DATETIME},
    "textarea": frozenset({FieldKind.STRING, FieldKind.TEXT, FieldKind.JSON}),
    "select": frozenset(
        {FieldKind.ENUM, FieldKind.MULTI_ENUM, FieldKind.BOOLEAN, FieldKind.RATING}
    ),
    "radio": frozenset({FieldKind.ENUM, FieldKind.BOOLEAN, FieldKind.RATING}),
    "checkbox": frozenset({FieldKind.BOOLEAN}),
    "checkboxes": frozenset({FieldKind.MULTI_ENUM}),
    "date": frozenset({FieldKind.DATE}),
    "datetime": frozenset({FieldKind.DATETIME}),
    "email": frozenset({FieldKind.EMAIL, FieldKind.STRING}),
    "phone": frozenset({FieldKind.PHONE, FieldKind.STRING}),
    "url": frozenset({FieldKind.URL, FieldKind.STRING}),
    "number": _NUMBERS | {FieldKind.RATING},
    "range": _NUMBERS | {FieldKind.RATING},
    "rating": frozenset({FieldKind.RATING, FieldKind.INTEGER}),
    "file": frozenset({FieldKind.FILE}),
    "signature": frozenset({FieldKind.FILE, FieldKind.TEXT}),
    "hidden": frozenset(FieldKind),
}

# Rapport widget name -> RJSF ``ui:widget`` value (the same name unless listed).
RJSF_NAMES: Mapping[str, str] = {"url": "uri", "number": "updown", "phone": "text"}

_DEFAULTS: Mapping[FieldKind, str] = {
    FieldKind.TEXT: "textarea",
    FieldKind.ENUM: "select",
    FieldKind.MULTI_ENUM: "checkboxes",
    FieldKind.BOOLEAN: "checkbox",
    FieldKind.DATE: "date",
    FieldKind.DATETIME: "datetime",
    FieldKind.RATING: "rating",
    FieldKind.FILE: "file",
    FieldKind.EMAIL: "email",
    FieldKind.PHONE: "phone",
    FieldKind.URL: "url",
    FieldKind.INTEGER: "number",
    FieldKind.DECIMAL: "number",
    FieldKind.MONEY: "number",
    FieldKind.FLOAT: "number",
    FieldKind.JSON: "textarea",
}


def default_widget(kind: FieldKind) -> str:
    return _DEFAULTS.get(kind, "text")


def allowed_widgets(kind: FieldKind) -> list[str]:
    return [name for name, kinds in WIDGETS.items() if kind in kinds]
