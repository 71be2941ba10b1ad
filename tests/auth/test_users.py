"""Account changes apply only to the account the duty model decided on."""

from __future__ import annotations

import pytest

from rapport.auth import totp
from rapport.auth.users import create_user, reset_password, set_roles, set_status
from rapport.db.database import Database
from rapport.errors import NotFound, VersionConflict
from rapport.settings import Settings


async def test_a_change_decided_on_old_roles_is_refused_after_a_concurrent_role_change(
    database: Database, settings: Settings, tenants: tuple[str, str]
) -> None:
    # given: a system_admin was allowed to reset an hr user's password — and meanwhile the
    # tenant admin made that user an admin
    user = await create_user(
        database,
        settings.identity,
        tenant="acme",
        login="race@acme.test",
        roles=["hr"],
        password=None,
        actor="test",
    )
    await set_roles(database, "acme", "race@acme.test", ["admin"], actor="root")
    decided_on = ("hr",)
    # when / then: none of the changes slips past the decision
    with pytest.raises(VersionConflict):
        await reset_password(
            database,
            settings.identity,
            "acme",
            "race@acme.test",
            "Stolen-Account-99!",
            actor="sys",
            expected_roles=decided_on,
        )
    with pytest.raises(VersionConflict):
        await set_status(
            database,
            "acme",
            "race@acme.test",
            active=False,
            actor="sys",
            expected_roles=decided_on,
        )
    with pytest.raises(VersionConflict):
        await set_roles(
            database, "acme", "race@acme.test", ["hr"], actor="sec", expected_roles=decided_on
        )
    with pytest.raises(VersionConflict):
        await totp.reset(database, user.tenant_id, user.id, actor="sec", expected_roles=decided_on)
    row = await database.fetchrow(
        "SELECT roles, status, password_hash FROM rapport.users WHERE id = $1", user.id
    )
    assert (list(row["roles"]), row["status"], row["password_hash"]) == (["admin"], "active", None)
    # and an unknown login is still NOT_FOUND
    with pytest.raises(NotFound):
        await set_roles(database, "acme", "nobody@acme.test", ["hr"], actor="x", expected_roles=())
