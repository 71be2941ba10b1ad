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
    ├── TransitionNotAllowed    TRANSITION_NOT_ALLOWED a workflow transition is refused (lists what is allowed)
    ├── FormVersionStale        FORM_VERSION_STALE     a form was submitted against an older version
    ├── FormRetired             FORM_RETIRED           the form was retired; it takes no submissions
    ├── ConstraintViolation     CONSTRAINT_VIOLATION   unique key taken, or a row still referenced
    ├── NotFound                NOT_FOUND              record, tenant or version does not exist
    ├── TenantNotFound          TENANT_NOT_FOUND       (a NotFound for tenants)
    ├── Unauthenticated         UNAUTHENTICATED        missing, expired or forged credentials
    │   ├── LoginFailed         LOGIN_FAILED           wrong login/password, or locked (same text)
    │   └── TotpRequired        TOTP_REQUIRED          password right; a TOTP code is needed
    ├── Forbidden               FORBIDDEN              authenticated, but not allowed
    │   └── DutiesConflict      DUTIES_CONFLICT        roles break the separation of duties
    ├── WeakPassword            WEAK_PASSWORD          a new password breaks the password policy
    ├── QueryTooDeep            QUERY_TOO_DEEP         selection nesting above the depth limit
    ├── QueryTooCostly          QUERY_TOO_COSTLY       estimated cost above the cost limit
    ├── TooManyAliases          TOO_MANY_ALIASES       more aliases than the alias limit
    ├── QueryTooLarge           QUERY_TOO_LARGE        operation text above the byte/token limit
    ├── PersistedQueryNotFound  PERSISTED_QUERY_NOT_FOUND  not on the persisted-operation list
    ├── BadRequest              BAD_REQUEST            malformed HTTP/GraphQL request
    ├── MethodNotAllowed        METHOD_NOT_ALLOWED     e.g. a mutation over GET
    ├── RateLimited             RATE_LIMITED           too many requests; retry after a pause
    ├── DatabaseUnavailable     DATABASE_UNAVAILABLE   PostgreSQL cannot be reached
    ├── ConfigurationError      CONFIGURATION_ERROR    a setting is missing or malformed
    ├── DeliveryFailed          DELIVERY_FAILED        a webhook/robot refused an event (retried)
    ├── PlatformError           PLATFORM_ERROR         WeCom/DingTalk refused a call or is unreachable
    ├── DecryptionFailed        DECRYPTION_FAILED      wrong/missing key, or a ciphertext moved or altered
    ├── TimestampFailed         TIMESTAMP_FAILED       the TSA refused or is unreachable, or a token does not verify
    ├── EvidenceInvalid         EVIDENCE_INVALID       an evidence package is malformed or fails a check
    ├── PluginInvalid           PLUGIN_INVALID         installed plug-ins fail validation (all problems)
    └── PluginNotAllowed        PLUGIN_NOT_ALLOWED     the tenant's plan does not include the plug-in
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
    "DecryptionFailed",
    "DeliveryFailed",
    "DestructiveChange",
    "DutiesConflict",
    "EvidenceInvalid",
    "FieldError",
    "Forbidden",
    "FormRetired",
    "FormVersionStale",
    "LoginFailed",
    "MetadataConflict",
    "MetadataInvalid",
    "MetadataProblem",
    "MethodNotAllowed",
    "NotFound",
    "PersistedQueryNotFound",
    "PlatformError",
    "PluginInvalid",
    "PluginNotAllowed",
    "PublishFailed",
    "QueryTooCostly",
    "QueryTooDeep",
    "QueryTooLarge",
    "RapportError",
    "RateLimited",
    "TenantNotFound",
    "TimestampFailed",
    "TooManyAliases",
    "TotpRequired",
    "TransitionNotAllowed",
    "Unauthenticated",
    "ValidationFailed",
    "VersionConflict",
    "WeakPassword",
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


class TransitionNotAllowed(RapportError):
    """``details``: ``reasons`` (why this transition is refused) and ``allowed`` (the transitions
    this user may run on the record now)."""

    code = "TRANSITION_NOT_ALLOWED"
    http_status = 409


class VersionConflict(RapportError):
    code = "VERSION_CONFLICT"
    http_status = 409


class FormVersionStale(RapportError):
    """``formVersion`` names an older version of the form; ``currentVersion`` is in extensions."""

    code = "FORM_VERSION_STALE"
    http_status = 409


class FormRetired(RapportError):
    code = "FORM_RETIRED"
    http_status = 410


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


class LoginFailed(Unauthenticated):
    code = "LOGIN_FAILED"


class TotpRequired(Unauthenticated):
    code = "TOTP_REQUIRED"


class Forbidden(RapportError):
    code = "FORBIDDEN"
    http_status = 403


class DutiesConflict(Forbidden):
    code = "DUTIES_CONFLICT"


class WeakPassword(RapportError):
    code = "WEAK_PASSWORD"
    http_status = 400


class QueryTooDeep(RapportError):
    code = "QUERY_TOO_DEEP"
    http_status = 400


class QueryTooCostly(RapportError):
    code = "QUERY_TOO_COSTLY"
    http_status = 400


class TooManyAliases(RapportError):
    code = "TOO_MANY_ALIASES"
    http_status = 400


class QueryTooLarge(RapportError):
    code = "QUERY_TOO_LARGE"
    http_status = 400


class PersistedQueryNotFound(RapportError):
    code = "PERSISTED_QUERY_NOT_FOUND"
    http_status = 400


class BadRequest(RapportError):
    code = "BAD_REQUEST"
    http_status = 400


class MethodNotAllowed(RapportError):
    code = "METHOD_NOT_ALLOWED"
    http_status = 405


class RateLimited(RapportError):
    code = "RATE_LIMITED"
    http_status = 429


class DatabaseUnavailable(RapportError):
    code = "DATABASE_UNAVAILABLE"
    http_status = 503


class ConfigurationError(RapportError):
    code = "CONFIGURATION_ERROR"
    http_status = 500


class DeliveryFailed(RapportError):
    """An outbound webhook or robot did not accept an event; the job retries it with backoff."""

    code = "DELIVERY_FAILED"
    http_status = 502


class PlatformError(RapportError):
    """WeCom or DingTalk refused a server API call (``details.errcode``) or could not be
    reached (no errcode); the message says what to fix."""

    code = "PLATFORM_ERROR"
    http_status = 502


class DecryptionFailed(RapportError):
    """An encrypted value cannot be opened: its key is missing or wrong, or the value was
    altered or moved to another row or field (AES-GCM authenticates both)."""

    code = "DECRYPTION_FAILED"
    http_status = 500


class TimestampFailed(RapportError):
    """An RFC 3161 timestamp could not be had (the TSA is unreachable or refused the request)
    or a timestamp token does not verify (wrong digest, nonce, signature or certificate)."""

    code = "TIMESTAMP_FAILED"
    http_status = 502


class EvidenceInvalid(RapportError):
    """An evidence package cannot be read or one of its checks fails (``details.checks``)."""

    code = "EVIDENCE_INVALID"
    http_status = 400


class PluginInvalid(RapportError):
    """Installed plug-in packages fail validation; every problem names its plug-in."""

    code = "PLUGIN_INVALID"
    http_status = 500

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - plug-in {name}: {text}" for name, text in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the installed plug-ins:\n{lines}",
            hint="Fix or uninstall (pip uninstall) each named plug-in package, then start again.",
            details={"problems": [{"plugin": n, "message": t} for n, t in self.problems]},
        )


class PluginNotAllowed(RapportError):
    code = "PLUGIN_NOT_ALLOWED"
    http_status = 403
