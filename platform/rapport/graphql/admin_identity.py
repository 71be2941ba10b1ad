"""Users, API keys and tenant security settings in the admin API (``/graphql/admin``).

Mixed into the admin schema's ``Query`` and ``Mutation`` (strawberry type inheritance). Each
act on an account or key is ruled on by the duty model (:mod:`rapport.auth.duties`, applied by
:func:`rapport.auth.enforce.authorize`: a refusal is FORBIDDEN and a ``duty.refused`` audit
entry). Every change is audited by the functions it calls; changes that end a user's sessions
take effect on this instance at once, on others within RAPPORT_REVOCATION_CACHE_SECONDS.
Secrets (passwords, TOTP secrets, key hashes) are never returned; a new API key's text is
returned once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from rapport.auth import api_keys, totp, users
from rapport.auth.auditing import audit
from rapport.auth.duties import Act, require_security_admin, require_user_admin
from rapport.auth.enforce import authorize, refuse
from rapport.auth.users import User
from rapport.db.tenants import get_tenant
from rapport.errors import Forbidden
from rapport.principal import Principal

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


async def _allowed(
    info: AnyInfo, act: Act, *, login: str | None = None, granted: list[str] | None = None
) -> tuple[Any, Principal, str, User | None]:
    principal: Principal = info.context.principal
    target = await authorize(
        info.context.services.db, principal, act, login=login, granted=granted or ()
    )
    services, _, tenant = _who(info)
    return services, principal, tenant, target


def _roles_of(target: User | None) -> tuple[str, ...]:
    # authorize returns the user named by login; the change applies only while it holds these.
    assert target is not None
    return target.roles


async def _read_check(info: AnyInfo, what: str, check: Any) -> None:
    """Listing users or keys: refused reads are audited like refused acts."""
    principal: Principal = info.context.principal
    try:
        check(principal)
    except Forbidden as exc:
        await refuse(info.context.services.db, principal, what, exc.message)


async def _users_admin(info: AnyInfo, what: str) -> tuple[Any, Principal, str]:
    await _read_check(info, what, require_user_admin)
    return _who(info)


async def _users(info: AnyInfo) -> list[UserInfo]:
    principal: Principal = info.context.principal
    if not principal.roles & {"admin", "system_admin", "security_admin"}:
        await _read_check(info, "users", require_user_admin)
    services, _, tenant = _who(info)
    return [UserInfo.of(u) for u in await users.list_users(services.db, tenant)]


async def _api_keys(info: AnyInfo) -> list[ApiKeyInfo]:
    await _read_check(info, "apiKeys", require_security_admin)
    services, _, tenant = _who(info)
    return [ApiKeyInfo.of(k) for k in await api_keys.list_keys(services.db, tenant)]


async def _create_user(
    info: AnyInfo,
    login: str,
    roles: list[str],
    password: str | None = None,
    display_name: str = "",
    attributes: JSON | None = None,
) -> UserInfo:
    services, principal, tenant, _ = await _allowed(info, Act.CREATE_USER, granted=roles)
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
    services, principal, tenant, target = await _allowed(info, Act.SET_ACTIVE, login=login)
    user = await users.set_status(
        services.db,
        tenant,
        login,
        active=active,
        actor=principal.subject,
        expected_roles=_roles_of(target),
    )
    services.auth.revocations.invalidate()
    return UserInfo.of(user)


async def _reset_password(info: AnyInfo, login: str, password: str) -> UserInfo:
    services, principal, tenant, target = await _allowed(info, Act.RESET_PASSWORD, login=login)
    user = await users.reset_password(
        services.db,
        services.settings.identity,
        tenant,
        login,
        password,
        actor=principal.subject,
        expected_roles=_roles_of(target),
    )
    services.auth.revocations.invalidate()
    return UserInfo.of(user)


async def _assign_roles(info: AnyInfo, login: str, roles: list[str]) -> UserInfo:
    services, principal, tenant, target = await _allowed(
        info, Act.ASSIGN_ROLES, login=login, granted=roles
    )
    user = await users.set_roles(
        services.db,
        tenant,
        login,
        roles,
        actor=principal.subject,
        expected_roles=_roles_of(target),
    )
    services.auth.revocations.invalidate()
    return UserInfo.of(user)


async def _unlock_user(info: AnyInfo, login: str) -> UserInfo:
    services, principal, tenant, _ = await _allowed(info, Act.UNLOCK, login=login)
    return UserInfo.of(await users.unlock_user(services.db, tenant, login, actor=principal.subject))


async def _reset_totp(info: AnyInfo, login: str) -> UserInfo:
    services, principal, _, target = await _allowed(info, Act.RESET_TOTP, login=login)
    assert target is not None  # authorize returns the user named by login
    await totp.reset(
        services.db,
        target.tenant_id,
        target.id,
        actor=principal.subject,
        expected_roles=target.roles,
    )
    services.auth.revocations.invalidate()
    return UserInfo.of(replace(target, totp_enabled=False))


async def _create_api_key(
    info: AnyInfo, name: str, roles: list[str], expires_at: datetime | None = None
) -> CreatedApiKey:
    services, principal, tenant, _ = await _allowed(info, Act.CREATE_API_KEY, granted=roles)
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
    services, principal, tenant, _ = await _allowed(info, Act.REVOKE_API_KEY)
    key = await api_keys.revoke_key(services.db, tenant, id, actor=principal.subject)
    services.auth.api_keys.forget(id)
    return ApiKeyInfo.of(key)


async def _require_totp_for_admins(info: AnyInfo, required: bool) -> bool:
    services, principal, tenant = await _users_admin(info, "requireTotpForAdmins")
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
        description="Create a user (admin, system_admin; system_admin grants no administrator "
        "role); the password must meet the policy.",
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
        description="Replace a user's roles and end its sessions; separation of duties applies "
        "(admin, security_admin; never one's own, and only an admin grants admin).",
    )
    unlock_user: UserInfo = strawberry.mutation(
        resolver=_unlock_user, description="Clear a lockout (admin, security_admin)."
    )
    reset_totp: UserInfo = strawberry.mutation(
        resolver=_reset_totp,
        description="Remove a user's lost second factor and end its sessions; audited "
        "(admin, security_admin; not one's own, and only an admin for an admin).",
    )
    create_api_key: CreatedApiKey = strawberry.mutation(
        resolver=_create_api_key,
        description="Create an API key with at most the roles its creator may grant "
        "(admin, security_admin).",
    )
    revoke_api_key: ApiKeyInfo = strawberry.mutation(
        resolver=_revoke_api_key, description="Revoke an API key (admin, security_admin)."
    )
    require_totp_for_admins: bool = strawberry.mutation(
        resolver=_require_totp_for_admins,
        description="Whether administrator roles must log in with TOTP (admin, system_admin).",
    )
