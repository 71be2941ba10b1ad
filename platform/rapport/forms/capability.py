"""The forms capability: the ``form`` queries and ``submitForm`` (rapport.forms.graphql), and the
form document kind."""

from __future__ import annotations

from rapport.capability import Capability
from rapport.forms.graphql import contribute_forms
from rapport.forms.kind import FORMS_KIND

__all__ = ["FORMS"]

FORMS = Capability(name="forms", graphql=(contribute_forms,), documents=(FORMS_KIND,))
