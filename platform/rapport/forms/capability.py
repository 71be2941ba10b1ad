"""The forms capability: the ``form`` queries and ``submitForm`` (rapport.forms.graphql). The form
document kind is declared as an entry point (pyproject.toml)."""

from __future__ import annotations

from rapport.capability import Capability
from rapport.forms.graphql import contribute_forms

__all__ = ["FORMS"]

FORMS = Capability(name="forms", graphql=(contribute_forms,))
