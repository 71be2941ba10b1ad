"""Users, API keys and tenant security settings in the admin API (``/graphql/admin``).

Mixed into the admin schema's ``Query`` and ``Mutation`` (strawberry type inheritance). Each
field checks the separation of duties (:mod:`rapport.auth.duties`): users and the TOTP
requirement need ``admin`` or ``system_admin``; roles, unlocks and API keys need ``admin`` or
``security_admin``. Every change is audited by the functions it calls. Secrets (passwords,
TOTP secrets, key hashes) are never returned; a new API key's text is returned once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from rapport.auth import api_keys, users
from rapport.auth.auditing import audit
from rapport.auth.duties import require_security_admin, require_user_admin
from rapport.auth.principal import Principal
from rapport.auth.users import User
from rapport.db.tenants import get_tenant

__all__ = ["IdentityMutation", "IdentityQuery"]

AnyInfo = Info[Any, None]


@strawberry.type(name="User", description="A user of the token's tenant (no secrets).")
class UserInfo:
    id: str
    login: str
    display_name: str
    roles: list[str]
    attributes: JSON
    status: str
    locked_until: datetime | None
    totp_enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            id=user.id,
            login=user.login,
            display_name=user.display_name,
            roles=list(user.roles),
            attributes=JSON(dict(user.attributes)),
            status=user.status,
            locked_until=user.locked_until,
            totp_enabled=user.totp_enabled,
            created_at=user.created_at,
        )


@strawberry.type(name="ApiKey", description="An API key (its secret is never shown again).")
class ApiKeyInfo:
    id: str
    name: str
    roles: list[str]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: api_keys.ApiKey) -> ApiKeyInfo:
        return cls(
            id=key.id,
            name=key.name,
            roles=list(key.roles),
            created_by=key.created_by,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


@strawberry.type(description="A new API key: `key` is shown this once; store it now.")
class CreatedApiKey:
    key: str
    api_key: ApiKeyInfo


def _who(info: AnyInfo) -> tuple[Any, Principal, str]:
    services = info.context.services
    principal: Principal = info.context.principal
    assert principal.tenant is not None  # the require_* checks refuse tenant-less tokens
    return services, principal, principal.tenant


def _users_admin(info: AnyInfo) -> tuple[Any, Principal, str]:
    require_user_admin(info.context.principal)
    return _who(info)


def _security_admin(info: AnyInfo) -> tuple[Any, Principal, str]:
    require_security_admin(info.context.principal)
    return _who(info)


async def _users(info: AnyInfo) -> list[UserInfo]:
    principal: Principal = info.context.principal
    if not principal.roles & {"admin", "system_admin", "security_admin"}:
        require_user_admin(principal)
    services, _, tenant = _who(info)
    return [UserInfo.of(u) for u in await users.list_users(services.db, tenant)]


async def _api_keys(info: AnyInfo) -> list[ApiKeyInfo]:
    services, _, tenant = _security_admin(info)
    return [ApiKeyInfo.of(k) for k in await api_keys.list_keys(services.db, tenant)]


async def _create_user(
    info: AnyInfo,
    login: str,
    roles: list[str],
    password: str | None = None,
    display_name: str = "",
    attributes: JSON | None = None,
) -> UserInfo:
    services, principal, tenant = _users_admin(info)
    user = await users.create_user(
        services.db,
        services.settings.identity,
        tenant=tenant,
        login=login,
        roles=roles,
        password=password,
        display_name=display_name,
        attributes=dict(attributes) if isinstance(attributes, dict) else None,
        actor=principal.subject,
    )
    return UserInfo.of(user)


async def _set_user_active(info: AnyInfo, login: str, active: bool) -> UserInfo:
    services, principal, tenant = _users_admin(info)
    user = await users.set_status(
        services.db, tenant, login, active=active, actor=principal.subject
    )
    return UserInfo.of(user)


async def _reset_password(info: AnyInfo, login: str, password: str) -> UserInfo:
    services, principal, tenant = _users_admin(info)
    user = await users.reset_password(
        services.db,
        services.settings.identity,
        tenant,
        login,
        password,
        actor=principal.subject,
    )
    return UserInfo.of(user)


async def _assign_roles(info: AnyInfo, login: str, roles: list[str]) -> UserInfo:
    services, principal, tenant = _security_admin(info)
    user = await users.set_roles(services.db, tenant, login, roles, actor=principal.subject)
    return UserInfo.of(user)


async def _unlock_user(info: AnyInfo, login: str) -> UserInfo:
    services, principal, tenant = _security_admin(info)
    return UserInfo.of(await users.unlock_user(services.db, tenant, login, actor=principal.subject))


async def _create_api_key(
    info: AnyInfo, name: str, roles: list[str], expires_at: datetime | None = None
) -> CreatedApiKey:
    services, principal, tenant = _security_admin(info)
    key, text = await api_keys.create_key(
        services.db,
        tenant=tenant,
        name=name,
        roles=roles,
        expires_at=expires_at,
        actor=principal.subject,
    )
    return CreatedApiKey(key=text, api_key=ApiKeyInfo.of(key))


async def _revoke_api_key(info: AnyInfo, id: str) -> ApiKeyInfo:
    services, principal, tenant = _security_admin(info)
    key = await api_keys.revoke_key(services.db, tenant, id, actor=principal.subject)
    services.auth.api_keys.forget(id)
    return ApiKeyInfo.of(key)


async def _require_totp_for_admins(info: AnyInfo, required: bool) -> bool:
    services, principal, tenant = _users_admin(info)
    tenant_row = await get_tenant(services.db, tenant)
    async with services.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO rapport.tenant_security (tenant_id, totp_required_for_admins) "
            "VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE SET "
            "totp_required_for_admins = EXCLUDED.totp_required_for_admins, updated_at = now()",
            tenant_row.id,
            required,
        )
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=principal.subject,
            action="tenant.security",
            data={"totpRequiredForAdmins": required},
        )
    return required


@strawberry.type
class IdentityQuery:
    users: list[UserInfo] = strawberry.field(
        resolver=_users, description="The tenant's users (admin, system_admin, security_admin)."
    )
    api_keys: list[ApiKeyInfo] = strawberry.field(
        resolver=_api_keys, description="The tenant's API keys (admin, security_admin)."
    )


@strawberry.type
class IdentityMutation:
    create_user: UserInfo = strawberry.mutation(
        resolver=_create_user,
        description="Create a user (admin, system_admin); the password must meet the policy.",
    )
    set_user_active: UserInfo = strawberry.mutation(
        resolver=_set_user_active,
        description="Disable (ends its sessions) or re-enable a user (admin, system_admin).",
    )
    reset_password: UserInfo = strawberry.mutation(
        resolver=_reset_password,
        description="Set a new password; ends the user's sessions (admin, system_admin).",
    )
    assign_roles: UserInfo = strawberry.mutation(
        resolver=_assign_roles,
        description="Replace a user's roles; separation of duties applies (admin, security_admin).",
    )
    unlock_user: UserInfo = strawberry.mutation(
        resolver=_unlock_user, description="Clear a lockout (admin, security_admin)."
    )
    create_api_key: CreatedApiKey = strawberry.mutation(
        resolver=_create_api_key, description="Create an API key (admin, security_admin)."
    )
    revoke_api_key: ApiKeyInfo = strawberry.mutation(
        resolver=_revoke_api_key, description="Revoke an API key (admin, security_admin)."
    )
    require_totp_for_admins: bool = strawberry.mutation(
        resolver=_require_totp_for_admins,
        description="Whether administrator roles must log in with TOTP (admin, system_admin).",
    )
