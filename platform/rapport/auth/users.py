"""Users of a tenant (catalog table ``rapport.users``): create, list, roles, disable, unlock.

Every change appends an audit entry in the same transaction. ``expected_roles``: the change
applies only while the user still holds exactly these roles (the duty model decided on them;
a concurrent role change answers VERSION_CONFLICT instead of slipping past the decision). Password hashes and TOTP
secrets never leave this module's queries: :class:`User` does not carry them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import asyncpg

from rapport.auth.auditing import audit
from rapport.auth.duties import check_duties
from rapport.auth.passwords import check_password_policy, hash_password
from rapport.auth.revocation import revoke_subject
from rapport.db.database import Connection, Database
from rapport.db.tenants import get_tenant
from rapport.errors import BadRequest, ConstraintViolation, NotFound, VersionConflict
from rapport.settings import IdentitySettings

__all__ = [
    "User",
    "create_user",
    "get_user",
    "list_users",
    "reset_password",
    "set_roles",
    "set_status",
    "unlock_user",
]

# Changes after which no token issued before them may act for the user.
_ENDS_SESSIONS = frozenset({"user.disable", "user.reset_password", "user.roles"})

_COLUMNS = (
    "id::text, tenant_id::text, login, display_name, roles, attributes, status, failed_logins, "
    "locked_until, totp_enabled, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tenant_id: str
    login: str
    display_name: str
    roles: tuple[str, ...]
    attributes: Mapping[str, Any]
    status: str
    failed_logins: int
    locked_until: datetime | None
    totp_enabled: bool
    created_at: datetime
    updated_at: datetime


def user_of(row: asyncpg.Record) -> User:
    attributes = row["attributes"]
    if isinstance(attributes, str):
        attributes = json.loads(attributes)
    return User(
        id=row["id"],
        tenant_id=row["tenant_id"],
        login=row["login"],
        display_name=row["display_name"],
        roles=tuple(row["roles"]),
        attributes=MappingProxyType(dict(attributes)),
        status=row["status"],
        failed_logins=row["failed_logins"],
        locked_until=row["locked_until"],
        totp_enabled=row["totp_enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _roles(roles: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(r.strip() for r in roles))
    if not cleaned or not all(cleaned):
        raise BadRequest("A user needs at least one non-empty role.", hint="Pass --role NAME.")
    check_duties(cleaned)
    return cleaned


async def create_user(
    db: Database,
    settings: IdentitySettings,
    *,
    tenant: str,
    login: str,
    roles: Sequence[str],
    password: str | None,
    display_name: str = "",
    attributes: Mapping[str, Any] | None = None,
    actor: str,
) -> User:
    login = login.strip()
    if not login:
        raise BadRequest("A user needs a login (an email address or a name).", path=("login",))
    role_list = _roles(roles)
    password_hash = None
    if password is not None:
        check_password_policy(password, login=login, min_length=settings.password_min_length)
        password_hash = hash_password(password)
    tenant_row = await get_tenant(db, tenant)
    async with db.transaction() as conn:
        try:
            row = await conn.fetchrow(
                "INSERT INTO rapport.users (tenant_id, login, display_name, password_hash, roles,"
                f" attributes) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING {_COLUMNS}",
                tenant_row.id,
                login,
                display_name,
                password_hash,
                role_list,
                json.dumps(dict(attributes or {})),
            )
        except asyncpg.UniqueViolationError:
            raise ConstraintViolation(
                f"Tenant {tenant!r} already has a user with the login {login!r}.",
                hint="Logins are unique per tenant (ignoring case); choose another.",
                path=("login",),
            ) from None
        assert row is not None
        user = user_of(row)
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=actor,
            action="user.create",
            record_id=user.id,
            data={"login": login, "roles": role_list},
        )
    return user


async def list_users(db: Database, tenant: str) -> list[User]:
    tenant_row = await get_tenant(db, tenant)
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM rapport.users WHERE tenant_id = $1 ORDER BY lower(login)",
        tenant_row.id,
    )
    return [user_of(r) for r in rows]


async def get_user(db: Database | Connection, tenant_id: str, login: str) -> User:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM rapport.users WHERE tenant_id = $1 AND lower(login) = lower($2)",
        tenant_id,
        login,
    )
    if row is None:
        raise NotFound(f"No user with the login {login!r}.", hint="List users to see the logins.")
    return user_of(row)


async def _update(
    db: Database,
    tenant: str,
    login: str,
    assignments: str,
    args: Sequence[Any],
    *,
    actor: str,
    action: str,
    data: Mapping[str, Any],
    expected_roles: Sequence[str] | None,
) -> User:
    tenant_row = await get_tenant(db, tenant)
    guard = f"${len(args) + 3}::text[]"
    async with db.transaction() as conn:
        row = await conn.fetchrow(
            f"UPDATE rapport.users SET {assignments}, updated_at = now() "
            f"WHERE tenant_id = $1 AND lower(login) = lower($2) "
            f"AND ({guard} IS NULL OR roles = {guard}) RETURNING {_COLUMNS}",
            tenant_row.id,
            login,
            *args,
            None if expected_roles is None else list(expected_roles),
        )
        if row is None:
            await get_user(conn, tenant_row.id, login)  # NOT_FOUND when there is no such user
            raise VersionConflict(
                f"The roles of {login!r} changed while this change was checked.",
                hint="Retry: the separation of duties is decided on the account as it is now.",
            )
        user = user_of(row)
        if action in _ENDS_SESSIONS:
            # The user's sessions end with the change: its access and refresh tokens stop
            # working (on every instance within RAPPORT_REVOCATION_CACHE_SECONDS).
            await revoke_subject(conn, subject=user.id, tenant_id=tenant_row.id)
        await audit(
            conn,
            tenant_id=tenant_row.id,
            actor=actor,
            action=action,
            record_id=user.id,
            data={"login": user.login, **data},
        )
    return user


async def set_roles(
    db: Database,
    tenant: str,
    login: str,
    roles: Sequence[str],
    *,
    actor: str,
    expected_roles: Sequence[str] | None = None,
) -> User:
    role_list = _roles(roles)
    return await _update(
        db,
        tenant,
        login,
        "roles = $3",
        [role_list],
        actor=actor,
        action="user.roles",
        data={"roles": role_list},
        expected_roles=expected_roles,
    )


async def set_status(
    db: Database,
    tenant: str,
    login: str,
    *,
    active: bool,
    actor: str,
    expected_roles: Sequence[str] | None = None,
) -> User:
    status = "active" if active else "disabled"
    return await _update(
        db,
        tenant,
        login,
        "status = $3",
        [status],
        actor=actor,
        action="user.enable" if active else "user.disable",
        data={},
        expected_roles=expected_roles,
    )


async def unlock_user(db: Database, tenant: str, login: str, *, actor: str) -> User:
    return await _update(
        db,
        tenant,
        login,
        "failed_logins = 0, locked_until = NULL",
        [],
        actor=actor,
        action="user.unlock",
        data={},
        expected_roles=None,
    )


async def reset_password(
    db: Database,
    settings: IdentitySettings,
    tenant: str,
    login: str,
    password: str,
    *,
    actor: str,
    expected_roles: Sequence[str] | None = None,
) -> User:
    check_password_policy(password, login=login, min_length=settings.password_min_length)
    return await _update(
        db,
        tenant,
        login,
        "password_hash = $3, failed_logins = 0, locked_until = NULL",
        [hash_password(password)],
        actor=actor,
        action="user.reset_password",
        data={},
        expected_roles=expected_roles,
    )
