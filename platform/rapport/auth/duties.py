"""Separation of duties (三员分立, MLPS 2.0 level 3) among the built-in roles.

- ``system_admin`` manages the tenant's users and settings (create, disable, reset passwords,
  assign roles other than the security ones, the TOTP requirement), not its data.
- ``security_admin`` manages security: assigns roles, unlocks accounts, creates and revokes
  API keys. It reads no data either.
- ``audit_admin`` reads the audit log and nothing else. Auditing itself cannot be switched
  off: there is no setting for it.
- ``admin`` (the kernel's role, kept for ``rapport token issue --tenant SLUG --role admin``) is
  the tenant's full *data* administrator; it also manages users, so it counts as a system and
  security administrator for the rules below.

Rules enforced whenever roles are assigned: ``audit_admin`` may not be combined with any other
administrative role (``admin``, ``system_admin``, ``security_admin``): whoever is audited must not
be the auditor. ``system_admin`` and ``security_admin`` may not be combined either (so user
creation and role/key control stay with different people).
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.auth.principal import ADMIN_ROLE, OPERATOR_ROLE, Principal
from rapport.errors import DutiesConflict, Forbidden

__all__ = [
    "AUDIT_ADMIN",
    "SECURITY_ADMIN",
    "SYSTEM_ADMIN",
    "check_duties",
    "require_security_admin",
    "require_user_admin",
]

SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"
_ADMINISTRATIVE = frozenset({ADMIN_ROLE, SYSTEM_ADMIN, SECURITY_ADMIN})


def check_duties(roles: Iterable[str]) -> None:
    """Raise DUTIES_CONFLICT when ``roles`` combine duties that must stay separate."""
    held = frozenset(roles)
    if OPERATOR_ROLE in held:
        raise DutiesConflict(
            "The operator role runs the platform and cannot be given to a tenant user.",
            hint="Issue operator tokens with `rapport token issue --operator`.",
        )
    if AUDIT_ADMIN in held and held & _ADMINISTRATIVE:
        others = sorted(held & _ADMINISTRATIVE)
        raise DutiesConflict(
            f"audit_admin cannot be combined with {others}: the auditor must not administer "
            "what is audited.",
            hint="Give audit_admin to a separate user.",
        )
    if SYSTEM_ADMIN in held and SECURITY_ADMIN in held:
        raise DutiesConflict(
            "system_admin and security_admin must be held by different users.",
            hint="Assign one of the two roles to another user.",
        )


def require_user_admin(principal: Principal) -> None:
    """Users and tenant settings: admin or system_admin (security_admin for unlocks/roles)."""
    if principal.tenant is not None and principal.roles & {ADMIN_ROLE, SYSTEM_ADMIN}:
        return
    raise Forbidden(
        "Managing users needs the admin or system_admin role.",
        hint="Ask a system administrator of your tenant.",
    )


def require_security_admin(principal: Principal) -> None:
    """Roles, unlocks and API keys: admin or security_admin."""
    if principal.tenant is not None and principal.roles & {ADMIN_ROLE, SECURITY_ADMIN}:
        return
    raise Forbidden(
        "This needs the admin or security_admin role.",
        hint="Ask a security administrator of your tenant.",
    )
