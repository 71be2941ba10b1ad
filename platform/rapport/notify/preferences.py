"""Which channels each recipient of a notification receives it on.

An employee chooses the channels beyond in-app they want (``email``, ``wecom``, ``dingtalk``);
the tenant's default applies to those who chose nothing. In-app is always kept: it is the
record of what was sent, and nobody can opt out of it.

:func:`route` applies this to one notification:

- ``requested=None`` (what ``notify`` gets by default): in-app, plus each user's preference
  (else the tenant default; with neither, in-app only).
- explicit channels: a ceiling. Each user gets the requested channels their preference (else
  the tenant default, else everything requested) allows; in-app whenever it was requested.

Recipients are user ids, ``role:<name>`` (one in-app record for the role; for other channels
the role's active users, each with their own preference) and, for email only, addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapport.db.tenants import Queryable
from rapport.errors import FieldError, ValidationFailed

__all__ = [
    "CHANNELS",
    "EXTERNAL_CHANNELS",
    "IN_APP",
    "ROLE_PREFIX",
    "Routing",
    "check_channels",
    "get_default",
    "get_preference",
    "route",
    "set_default",
    "set_preference",
]

IN_APP = "in_app"
EXTERNAL_CHANNELS = ("email", "wecom", "dingtalk")
CHANNELS = frozenset({IN_APP, *EXTERNAL_CHANNELS})
ROLE_PREFIX = "role:"


@dataclass(frozen=True, slots=True)
class Routing:
    """Recipients per channel, in the order they were named."""

    in_app: tuple[str, ...] = ()
    external: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def on(self, channel: str) -> tuple[str, ...]:
        return self.in_app if channel == IN_APP else self.external.get(channel, ())


def check_channels(channels: Iterable[str], *, path: str = "channels") -> tuple[str, ...]:
    """The channels, deduplicated; refuses unknown names with the list of known ones."""
    cleaned = tuple(dict.fromkeys(c.strip() for c in channels))
    unknown = sorted(set(cleaned) - CHANNELS)
    if unknown:
        raise ValidationFailed(
            [FieldError((path,), f"unknown channel(s): {', '.join(unknown)}")],
            hint=f"Use some of: {', '.join(sorted(CHANNELS))}.",
        )
    return cleaned


def _external(channels: Iterable[str]) -> tuple[str, ...]:
    return tuple(c for c in check_channels(channels) if c != IN_APP)


async def route(
    db: Queryable, tenant_id: str, recipients: Sequence[str], requested: Sequence[str] | None
) -> Routing:
    wanted = None if requested is None else frozenset(check_channels(requested))
    in_app = tuple(recipients) if wanted is None or IN_APP in wanted else ()
    candidates = (
        EXTERNAL_CHANNELS if wanted is None else tuple(c for c in EXTERNAL_CHANNELS if c in wanted)
    )
    if not candidates:
        return Routing(in_app=in_app)
    users = await _users(db, tenant_id, recipients)
    default = await get_default(db, tenant_id)
    chosen = await _preferences(db, tenant_id, users)
    external: dict[str, list[str]] = {c: [] for c in candidates}
    for user in users:
        allowed = chosen.get(user, default)
        if allowed is None:  # neither a preference nor a default
            allowed = () if wanted is None else candidates
        for channel in candidates:
            if channel in allowed:
                external[channel].append(user)
    if "email" in external:  # addresses are not users: they get email when it is requested
        external["email"].extend(r for r in recipients if _is_address(r))
    return Routing(in_app=in_app, external={c: tuple(r) for c, r in external.items() if r})


def _is_address(recipient: str) -> bool:
    return "@" in recipient and not recipient.startswith(ROLE_PREFIX)


async def _users(db: Queryable, tenant_id: str, recipients: Sequence[str]) -> list[str]:
    """User ids among ``recipients``, with each ``role:<name>`` replaced by its active users."""
    roles = [r.removeprefix(ROLE_PREFIX) for r in recipients if r.startswith(ROLE_PREFIX)]
    members: list[str] = []
    if roles:
        rows = await db.fetch(
            "SELECT id::text AS id FROM rapport.users WHERE tenant_id = $1::uuid "
            "AND status = 'active' AND roles && $2::text[] ORDER BY login",
            tenant_id,
            roles,
        )
        members = [r["id"] for r in rows]
    direct = [r for r in recipients if not r.startswith(ROLE_PREFIX) and not _is_address(r)]
    return list(dict.fromkeys([*direct, *members]))


async def _preferences(
    db: Queryable, tenant_id: str, users: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    if not users:
        return {}
    rows = await db.fetch(
        "SELECT user_id, channels FROM rapport.channel_preferences "
        "WHERE tenant_id = $1::uuid AND user_id = ANY($2::text[])",
        tenant_id,
        list(users),
    )
    return {r["user_id"]: tuple(r["channels"]) for r in rows}


async def get_default(db: Queryable, tenant_id: str) -> tuple[str, ...] | None:
    """The tenant's default channels beyond in-app; None when it set none."""
    value = await db.fetchval(
        "SELECT channels FROM rapport.channel_defaults WHERE tenant_id = $1::uuid", tenant_id
    )
    return None if value is None else tuple(value)


async def set_default(db: Queryable, tenant_id: str, channels: Sequence[str] | None) -> None:
    """Set (or with None remove) the tenant default; in-app is implied and not stored."""
    if channels is None:
        await db.execute(
            "DELETE FROM rapport.channel_defaults WHERE tenant_id = $1::uuid", tenant_id
        )
        return
    await db.execute(
        "INSERT INTO rapport.channel_defaults (tenant_id, channels) VALUES ($1::uuid, $2) "
        "ON CONFLICT (tenant_id) DO UPDATE SET channels = EXCLUDED.channels, updated_at = now()",
        tenant_id,
        list(_external(channels)),
    )


async def get_preference(db: Queryable, tenant_id: str, user_id: str) -> tuple[str, ...] | None:
    """The user's own choice; None when they follow the tenant default."""
    value = await db.fetchval(
        "SELECT channels FROM rapport.channel_preferences "
        "WHERE tenant_id = $1::uuid AND user_id = $2",
        tenant_id,
        user_id,
    )
    return None if value is None else tuple(value)


async def set_preference(
    db: Queryable, tenant_id: str, user_id: str, channels: Sequence[str] | None
) -> None:
    """Set the user's channels (in-app is implied); None returns them to the tenant default."""
    if channels is None:
        await db.execute(
            "DELETE FROM rapport.channel_preferences WHERE tenant_id = $1::uuid AND user_id = $2",
            tenant_id,
            user_id,
        )
        return
    await db.execute(
        "INSERT INTO rapport.channel_preferences (tenant_id, user_id, channels) "
        "VALUES ($1::uuid, $2, $3) ON CONFLICT (tenant_id, user_id) "
        "DO UPDATE SET channels = EXCLUDED.channels, updated_at = now()",
        tenant_id,
        user_id,
        list(_external(channels)),
    )
