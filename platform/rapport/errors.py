"""Rapport's one error hierarchy.

Every error carries a stable ``code`` (clients and tests match on it, never on the message), a
message that says what is wrong, and a ``hint`` that says how to fix it. Input errors carry a
``path`` (GraphQL argument path or JSON pointer segments) so a frontend can attach them to a
widget::

    RapportError
    ├── ValidationFailed        VALIDATION_FAILED      record input breaks the entity's schema
    ├── MetadataInvalid         METADATA_INVALID       documents break the dialect (all problems)
    ├── DestructiveChange       DESTRUCTIVE_CHANGE     a plan drops/narrows; needs --allow-destructive
    ├── MetadataConflict        METADATA_CONFLICT      someone published in between
    ├── PublishFailed           PUBLISH_FAILED         a plan step failed on the data; all rolled back
    ├── VersionConflict         VERSION_CONFLICT       expectedVersion does not match the record
    ├── ConstraintViolation     CONSTRAINT_VIOLATION   unique key taken, or a row still referenced
    ├── NotFound                NOT_FOUND              record, tenant or version does not exist
    ├── TenantNotFound          TENANT_NOT_FOUND       (a NotFound for tenants)
    ├── Unauthenticated         UNAUTHENTICATED        missing, expired or forged credentials
    ├── Forbidden               FORBIDDEN              authenticated, but not allowed
    ├── BadRequest              BAD_REQUEST            malformed HTTP/GraphQL request
    ├── MethodNotAllowed        METHOD_NOT_ALLOWED     e.g. a mutation over GET
    ├── DatabaseUnavailable     DATABASE_UNAVAILABLE   PostgreSQL cannot be reached
    └── ConfigurationError      CONFIGURATION_ERROR    a setting is missing or malformed
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "ConfigurationError",
    "ConstraintViolation",
    "DatabaseUnavailable",
    "DestructiveChange",
    "FieldError",
    "Forbidden",
    "MetadataConflict",
    "MetadataInvalid",
    "MetadataProblem",
    "MethodNotAllowed",
    "NotFound",
    "PublishFailed",
    "RapportError",
    "TenantNotFound",
    "Unauthenticated",
    "ValidationFailed",
    "VersionConflict",
]

PathSegment = str | int


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input value."""

    path: tuple[PathSegment, ...]
    message: str
    code: str = "INVALID"

    def as_dict(self) -> dict[str, Any]:
        return {"path": list(self.path), "message": self.message, "code": self.code}


@dataclass(frozen=True, slots=True)
class MetadataProblem:
    """One problem in one metadata document, located by a JSON pointer."""

    document: str
    pointer: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.document}#{self.pointer}" if self.pointer else self.document
        text = f"{where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict[str, str]:
        return {
            "document": self.document,
            "pointer": self.pointer,
            "message": self.message,
            "hint": self.hint,
        }


class RapportError(Exception):
    """Base of every error Rapport raises on purpose."""

    code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        path: Sequence[PathSegment] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = tuple(path) if path is not None else None
        self.details: dict[str, Any] = dict(details or {})

    def extensions(self) -> dict[str, Any]:
        """The GraphQL ``extensions`` object for this error."""
        ext: dict[str, Any] = {"code": self.code}
        if self.hint:
            ext["hint"] = self.hint
        ext.update(self.details)
        return ext

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ValidationFailed(RapportError):
    code = "VALIDATION_FAILED"
    http_status = 400

    def __init__(
        self,
        errors: Sequence[FieldError],
        *,
        message: str | None = None,
        hint: str = "Correct the listed fields and send the request again.",
    ) -> None:
        self.errors = tuple(errors)
        first = self.errors[0] if self.errors else None
        text = message or (
            f"Input is invalid at {'.'.join(map(str, first.path)) or '(root)'}: {first.message}"
            + (f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else "")
            if first
            else "Input is invalid."
        )
        super().__init__(
            text,
            hint=hint,
            path=first.path if first else None,
            details={"errors": [e.as_dict() for e in self.errors]},
        )


class MetadataInvalid(RapportError):
    code = "METADATA_INVALID"
    http_status = 400

    def __init__(self, problems: Sequence[MetadataProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the metadata documents:\n{lines}",
            hint="Fix every listed document at the JSON pointer shown, then plan again.",
            details={"problems": [p.as_dict() for p in self.problems]},
        )


class DestructiveChange(RapportError):
    code = "DESTRUCTIVE_CHANGE"
    http_status = 409

    def __init__(self, steps: Sequence[str]) -> None:
        self.steps = tuple(steps)
        lines = "\n".join(f"  - {s}" for s in self.steps)
        super().__init__(
            f"The plan has {len(self.steps)} destructive step(s):\n{lines}",
            hint="Review the plan; publish again with --allow-destructive "
            "(allowDestructive: true) to accept the data loss.",
            details={"steps": list(self.steps)},
        )


class MetadataConflict(RapportError):
    code = "METADATA_CONFLICT"
    http_status = 409


class PublishFailed(RapportError):
    """A plan step cannot run on the tenant's data (refused, or failed in the database).

    Raised from inside the publish transaction, so nothing of the plan is applied.
    """

    code = "PUBLISH_FAILED"
    http_status = 409


class VersionConflict(RapportError):
    code = "VERSION_CONFLICT"
    http_status = 409


class ConstraintViolation(RapportError):
    code = "CONSTRAINT_VIOLATION"
    http_status = 409


class NotFound(RapportError):
    code = "NOT_FOUND"
    http_status = 404


class TenantNotFound(NotFound):
    code = "TENANT_NOT_FOUND"


class Unauthenticated(RapportError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(RapportError):
    code = "FORBIDDEN"
    http_status = 403


class BadRequest(RapportError):
    code = "BAD_REQUEST"
    http_status = 400


class MethodNotAllowed(RapportError):
    code = "METHOD_NOT_ALLOWED"
    http_status = 405


class DatabaseUnavailable(RapportError):
    code = "DATABASE_UNAVAILABLE"
    http_status = 503


class ConfigurationError(RapportError):
    code = "CONFIGURATION_ERROR"
    http_status = 500
