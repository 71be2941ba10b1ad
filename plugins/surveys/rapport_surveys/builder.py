"""The survey builder: a survey definition -> a standalone form document, compiled by the forms.

A definition is what HR writes (or a template ships)::

    {"title": {"zh": …, "en": …}, "description": {…}, "defaultLocale": "zh",
     "questions": [{"key": "enps", "type": "nps", "label": {…}, "driver": "engagement",
                    "required": true}, …],
     "sections": [{"id": "s1", "title": {…}, "questions": ["enps", …]}],
     "rules": [{"when": {"stage": {"_eq": "d30"}}, "show": ["firstWeek"]}]}

Question types: ``single`` and ``multiple`` choice (``options``), ``likert5``/``likert7``,
``matrix`` (Likert ``rows``, each row one answer ``<key>_<row>``), ``nps`` (0–10), ``rating``
(1–``scale`` stars), ``ranking`` (every option once, in order), ``numeric`` (``min``/``max``),
``date`` and ``text``. The definition becomes a standalone form document (``questions`` in the
entity dialect, ``fields`` with widgets, ``sections``, ``rules`` = the forms' condition rules),
which :func:`rapport.forms.compiler.compile_forms` checks and compiles like any form: the
answers are validated by its :class:`~rapport.forms.validation.FormValidator` — the JSON Schema
clients get — so branching and display rules are enforced on the server exactly as shown.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapport.errors import FieldError, ValidationFailed
from rapport.forms.compiler import compile_forms
from rapport.forms.document import Form
from rapport.forms.jsonschema import form_json_schema
from rapport.forms.uischema import form_ui_schema
from rapport.forms.validation import FormValidator
from rapport.metadata.documents import DocumentKind, documents_from_json
from rapport.metadata.ir import Model

__all__ = [
    "DRIVERS",
    "QUESTION_TYPES",
    "CompiledSurvey",
    "Item",
    "compile_definition",
    "form_document",
]

FORM_ID = "surveys/survey"
QUESTION_TYPES = (
    "single",
    "multiple",
    "likert5",
    "likert7",
    "matrix",
    "nps",
    "rating",
    "ranking",
    "numeric",
    "date",
    "text",
)
DRIVERS = (
    "engagement",
    "workload",
    "manager",
    "growth",
    "recognition",
    "pay",
    "wellbeing",
    "belonging",
    "autonomy",
    "communication",
    "leadership",
    "environment",
)
_LIKERT = {
    5: {
        "zh": ["非常不同意", "不同意", "中立", "同意", "非常同意"],
        "en": ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"],
    },
    7: {
        "zh": ["非常不同意", "不同意", "有点不同意", "中立", "有点同意", "同意", "非常同意"],
        "en": [
            "Strongly disagree",
            "Disagree",
            "Somewhat disagree",
            "Neutral",
            "Somewhat agree",
            "Agree",
            "Strongly agree",
        ],
    },
}


@dataclass(frozen=True, slots=True)
class Item:
    """One answer key the analysis scores: a question, or one row of a matrix."""

    key: str  # the answer key (``<matrix>_<row>`` for a row)
    question: str
    type: str
    driver: str | None
    low: int | None  # the scale's ends for scored items
    high: int | None

    @property
    def scored(self) -> bool:
        return self.low is not None

    @property
    def midpoint(self) -> float | None:
        """Favourable above it, unfavourable below, neutral at it (Likert 5: 4–5 / 3 / 1–2;
        Likert 7: 5–7 / 4 / 1–3). NPS items are scored as promoters/passives/detractors."""
        if self.low is None or self.high is None:
            return None
        return (self.low + self.high) / 2


@dataclass(frozen=True, slots=True)
class CompiledSurvey:
    form: Form
    validator: FormValidator
    items: tuple[Item, ...]
    comments: tuple[str, ...]  # the open-text answer keys

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key or i.question == key), None)

    def json_schema(self, locale: str | None) -> dict[str, Any]:
        return form_json_schema(self.form, locale)

    def ui_schema(self, locale: str | None) -> dict[str, Any]:
        return form_ui_schema(self.form, locale)


def _problem(path: Sequence[str | int], message: str) -> FieldError:
    return FieldError(("definition", *path), message)


def _options(q: Mapping[str, Any], at: tuple[Any, ...], errors: list[FieldError]) -> list[Any]:
    options = q.get("options")
    if not isinstance(options, list) or len(options) < 2:
        errors.append(_problem((*at, "options"), "a choice question needs at least two options"))
        return []
    values = [o.get("value") if isinstance(o, Mapping) else o for o in options]
    if not all(isinstance(v, str) and v for v in values) or len(set(values)) != len(values):
        errors.append(_problem((*at, "options"), "options need distinct non-empty values"))
        return []
    return options


def _enum(options: list[Any]) -> dict[str, Any]:
    values = [o["value"] if isinstance(o, Mapping) else o for o in options]
    labels = {o["value"]: o["label"] for o in options if isinstance(o, Mapping) and "label" in o}
    schema: dict[str, Any] = {"enum": values}
    if labels:
        schema["x-enumLabels"] = labels
    return schema


def _array(options: list[Any]) -> dict[str, Any]:
    """A multi-choice answer: the labels belong on the field, not on its items."""
    enum = _enum(options)
    labels = enum.pop("x-enumLabels", None)
    schema: dict[str, Any] = {"type": "array", "items": enum, "uniqueItems": True}
    if labels:
        schema["x-enumLabels"] = labels
    return schema


def _scale_labels(points: int) -> dict[str, str]:
    return {"zh": " / ".join(_LIKERT[points]["zh"]), "en": " / ".join(_LIKERT[points]["en"])}


def _question(
    q: Mapping[str, Any], at: tuple[Any, ...], errors: list[FieldError]
) -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], list[Item], bool]:
    """(answer key, property schema, form field) triples, the items, and whether it is text."""
    key, kind, driver = str(q.get("key")), q.get("type"), q.get("driver")
    label = q.get("label") or key
    if driver is not None and driver not in DRIVERS:
        errors.append(_problem((*at, "driver"), f"unknown driver {driver!r}"))
    base: dict[str, Any] = {"x-label": label} if isinstance(label, Mapping) else {"title": label}
    field: dict[str, Any] = {"name": key}
    if isinstance(q.get("help"), Mapping | str):
        field["help"] = q["help"]
    if kind == "single":
        return (
            [(key, {**base, **_enum(_options(q, at, errors))}, {**field, "widget": "radio"})],
            [],
            False,
        )
    if kind == "multiple":
        return (
            [(key, {**base, **_array(_options(q, at, errors))}, {**field, "widget": "checkboxes"})],
            [],
            False,
        )
    if kind == "ranking":
        options = _options(q, at, errors)
        schema = {**base, **_array(options), "minItems": len(options), "maxItems": len(options)}
        return (
            [(key, schema, {**field, "widget": "checkboxes", "options": {"ranking": True}})],
            [],
            False,
        )
    if kind in ("likert5", "likert7"):
        points = 5 if kind == "likert5" else 7
        schema = {**base, "type": "integer", "minimum": 1, "maximum": points}
        field = {**field, "widget": "range", "options": {"likert": _scale_labels(points)}}
        return [(key, schema, field)], [Item(key, key, kind, driver, 1, points)], False
    if kind == "matrix":
        rows = q.get("rows")
        points = int(q.get("scale") or 5)
        if points not in _LIKERT:
            errors.append(_problem((*at, "scale"), "a matrix scale is 5 or 7 points"))
            points = 5
        if not isinstance(rows, list) or not rows:
            errors.append(_problem((*at, "rows"), "a matrix needs rows"))
            return [], [], False
        triples, items = [], []
        for index, row in enumerate(rows):
            rkey = row.get("key") if isinstance(row, Mapping) else None
            if not isinstance(rkey, str) or not rkey.isidentifier():
                errors.append(_problem((*at, "rows", index, "key"), "a row needs a key"))
                continue
            name = f"{key}_{rkey}"
            rlabel = row.get("label") or rkey
            rbase = {"x-label": rlabel} if isinstance(rlabel, Mapping) else {"title": rlabel}
            rdriver = row.get("driver", driver)
            if rdriver is not None and rdriver not in DRIVERS:
                errors.append(
                    _problem((*at, "rows", index, "driver"), f"unknown driver {rdriver!r}")
                )
            triples.append(
                (
                    name,
                    {**rbase, "type": "integer", "minimum": 1, "maximum": points},
                    {
                        "name": name,
                        "widget": "range",
                        "options": {"matrix": key, "likert": _scale_labels(points)},
                    },
                )
            )
            items.append(Item(name, key, f"likert{points}", rdriver, 1, points))
        return triples, items, False
    if kind == "nps":
        schema = {**base, "type": "integer", "minimum": 0, "maximum": 10}
        return (
            [(key, schema, {**field, "widget": "range"})],
            [Item(key, key, "nps", driver, 0, 10)],
            False,
        )
    if kind == "rating":
        scale = int(q.get("scale") or 5)
        schema = {**base, "type": "integer", "x-kind": "rating", "minimum": 1, "maximum": scale}
        return (
            [(key, schema, {**field, "widget": "rating"})],
            [Item(key, key, "rating", driver, 1, scale)],
            False,
        )
    if kind == "numeric":
        schema = {**base, "type": "number"}
        for bound in ("min", "max"):
            if isinstance(q.get(bound), int | float):
                schema["minimum" if bound == "min" else "maximum"] = q[bound]
        return [(key, schema, {**field, "widget": "number"})], [], False
    if kind == "date":
        return (
            [(key, {**base, "type": "string", "format": "date"}, {**field, "widget": "date"})],
            [],
            False,
        )
    if kind == "text":
        schema = {**base, "type": "string", "x-kind": "text", "maxLength": 4000}
        return [(key, schema, {**field, "widget": "textarea"})], [], True
    errors.append(
        _problem(
            (*at, "type"), f"unknown question type {kind!r}; use one of {', '.join(QUESTION_TYPES)}"
        )
    )
    return [], [], False


def form_document(definition: Any) -> tuple[dict[str, Any], list[Item], list[str]]:
    """The standalone form document of ``definition``, its scored items and comment keys."""
    errors: list[FieldError] = []
    if not isinstance(definition, Mapping):
        raise ValidationFailed(
            [FieldError(("definition",), "must be an object")],
            hint='Give {"questions": [{"key": …, "type": …, "label": …}, …]}.',
        )
    questions = definition.get("questions")
    if not isinstance(questions, list) or not questions:
        raise ValidationFailed(
            [_problem(("questions",), "a survey needs at least one question")],
            hint="Add questions, or start from a template (surveyTemplates).",
        )
    properties: dict[str, Any] = {}
    fields: list[dict[str, Any]] = []
    required: list[str] = []
    items: list[Item] = []
    comments: list[str] = []
    expand: dict[str, list[str]] = {}
    for index, q in enumerate(questions):
        at: tuple[Any, ...] = ("questions", index)
        key = q.get("key") if isinstance(q, Mapping) else None
        if not isinstance(key, str) or not _valid_key(key):
            errors.append(
                _problem((*at, "key"), "a question needs a key (a-z, then letters/digits)")
            )
            continue
        if key in expand:
            errors.append(_problem((*at, "key"), f"two questions have the key {key}"))
            continue
        triples, found, text = _question(q, at, errors)
        expand[key] = [name for name, _, _ in triples]
        for name, schema, field in triples:
            properties[name] = schema
            fields.append(field)
            if q.get("required") is True:
                required.append(name)
        items.extend(found)
        if text:
            comments.append(key)
    if errors:
        raise ValidationFailed(
            errors, hint="Fix the questions named; docs/surveys.md lists the types."
        )
    body: dict[str, Any] = {
        "$id": FORM_ID,
        "questions": properties,
        "fields": fields,
        "defaultLocale": str(definition.get("defaultLocale") or "zh"),
    }
    if required:
        body["required"] = required
    for name in ("title", "description"):
        if definition.get(name):
            body[name] = definition[name]
    sections = [
        {
            **{k: v for k, v in s.items() if k in ("id", "title", "description")},
            "fields": [n for key in s.get("questions", ()) for n in expand.get(key, [key])],
        }
        for s in definition.get("sections") or ()
        if isinstance(s, Mapping)
    ]
    if sections:
        body["sections"] = sections
    rules = []
    for rule in definition.get("rules") or ():
        if not isinstance(rule, Mapping):
            continue
        compiled: dict[str, Any] = {"when": rule.get("when")}
        for verb in ("show", "hide", "require"):
            if rule.get(verb):
                compiled[verb] = [n for key in rule[verb] for n in expand.get(key, [key])]
        rules.append(compiled)
    if rules:
        body["rules"] = rules
    return body, items, comments


def _valid_key(key: str) -> bool:
    return key[:1].isascii() and key[:1].islower() and key.isascii() and key.isalnum()


def compile_definition(definition: Any) -> CompiledSurvey:
    """Compile ``definition`` as a form document; every problem as one ValidationFailed."""
    body, items, comments = form_document(definition)
    return _compile(
        json.dumps(body, sort_keys=True, ensure_ascii=False), tuple(items), tuple(comments)
    )


@functools.lru_cache(maxsize=256)
def _compile(text: str, items: tuple[Item, ...], comments: tuple[str, ...]) -> CompiledSurvey:
    # Cached by the document's text: a campaign's form is compiled once per process.
    (document,) = documents_from_json([{"kind": DocumentKind.FORM.value, "body": json.loads(text)}])
    formset, problems = compile_forms([document], Model(()))
    if problems:
        raise ValidationFailed(
            [
                FieldError(
                    ("definition", *[p for p in problem.pointer.split("/") if p]), problem.message
                )
                for problem in problems
            ],
            hint=problems[0].hint or "Fix the rules and questions named.",
        )
    form = formset.get(FORM_ID)
    if form is None:  # compile_forms returns every form it was given
        raise ValidationFailed([FieldError(("definition",), "did not compile")])
    return CompiledSurvey(form, formset.validator(FORM_ID), items, comments)
