"""The forms Contributor: ``forms``, ``form(id, locale)`` and ``submitForm(id, data, formVersion)``.

::

    type FormDefinition {
      id: String!            # form id; an entity's default form has the entity's id
      entity: String         # null for a standalone questionnaire
      title: String          # in the resolved locale
      locale: String!        # the locale the texts were resolved to (see rapport.forms.locale)
      version: Int!          # echo it as submitForm(formVersion:)
      jsonSchema: JSON!      # plain JSON Schema of the answers (2020-12, or draft-07 on request)
      uiSchema: JSON!        # react-jsonschema-form uiSchema
    }
    enum FormDialect { DRAFT_2020_12 DRAFT_07 }   # DRAFT_07: what stock RJSF (plain Ajv) validates
    forms(locale: String, dialect: FormDialect = DRAFT_2020_12): [FormDefinition!]!
    form(id: String!, locale: String, dialect: FormDialect = DRAFT_2020_12): FormDefinition!
    submitForm(id: String!, data: JSON!, formVersion: Int): FormSubmitResult!   # { id }

Errors are GraphQL errors whose ``extensions`` carry the stable ``code`` (``VALIDATION_FAILED``
with ``errors: [{path: ["data", field…], message, code}]``, ``FORM_VERSION_STALE`` with
``currentVersion``, ``FORM_RETIRED``, ``NOT_FOUND``, ``FORBIDDEN``) and the ``hint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.errors import Forbidden
from rapport.forms.dialect import FormDialect, render
from rapport.forms.document import Form
from rapport.forms.jsonschema import form_json_schema
from rapport.forms.kind import forms_of
from rapport.forms.locale import best_locale, fallback_chain, form_locales, localize
from rapport.forms.submit import find_form, may_submit, submit_form
from rapport.forms.uischema import form_ui_schema
from rapport.forms.version import form_version
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import JSON
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata

__all__ = ["contribute_forms"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FormView:
    """A form as one request sees it: the form and the requested locale."""

    form: Form
    requested: str | None
    dialect: FormDialect = FormDialect.DRAFT_2020_12

    @property
    def chain(self) -> tuple[str, ...]:
        return fallback_chain(self.requested, self.form.document.default_locale)


def _locale(view: FormView, _info: Any) -> str:
    return best_locale(form_locales(view.form), view.chain)


def _title(view: FormView, _info: Any) -> str | None:
    return localize(view.form.document.title, view.chain)


def _entity(view: FormView, _info: Any) -> str | None:
    return None if view.form.standalone else view.form.entity.id


def _json_schema(view: FormView, _info: Any) -> dict[str, Any]:
    return render(form_json_schema(view.form, view.requested), view.dialect)


def _ui_schema(view: FormView, _info: Any) -> dict[str, Any]:
    return form_ui_schema(view.form, view.requested)


async def _version(view: FormView, info: Any) -> int:
    context: RequestContext = info.context
    return await form_version(context.db, context.api.tenant, view.form)


async def _forms(
    _root: Any,
    info: Any,
    locale: str | None = None,
    dialect: FormDialect = FormDialect.DRAFT_2020_12,
) -> list[FormView]:
    context: RequestContext = info.context
    views = []
    for form in forms_of(context.metadata).listed():
        try:
            may_submit(context.principal, context, form)
        except Forbidden:
            continue
        views.append(FormView(form, locale, dialect))
    return views


async def _form(
    _root: Any,
    info: Any,
    id: str,
    locale: str | None = None,
    dialect: FormDialect = FormDialect.DRAFT_2020_12,
) -> FormView:
    context: RequestContext = info.context
    form = find_form(context, id)
    return FormView(form, locale, dialect)


async def _submit(
    _root: Any, info: Any, id: str, data: Any, formVersion: int | None = None
) -> dict[str, str]:
    context: RequestContext = info.context
    return {"id": await submit_form(context, id, data, formVersion)}


def contribute_forms(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    form_type = ctx.registry.add(
        GraphQLObjectType(
            "FormDefinition",
            description="A form, compiled for one locale: JSON Schema + react-jsonschema-form "
            "uiSchema.",
            fields=lambda: {
                "id": GraphQLField(
                    GraphQLNonNull(GraphQLString),
                    resolve=lambda v, _i: v.form.id,
                    description="Form id; an entity's default form has the entity's id.",
                ),
                "entity": GraphQLField(
                    GraphQLString,
                    resolve=_entity,
                    description="The entity a submission creates; null for a questionnaire.",
                ),
                "title": GraphQLField(GraphQLString, resolve=_title),
                "locale": GraphQLField(
                    GraphQLNonNull(GraphQLString),
                    resolve=_locale,
                    description="The locale the texts were resolved to.",
                ),
                "version": GraphQLField(
                    GraphQLNonNull(GraphQLInt),
                    resolve=_version,
                    description="Pass it back as submitForm(formVersion:).",
                ),
                "jsonSchema": GraphQLField(
                    GraphQLNonNull(JSON),
                    resolve=_json_schema,
                    description="JSON Schema of the answers, 2020-12 (the server validates "
                    "submissions with this very schema) or, with dialect: DRAFT_07, the same "
                    "constraints in draft-07 for stock react-jsonschema-form.",
                ),
                "uiSchema": GraphQLField(
                    GraphQLNonNull(JSON),
                    resolve=_ui_schema,
                    description="react-jsonschema-form uiSchema (ui:order, ui:widget, …).",
                ),
            },
        ),
        origin="forms",
    )
    result_type = ctx.registry.add(
        GraphQLObjectType(
            "FormSubmitResult",
            fields={
                "id": GraphQLField(
                    GraphQLNonNull(GraphQLID),
                    description="The created record's id (a questionnaire: the submission's).",
                )
            },
        ),
        origin="forms",
    )
    locale_arg = GraphQLArgument(
        GraphQLString, description="BCP 47 tag, e.g. zh or zh-Hant; default: the form's own."
    )
    dialect_type = ctx.registry.add(
        GraphQLEnumType(
            "FormDialect",
            {
                "DRAFT_2020_12": GraphQLEnumValue(
                    FormDialect.DRAFT_2020_12,
                    description="JSON Schema 2020-12, exactly what the server validates with.",
                ),
                "DRAFT_07": GraphQLEnumValue(
                    FormDialect.DRAFT_07,
                    description="The same constraints in draft-07: what a stock "
                    "@rjsf/validator-ajv8 (plain Ajv) validates without configuration.",
                ),
            },
            description="The JSON Schema dialect of a form's jsonSchema.",
        ),
        origin="forms",
    )
    dialect_arg = GraphQLArgument(
        dialect_type,
        default_value=FormDialect.DRAFT_2020_12,
        description="The dialect of jsonSchema; DRAFT_07 for stock react-jsonschema-form.",
    )
    return Contribution(
        query={
            "forms": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(form_type))),
                args={"locale": locale_arg, "dialect": dialect_arg},
                resolve=_forms,
                description="Forms the current user may submit (retired ones left out).",
            ),
            "form": GraphQLField(
                GraphQLNonNull(form_type),
                args={
                    "id": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                    "locale": locale_arg,
                    "dialect": dialect_arg,
                },
                resolve=_form,
                description="One form, compiled for a locale.",
            ),
        },
        mutation={
            "submitForm": GraphQLField(
                GraphQLNonNull(result_type),
                args={
                    "id": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                    "data": GraphQLArgument(
                        GraphQLNonNull(JSON), description="The answers, as a JSON object."
                    ),
                    "formVersion": GraphQLArgument(
                        GraphQLInt,
                        description="The version the answers were made with; a different "
                        "current version refuses them (FORM_VERSION_STALE).",
                    ),
                },
                resolve=_submit,
                description="Validate the answers with the form's JSON Schema and create the "
                "record (or, for a questionnaire, the submission).",
            ),
        },
    )
