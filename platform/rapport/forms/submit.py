"""``submitForm``: answers checked by the form's own JSON Schema, then one record written.

In one transaction, in this order (the first failure stops; nothing is stored):

1. the form exists (``NOT_FOUND``) and is not retired (``FORM_RETIRED``);
2. permission: ``create`` on the form's entity (:func:`rapport.auth.permissions.authorize`);
   a standalone questionnaire is open to every user of the tenant;
3. ``formVersion``, when given, is the form's current version (``FORM_VERSION_STALE``, with
   ``currentVersion`` and ``formVersion`` in the error's extensions);
4. the answers against the compiled JSON Schema (``VALIDATION_FAILED``; each error has the path
   ``["data", <field>, …]`` a frontend attaches to the widget);
5. read-only and hidden fields left out get their (only allowed) value;
6. an entity form creates the record through the RecordWriter (``via="form"``: every write
   participant runs) and a ``core/form_submission`` row linking form id, form version, entity
   and record id; a questionnaire stores its answers in a ``core/form_submission`` row. The
   submission row is written by the server on the submitter's behalf (``createdBy`` is the
   submitter): being allowed to submit the form is what permits it;
7. a ``form.submit`` audit entry (form id and version) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rapport.audit.log import append_entry
from rapport.auth.permissions import authorize
from rapport.errors import FormRetired, FormVersionStale, NotFound, ValidationFailed
from rapport.forms.default import SUBMISSION_ENTITY
from rapport.forms.document import Form
from rapport.forms.kind import forms_of
from rapport.forms.version import form_version
from rapport.metadata.ir import thaw_json
from rapport.principal import ADMIN_ROLE, Principal

if TYPE_CHECKING:
    from rapport.graphql.contributions import RequestContext

__all__ = ["find_form", "may_submit", "submit_form"]

DATA_PATH = ("data",)


def find_form(context: RequestContext, form_id: str) -> Form:
    """The form, or NOT_FOUND / FORM_RETIRED."""
    form = forms_of(context.metadata).get(form_id)
    if form is None:
        raise NotFound(
            f"There is no form {form_id}.",
            hint="List the forms you may fill in with the `forms` query.",
            path=("id",),
        )
    if form.retired:
        raise FormRetired(
            f"The form {form_id} has been retired and takes no more submissions.",
            hint="Use the form that replaced it (see the `forms` query).",
            path=("id",),
        )
    return form


def may_submit(principal: Principal, context: RequestContext, form: Form) -> None:
    if not form.standalone:
        authorize(principal, context.metadata, form.entity.id, "create")


async def submit_form(
    context: RequestContext, form_id: str, data: Any, given_version: int | None
) -> str:
    """Validate and store one submission; the created record's (or submission's) id."""
    form = find_form(context, form_id)
    principal = context.principal
    may_submit(principal, context, form)
    api = context.api
    async with context.db.transaction() as conn:
        current = await form_version(conn, api.tenant, form)
        if given_version is not None and given_version != current:
            raise FormVersionStale(
                f"The answers were made with version {given_version} of the form {form_id}; "
                f"it is at version {current} now.",
                hint="Load the form again (form(id, locale)) and submit with its version.",
                path=("formVersion",),
                details={"currentVersion": current, "formVersion": given_version},
            )
        errors = forms_of(api.metadata).validator(form.id).validate(data, path_prefix=DATA_PATH)
        if errors:
            raise ValidationFailed(errors)
        answers = _with_fixed_values(form, data)
        writer = api.writer
        submissions = api.model.entity(SUBMISSION_ENTITY)
        # The link row is the server's own bookkeeping, written on the submitter's behalf.
        clerk = replace(principal, roles=principal.roles | {ADMIN_ROLE})
        link: dict[str, Any] = {"form": form.id, "formVersion": current}
        if form.standalone:
            record_id = await writer.create(
                conn,
                submissions,
                {**link, "answers": answers},
                principal=clerk,
                path=DATA_PATH,
                via="form",
            )
            entity_id = SUBMISSION_ENTITY
        else:
            record_id = await writer.create(
                conn, form.entity, answers, principal=principal, path=DATA_PATH, via="form"
            )
            entity_id = form.entity.id
            await writer.create(
                conn,
                submissions,
                {**link, "entity": entity_id, "recordId": record_id},
                principal=clerk,
                path=DATA_PATH,
                via="form",
            )
        await append_entry(
            conn,
            tenant_id=api.tenant.id,
            actor=principal.subject,
            action="form.submit",
            entity=entity_id,
            record_id=record_id,
            data=link,
        )
        return record_id


def _with_fixed_values(form: Form, data: Mapping[str, Any]) -> dict[str, Any]:
    answers = dict(data)
    for bound in form.fields:
        if bound.spec.fixed and bound.name not in answers:
            value = bound.spec.default if bound.spec.has_default else bound.field.default
            answers[bound.name] = thaw_json(value)
    return answers
