"""The tenant's suggestion box settings (entity ``suggestions/suggestion_settings``), with defaults."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.db.database import Connection
from rapport.naming import qualified

__all__ = ["BoxSettings", "box_settings"]


@dataclass(frozen=True, slots=True)
class BoxSettings:
    min_group_size: int = 5  # k: statistics groups smaller than this are suppressed
    handling_days: int = 10  # working days to handle an accepted suggestion


async def box_settings(conn: Connection, schema: str) -> BoxSettings:
    # One record is expected; should an admin create more, the newest wins.
    row = await conn.fetchrow(
        f"SELECT min_group_size, handling_days FROM {qualified(schema, 'suggestions_suggestion_settings')} "
        "ORDER BY created_at DESC LIMIT 1"
    )
    default = BoxSettings()
    if row is None:
        return default
    return BoxSettings(
        min_group_size=row["min_group_size"] or default.min_group_size,
        handling_days=row["handling_days"] or default.handling_days,
    )
