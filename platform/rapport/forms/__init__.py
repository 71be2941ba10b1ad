"""Forms without code: form documents compiled to JSON Schema + a react-jsonschema-form
uiSchema, and submissions validated against the very same JSON Schema (DESIGN.md D3, D5).

- :mod:`rapport.forms.document` — form documents and compiled forms;
- :mod:`rapport.forms.formset` — a tenant's forms with their validators (:class:`FormSet`);
- :mod:`rapport.forms.compiler` — documents -> FormSet, every problem reported at plan time;
- :mod:`rapport.forms.default` — every entity's default form (form id = entity id);
- :mod:`rapport.forms.jsonschema`, :mod:`rapport.forms.uischema` — what a frontend renders;
- :mod:`rapport.forms.locale` — the translation fallback order;
- :mod:`rapport.forms.submit` — server-side validation, permission, record or submission;
- :mod:`rapport.forms.graphql` — ``forms``, ``form`` and ``submitForm``.
"""
