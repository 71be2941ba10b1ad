"""Deferred parameters that are not about pages: GraphQL variables and record ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from rapport.errors import FieldError, PathSegment, ValidationFailed
from rapport.sql.plan import Deferred, Param, RequestValues

__all__ = ["WRITTEN", "RecordId", "RecordIds", "VariableValue", "Written", "resolve_params"]


@dataclass(frozen=True, slots=True)
class VariableValue(Deferred):
    """The coerced value of GraphQL variable ``name``."""

    name: str

    def resolve(self, values: RequestValues) -> Any:
        return values.variables.get(self.name)


def _value(param: Param, values: RequestValues) -> Any:
    return param.resolve(values) if isinstance(param, Deferred) else param


def _uuid(value: Any, path: tuple[PathSegment, ...]) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(
            [FieldError(path, f"is not a record id (a UUID): {value!r}", "INVALID_ID")],
            hint="Pass the `id` of a record as returned by the API, e.g. "
            "123e4567-e89b-12d3-a456-426614174000.",
        ) from None


@dataclass(frozen=True, slots=True)
class RecordId(Deferred):
    """A record id argument, checked to be a UUID."""

    source: Param
    path: tuple[PathSegment, ...]

    def resolve(self, values: RequestValues) -> uuid.UUID:
        return _uuid(_value(self.source, values), self.path)


@dataclass(frozen=True, slots=True)
class RecordIds(Deferred):
    """A list of record ids (the read-back of a bulk create)."""

    source: Param
    path: tuple[PathSegment, ...]

    def resolve(self, values: RequestValues) -> list[uuid.UUID]:
        return [_uuid(v, (*self.path, i)) for i, v in enumerate(_value(self.source, values))]


def resolve_params(params: list[Param], values: RequestValues) -> list[Any]:
    """The statement's arguments for one request; raises what a deferred value raises."""
    return [p.resolve(values) if isinstance(p, Deferred) else p for p in params]


WRITTEN = "written"  # RequestValues.memo key of the ids a mutation wrote


@dataclass(frozen=True, slots=True)
class Written(Deferred):
    """The id (or ids) the current mutation wrote, for reading the record(s) back."""

    def resolve(self, values: RequestValues) -> Any:
        return values.memo[WRITTEN]
