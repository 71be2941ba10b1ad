"""The Authenticator: user attributes on the principal, disabled users, header precedence."""

from __future__ import annotations

import asyncio

import pytest
from starlette.datastructures import Headers

from rapport.auth.authenticate import Authenticator
from rapport.auth.tokens import TokenVerifier, issue_token
from rapport.auth.users import create_user, set_status
from rapport.db.database import Database
from rapport.errors import Unauthenticated
from rapport.settings import Settings


async def test_a_login_users_principal_carries_its_attributes_until_it_is_disabled(
    database: Database, settings: Settings, tenants: tuple[str, str]
) -> None:
    # given: a user with attributes, and a token for it
    user = await create_user(
        database,
        settings.identity,
        tenant="acme",
        login="quinn@acme.test",
        roles=["hr"],
        password=None,
        attributes={"departments": ["sales"], "level": 3},
        actor="test",
    )
    auth = Authenticator(settings, database, TokenVerifier(settings))
    token = issue_token(settings, tenant="acme", subject=user.id, roles=["hr"])
    headers = Headers(headers={"Authorization": f"Bearer {token}"})
    # when
    principal = await auth.authenticate(headers)
    # then
    assert dict(principal.attributes) == {"departments": ["sales"], "level": 3}
    assert principal.token_id is not None
    # and once the user is disabled, within the cache period, the same token is refused
    await set_status(database, "acme", "quinn@acme.test", active=False, actor="test")
    await asyncio.sleep(settings.identity.revocation_cache_seconds + 0.1)
    with pytest.raises(Unauthenticated, match="disabled"):
        await auth.authenticate(headers)


async def test_a_token_of_the_same_user_id_in_another_tenant_gets_nothing(
    database: Database, settings: Settings, tenants: tuple[str, str]
) -> None:
    # given: a globex token whose subject is an acme user's id
    user = await create_user(
        database,
        settings.identity,
        tenant="acme",
        login="rita@acme.test",
        roles=["hr"],
        password=None,
        attributes={"departments": ["board"]},
        actor="test",
    )
    auth = Authenticator(settings, database, TokenVerifier(settings))
    token = issue_token(settings, tenant="globex", subject=user.id, roles=["hr"])
    # when
    principal = await auth.authenticate(Headers(headers={"Authorization": f"Bearer {token}"}))
    # then: attributes are looked up in the token's tenant only
    assert principal.tenant == "globex"
    assert dict(principal.attributes) == {}


async def test_a_malformed_authorization_header_is_refused(
    database: Database, settings: Settings, tenants: tuple[str, str]
) -> None:
    auth = Authenticator(settings, database, TokenVerifier(settings))
    for value in ("Basic abc", "Bearer ", "token"):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(Headers(headers={"Authorization": value}))
    with pytest.raises(Unauthenticated, match="No access token"):
        await auth.authenticate(Headers(headers={}))
