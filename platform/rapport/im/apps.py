"""Per-tenant app configuration (``rapport.im_apps``): set, read, remove.

The secret is sealed with the tenant's data key (:mod:`rapport.crypto`; associated data names
the tenant, the platform and the purpose, so a sealed value cannot be moved) and is opened only
by :func:`credentials`, for a call to the platform. :class:`AppConfig`, what every API shows,
has no secret: only whether one is set.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from urllib.parse import urlsplit

from asyncpg import Record

from rapport.crypto.cipher import Sealed
from rapport.crypto.keys import KeyRing
from rapport.crypto.rotation import SealedColumn
from rapport.db.database import Connection, Database
from rapport.db.tenants import Queryable
from rapport.errors import FieldError, NotFound, ValidationFailed
from rapport.im.dingtalk import DINGTALK
from rapport.im.platform import MESSAGE_KINDS, AppCredentials, Platform
from rapport.im.wecom import WECOM
from rapport.settings import Settings

__all__ = [
    "LINK_RULES",
    "PLATFORMS",
    "AppConfig",
    "credentials",
    "delete_app",
    "get_app",
    "keyring_for",
    "list_apps",
    "open_secret",
    "platform_named",
    "require_app",
    "seal_secret",
    "set_app",
]

PLATFORMS: MappingProxyType[str, Platform] = MappingProxyType(
    {WECOM.name: WECOM, DINGTALK.name: DINGTALK}
)
LINK_RULES = ("employee_number", "mobile")
_WECOM_CORP = re.compile(r"^w[wx][0-9a-f]{16}$")
_DINGTALK_CORP = re.compile(r"^ding[0-9a-zA-Z]{8,40}$")
_DINGTALK_KEY = re.compile(r"^ding[0-9a-zA-Z]{8,40}$")


@dataclass(frozen=True, slots=True)
class AppConfig:
    platform: str
    corp_id: str
    app_key: str
    agent_id: int
    redirect_uris: tuple[str, ...]
    link_by: tuple[str, ...]
    message_kind: str
    link_base: str
    secret_set: bool
    updated_at: datetime
    updated_by: str | None


def platform_named(name: str) -> Platform:
    found = PLATFORMS.get(name)
    if found is None:
        raise ValidationFailed(
            [FieldError(("platform",), f"unknown platform {name!r}")],
            hint=f"Use one of: {', '.join(PLATFORMS)}.",
        )
    return found


@functools.lru_cache(maxsize=8)
def _keyring(master_keys: tuple[bytes, ...]) -> KeyRing:
    return KeyRing(master_keys)


def keyring_for(settings: Settings) -> KeyRing:
    """One key ring per master-key set, so unwrapped data keys are cached across calls."""
    return _keyring(settings.master_keys)


def _aad(tenant_id: str, platform: str, purpose: str) -> bytes:
    return f"rapport-im|{tenant_id}|{platform}|{purpose}".encode()


# The app secrets and the cached access tokens, for `rapport keys rotate --reencrypt`.
SEALED = (
    SealedColumn("rapport.im_apps", "secret", ("platform",),
                 lambda row: _aad(str(row["tenant_id"]), row["platform"], "secret")),
    SealedColumn("rapport.im_tokens", "token", ("platform", "app"),
                 lambda row: _aad(str(row["tenant_id"]), row["platform"], "token")),
)  # fmt: skip


async def seal_secret(
    conn: Connection, keyring: KeyRing, tenant_id: str, platform: str, purpose: str, value: str
) -> bytes:
    key = await keyring.for_write(conn, tenant_id)
    return Sealed.seal(
        key.cipher, key.key_id, key.key, value.encode(), _aad(tenant_id, platform, purpose)
    )


async def open_secret(
    conn: Connection, keyring: KeyRing, tenant_id: str, platform: str, purpose: str, raw: bytes
) -> str:
    sealed = Sealed.parse(bytes(raw))
    keys = await keyring.for_read(conn, tenant_id, [sealed.key_id])
    return sealed.open(keys[sealed.key_id].key, _aad(tenant_id, platform, purpose)).decode()


async def set_app(
    conn: Connection,
    keyring: KeyRing,
    *,
    tenant_id: str,
    platform: str,
    corp_id: str,
    agent_id: int,
    secret: str | None,
    app_key: str = "",
    redirect_uris: Sequence[str] = (),
    link_by: Sequence[str] = LINK_RULES,
    message_kind: str = "card",
    link_base: str = "",
    actor: str | None = None,
) -> AppConfig:
    """Create or replace the tenant's app on ``platform``; every problem is reported at once.

    ``secret=None`` keeps the stored secret (changing other settings without re-typing it);
    a new app needs one.
    """
    existing = await conn.fetchval(
        "SELECT secret FROM rapport.im_apps WHERE tenant_id = $1::uuid AND platform = $2",
        tenant_id,
        platform,
    )
    problems = _problems(
        platform, corp_id.strip(), app_key.strip(), agent_id, secret, existing is not None,
        redirect_uris, link_by, message_kind, link_base,
    )  # fmt: skip
    if problems:
        raise ValidationFailed(problems, hint="Fix the named fields and set the app again.")
    sealed = (
        existing
        if secret is None
        else await seal_secret(conn, keyring, tenant_id, platform, "secret", secret.strip())
    )
    await conn.execute(
        """
        INSERT INTO rapport.im_apps (tenant_id, platform, corp_id, app_key, agent_id, secret,
               redirect_uris, link_by, message_kind, link_base, updated_by)
        VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (tenant_id, platform) DO UPDATE SET
               corp_id = EXCLUDED.corp_id, app_key = EXCLUDED.app_key,
               agent_id = EXCLUDED.agent_id, secret = EXCLUDED.secret,
               redirect_uris = EXCLUDED.redirect_uris, link_by = EXCLUDED.link_by,
               message_kind = EXCLUDED.message_kind, link_base = EXCLUDED.link_base,
               updated_by = EXCLUDED.updated_by, updated_at = now()
        """,
        tenant_id,
        platform,
        corp_id.strip(),
        app_key.strip(),
        agent_id,
        sealed,
        list(dict.fromkeys(redirect_uris)),
        list(dict.fromkeys(link_by)),
        message_kind,
        link_base.rstrip("/"),
        actor,
    )
    # A changed app must not keep using the token of the old one.
    await conn.execute(
        "DELETE FROM rapport.im_tokens WHERE tenant_id = $1::uuid AND platform = $2",
        tenant_id,
        platform,
    )
    found = await get_app(conn, tenant_id, platform)
    if found is None:  # pragma: no cover - written just above
        raise RuntimeError("the app was not stored")
    return found


def _problems(
    platform: str,
    corp_id: str,
    app_key: str,
    agent_id: int,
    secret: str | None,
    has_secret: bool,
    redirect_uris: Sequence[str],
    link_by: Sequence[str],
    message_kind: str,
    link_base: str,
) -> list[FieldError]:
    problems: list[FieldError] = []
    if platform == WECOM.name and not _WECOM_CORP.match(corp_id):
        problems.append(
            FieldError(
                ("corpId",), "a WeCom corp id is ww or wx and 16 hex digits (我的企业 → 企业ID)"
            )
        )
    if platform == DINGTALK.name:
        if not _DINGTALK_CORP.match(corp_id):
            problems.append(FieldError(("corpId",), "a DingTalk corpId starts with ding"))
        if not _DINGTALK_KEY.match(app_key):
            problems.append(
                FieldError(("appKey",), "the app's AppKey (ClientId) starts with ding; required")
            )
    elif app_key:
        problems.append(FieldError(("appKey",), "WeCom apps have no AppKey; leave it empty"))
    if agent_id <= 0:
        problems.append(FieldError(("agentId",), "the app's AgentId is a positive number"))
    if secret is not None and not secret.strip():
        problems.append(FieldError(("secret",), "the secret must not be empty"))
    if secret is None and not has_secret:
        problems.append(FieldError(("secret",), "a new app needs its secret"))
    for i, uri in enumerate(redirect_uris):
        if not _absolute(uri):
            problems.append(FieldError(("redirectUris", i), "must be an absolute https URL"))
    if link_base and not _absolute(link_base):
        problems.append(FieldError(("linkBase",), "must be an absolute https URL"))
    for i, rule in enumerate(link_by):
        if rule not in LINK_RULES:
            problems.append(FieldError(("linkBy", i), f"use {' or '.join(LINK_RULES)}"))
    if message_kind not in MESSAGE_KINDS:
        problems.append(FieldError(("messageKind",), f"use one of {', '.join(MESSAGE_KINDS)}"))
    return problems


def _absolute(uri: str) -> bool:
    parts = urlsplit(uri)
    local = parts.hostname in ("127.0.0.1", "localhost")  # H5 pages under development
    return bool(parts.netloc) and (parts.scheme == "https" or (local and parts.scheme == "http"))


_COLUMNS = (
    "platform, corp_id, app_key, agent_id, redirect_uris, link_by, message_kind, link_base, "
    "updated_at, updated_by"
)


def _config(row: Record) -> AppConfig:
    return AppConfig(
        platform=row["platform"],
        corp_id=row["corp_id"],
        app_key=row["app_key"],
        agent_id=int(row["agent_id"]),
        redirect_uris=tuple(row["redirect_uris"]),
        link_by=tuple(row["link_by"]),
        message_kind=row["message_kind"],
        link_base=row["link_base"],
        secret_set=True,
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


async def get_app(db: Queryable, tenant_id: str, platform: str) -> AppConfig | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM rapport.im_apps WHERE tenant_id = $1::uuid AND platform = $2",
        tenant_id,
        platform,
    )
    return None if row is None else _config(row)


async def list_apps(db: Queryable, tenant_id: str) -> list[AppConfig]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM rapport.im_apps WHERE tenant_id = $1::uuid ORDER BY platform",
        tenant_id,
    )
    return [_config(r) for r in rows]


async def delete_app(db: Queryable, tenant_id: str, platform: str) -> None:
    status = await db.execute(
        "DELETE FROM rapport.im_apps WHERE tenant_id = $1::uuid AND platform = $2",
        tenant_id,
        platform,
    )
    if status.endswith(" 0"):
        raise NotFound(f"This tenant has no {platform} app.", hint="List them with imApps.")
    await db.execute(
        "DELETE FROM rapport.im_tokens WHERE tenant_id = $1::uuid AND platform = $2",
        tenant_id,
        platform,
    )


async def credentials(
    db: Connection, keyring: KeyRing, tenant_id: str, platform: str
) -> tuple[AppConfig, AppCredentials] | None:
    """The app and its opened secret, for a call to the platform; None when not configured."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, secret FROM rapport.im_apps "
        "WHERE tenant_id = $1::uuid AND platform = $2",
        tenant_id,
        platform,
    )
    if row is None:
        return None
    secret = await open_secret(db, keyring, tenant_id, platform, "secret", row["secret"])
    config = _config(row)
    return config, AppCredentials(
        platform=platform,
        corp_id=config.corp_id,
        app_key=config.app_key,
        agent_id=config.agent_id,
        secret=secret,
    )


async def require_app(
    db: Database, keyring: KeyRing, tenant_id: str, platform: str
) -> tuple[AppConfig, AppCredentials]:
    """:func:`credentials`, or NotFound naming what to configure."""
    async with db.acquire() as conn:
        found = await credentials(conn, keyring, tenant_id, platform)
    if found is None:
        raise NotFound(
            f"This tenant has no {platform_named(platform).label} app.",
            hint="A tenant admin configures it with setImApp.",
        )
    return found
