"""Every form of a tenant version, with each form's compiled answer validator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from rapport.forms.document import Form
from rapport.forms.validation import FormValidator

__all__ = ["FormSet"]


@dataclass(frozen=True, slots=True)
class FormSet:
    """Every form of a tenant version by id (default forms included); frozen."""

    forms: Mapping[str, Form] = field(default_factory=lambda: MappingProxyType({}))
    # Each form's compiled answer validator, built with the set (by form id).
    validators: Mapping[str, FormValidator] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    def get(self, form_id: str) -> Form | None:
        return self.forms.get(form_id)

    def validator(self, form_id: str) -> FormValidator:
        return self.validators[form_id]

    def __contains__(self, form_id: object) -> bool:
        return form_id in self.forms

    def __iter__(self) -> Iterator[Form]:
        return iter(self.forms.values())

    def __len__(self) -> int:
        return len(self.forms)

    def listed(self) -> tuple[Form, ...]:
        """Forms that take submissions (retired ones left out), by id."""
        return tuple(f for _, f in sorted(self.forms.items()) if not f.retired)
