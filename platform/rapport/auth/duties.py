"""Separation of duties (三员分立, MLPS 2.0 level 3): who may grant which role, act on which account.

The built-in administrator roles:

- ``system_admin`` manages accounts and tenant settings: creates users, disables and re-enables
  them, resets passwords, sets the TOTP requirement. It grants no administrator role and touches
  no administrator's account (and never its own).
- ``security_admin`` grants and revokes roles, unlocks accounts, resets a lost second factor and
  manages API keys — never for itself, never the ``admin`` data role (granting it, or changing the
  roles or second factor of a user who holds it) and never a combination :func:`check_duties`
  forbids.
- ``audit_admin`` reads the audit log only (rapport.audit.graphql); it acts on no account.
- ``admin`` is the tenant's data administrator; only it (or the operator, through the CLI) grants
  ``admin``. It may do every act here except on its own account's password and status.

API keys carry at most the roles their creator may grant, and never an administrator role unless
an ``admin`` creates them: an administrator's duties belong to a named person, not a key.

:func:`refusal` is the rule as a pure function (tests walk it as a table); ``rapport.auth.enforce``
applies it to a request and audits every refusal. Role combinations refused for everyone, whoever
grants them (:func:`check_duties`): ``audit_admin`` with any other administrator role (whoever is
audited must not be the auditor); ``system_admin`` with ``security_admin``; ``operator`` at all.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from rapport.errors import DutiesConflict, Forbidden
from rapport.principal import ADMIN_ROLE, OPERATOR_ROLE, Principal

__all__ = [
    "ADMINISTRATOR_ROLES",
    "AUDIT_ADMIN",
    "SECURITY_ADMIN",
    "SYSTEM_ADMIN",
    "Act",
    "check_duties",
    "may_grant",
    "performs",
    "refusal",
    "require_security_admin",
    "require_user_admin",
]

SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"
_ADMINISTRATIVE = frozenset({ADMIN_ROLE, SYSTEM_ADMIN, SECURITY_ADMIN})
ADMINISTRATOR_ROLES = _ADMINISTRATIVE | {AUDIT_ADMIN}


class Act(enum.StrEnum):
    """The acts on accounts and keys that the duty model rules on."""

    CREATE_USER = "createUser"
    ASSIGN_ROLES = "assignRoles"
    RESET_PASSWORD = "resetPassword"
    SET_ACTIVE = "setUserActive"
    UNLOCK = "unlockUser"
    RESET_TOTP = "resetTotp"
    CREATE_API_KEY = "createApiKey"
    REVOKE_API_KEY = "revokeApiKey"


# Who may perform each act at all.
_PERFORMERS: dict[Act, frozenset[str]] = {
    Act.CREATE_USER: frozenset({ADMIN_ROLE, SYSTEM_ADMIN}),
    Act.RESET_PASSWORD: frozenset({ADMIN_ROLE, SYSTEM_ADMIN}),
    Act.SET_ACTIVE: frozenset({ADMIN_ROLE, SYSTEM_ADMIN}),
    Act.ASSIGN_ROLES: frozenset({ADMIN_ROLE, SECURITY_ADMIN}),
    Act.UNLOCK: frozenset({ADMIN_ROLE, SECURITY_ADMIN}),
    Act.RESET_TOTP: frozenset({ADMIN_ROLE, SECURITY_ADMIN}),
    Act.CREATE_API_KEY: frozenset({ADMIN_ROLE, SECURITY_ADMIN}),
    Act.REVOKE_API_KEY: frozenset({ADMIN_ROLE, SECURITY_ADMIN}),
}
# Acts nobody performs on their own account through the admin API (self-service endpoints with
# the current password or code exist for what a user may change about itself).
_NOT_ON_SELF = frozenset(
    {Act.ASSIGN_ROLES, Act.RESET_PASSWORD, Act.SET_ACTIVE, Act.UNLOCK, Act.RESET_TOTP}
)
# Acts that change an account's credentials, status or roles: system_admin never on an
# administrator, security_admin never on an admin.
_ON_ACCOUNT = frozenset({Act.ASSIGN_ROLES, Act.RESET_PASSWORD, Act.SET_ACTIVE, Act.RESET_TOTP})


def may_grant(actor: frozenset[str], act: Act, role: str) -> bool:
    """Whether roles ``actor`` may give ``role`` to an account or key by ``act``."""
    if ADMIN_ROLE in actor:
        return True
    if act is Act.CREATE_API_KEY:
        return SECURITY_ADMIN in actor and role not in ADMINISTRATOR_ROLES
    if act is Act.ASSIGN_ROLES:
        return SECURITY_ADMIN in actor and role != ADMIN_ROLE
    if act is Act.CREATE_USER:
        return SYSTEM_ADMIN in actor and role not in ADMINISTRATOR_ROLES
    return False


def performs(actor: Iterable[str], act: Act) -> bool:
    """Whether ``actor`` holds a role that performs ``act`` at all (whatever the target)."""
    return bool(frozenset(actor) & _PERFORMERS[act])


def refusal(
    actor: Iterable[str],
    act: Act,
    *,
    target_roles: Iterable[str] = (),
    granted: Iterable[str] = (),
    on_self: bool = False,
) -> str | None:
    """Why ``actor`` may not do ``act``, or None when the duty model allows it.

    ``target_roles``: the roles the account (or key) holds now; ``granted``: the roles the act
    would give it (a new user's, an assignment's, a key's); ``on_self``: the account is the
    actor's own.
    """
    held = frozenset(actor)
    if not performs(held, act):
        allowed = " or ".join(sorted(_PERFORMERS[act]))
        return f"{act} needs the {allowed} role."
    if on_self and act in _NOT_ON_SELF:
        return f"{act} cannot be done on your own account: another administrator must do it."
    target = frozenset(target_roles)
    if ADMIN_ROLE not in held and act in _ON_ACCOUNT:
        if SYSTEM_ADMIN in held and target & ADMINISTRATOR_ROLES:
            return f"system_admin cannot {act} on an administrator ({', '.join(sorted(target))})."
        if ADMIN_ROLE in target:
            return f"Only an admin may {act} on a user who holds the admin role."
    refused = sorted(
        r for r in frozenset(granted) - _kept(act, target) if not may_grant(held, act, r)
    )
    if refused:
        return f"Your roles ({', '.join(sorted(held))}) may not grant {', '.join(refused)}."
    return None


def _kept(act: Act, target: frozenset[str]) -> frozenset[str]:
    """Roles an assignment keeps rather than grants (revoking others is always allowed)."""
    return target if act is Act.ASSIGN_ROLES else frozenset()


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
    """Listing users and tenant settings: admin or system_admin."""
    if principal.tenant is not None and principal.roles & {ADMIN_ROLE, SYSTEM_ADMIN}:
        return
    raise Forbidden(
        "Managing users needs the admin or system_admin role.",
        hint="Ask a system administrator of your tenant.",
    )


def require_security_admin(principal: Principal) -> None:
    """Listing API keys: admin or security_admin."""
    if principal.tenant is not None and principal.roles & {ADMIN_ROLE, SECURITY_ADMIN}:
        return
    raise Forbidden(
        "This needs the admin or security_admin role.",
        hint="Ask a security administrator of your tenant.",
    )
