"""Separation of duties (三员分立) among the built-in roles."""

from __future__ import annotations

import pytest

from rapport.auth.duties import check_duties, require_security_admin, require_user_admin
from rapport.auth.principal import Principal
from rapport.errors import DutiesConflict, Forbidden


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
