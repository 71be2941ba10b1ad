"""Separation of duties (三员分立) among the built-in roles."""

from __future__ import annotations

import pytest

from rapport.auth.duties import (
    Act,
    check_duties,
    refusal,
    require_security_admin,
    require_user_admin,
)
from rapport.errors import DutiesConflict, Forbidden
from rapport.principal import Principal


@pytest.mark.parametrize(
    "roles",
    [
        ["admin", "audit_admin"],
        ["system_admin", "audit_admin"],
        ["security_admin", "audit_admin"],
        ["system_admin", "security_admin"],
        ["operator"],
    ],
)
def test_conflicting_duties_are_refused(roles: list[str]) -> None:
    with pytest.raises(DutiesConflict) as caught:
        check_duties(roles)
    assert caught.value.code == "DUTIES_CONFLICT"


@pytest.mark.parametrize(
    "roles", [["admin"], ["audit_admin"], ["admin", "system_admin"], ["hr", "reader"]]
)
def test_compatible_roles_pass(roles: list[str]) -> None:
    check_duties(roles)


def test_each_administrator_reaches_only_its_duty() -> None:
    def who(*roles: str) -> Principal:
        return Principal(tenant="acme", subject="u", roles=frozenset(roles))

    require_user_admin(who("system_admin"))
    require_security_admin(who("security_admin"))
    require_user_admin(who("admin"))
    require_security_admin(who("admin"))
    for principal, check in (
        (who("security_admin"), require_user_admin),
        (who("system_admin"), require_security_admin),
        (who("audit_admin"), require_user_admin),
        (who("audit_admin"), require_security_admin),
        (Principal(tenant=None, subject="ops", roles=frozenset({"operator"})), require_user_admin),
    ):
        with pytest.raises(Forbidden):
            check(principal)


# --- the duty model as a table ---------------------------------------------------------------
#
# Rows: (acting role, act) → the target roles for which the act is ALLOWED; every other cell of
# ROLES is refused. "Target role" is the role the account or key holds for acts on an account or
# key, and the role granted for acts that grant (createUser, assignRoles:grant, createApiKey).

ROLES = ("admin", "system_admin", "security_admin", "audit_admin", "hr")
ALL = frozenset(ROLES)
NON_ADMIN = ALL - {"admin"}
NONE: frozenset[str] = frozenset()

ACTS = (
    "createUser",
    "assignRoles:grant",
    "assignRoles:revoke",
    "resetPassword",
    "setUserActive",
    "unlockUser",
    "resetTotp",
    "createApiKey",
    "revokeApiKey",
)

ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    **{("admin", act): ALL for act in ACTS},
    ("system_admin", "createUser"): frozenset({"hr"}),
    ("system_admin", "resetPassword"): frozenset({"hr"}),
    ("system_admin", "setUserActive"): frozenset({"hr"}),
    ("security_admin", "assignRoles:grant"): NON_ADMIN,
    ("security_admin", "assignRoles:revoke"): NON_ADMIN,
    ("security_admin", "unlockUser"): ALL,
    ("security_admin", "resetTotp"): NON_ADMIN,
    ("security_admin", "createApiKey"): frozenset({"hr"}),
    ("security_admin", "revokeApiKey"): ALL,
}


def _decide(actor: str, act: str, target: str, *, on_self: bool = False) -> str | None:
    """The duty model's answer for one cell, with the cell mapped onto refusal()'s inputs."""
    name, _, variant = act.partition(":")
    kind = Act(name)
    if kind in (Act.CREATE_USER, Act.CREATE_API_KEY):
        return refusal({actor}, kind, granted={target}, on_self=on_self)
    if variant == "grant":  # grant `target` to a user who holds hr
        return refusal({actor}, kind, target_roles={"hr"}, granted={"hr", target}, on_self=on_self)
    if variant == "revoke":  # take the role `target` away (the user keeps hr)
        return refusal({actor}, kind, target_roles={target, "hr"}, granted={"hr"}, on_self=on_self)
    return refusal({actor}, kind, target_roles={target}, on_self=on_self)


CELLS = [(actor, act, target) for actor in ROLES for act in ACTS for target in ROLES]


@pytest.mark.parametrize(("actor", "act", "target"), CELLS)
def test_every_cell_of_the_duty_model(actor: str, act: str, target: str) -> None:
    # given
    allowed = target in ALLOWED.get((actor, act), NONE)
    # when
    reason = _decide(actor, act, target)
    # then
    assert (reason is None) == allowed, (actor, act, target, reason)


SELF_ACTS = ("assignRoles:grant", "resetPassword", "setUserActive", "unlockUser", "resetTotp")


@pytest.mark.parametrize(("actor", "act"), [(r, a) for r in ROLES for a in SELF_ACTS])
def test_nobody_acts_on_their_own_account(actor: str, act: str) -> None:
    # given / when: the target cell most permissive for the actor, but on the actor itself
    reason = _decide(actor, act, "hr", on_self=True)
    # then
    assert reason is not None


def test_an_admin_grant_is_refused_to_everyone_but_admin() -> None:
    for actor in ROLES:
        for kind in (Act.CREATE_USER, Act.ASSIGN_ROLES, Act.CREATE_API_KEY):
            reason = refusal({actor}, kind, granted={"admin"})
            assert (reason is None) == (actor == "admin"), (actor, kind)
