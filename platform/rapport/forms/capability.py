"""The forms capability: the ``form`` queries and ``submitForm`` (rapport.forms.graphql)."""

from __future__ import annotations

from rapport.capability import Capability
from rapport.forms.graphql import contribute_forms

__all__ = ["FORMS"]

FORMS = Capability(name="forms", graphql=(contribute_forms,))
