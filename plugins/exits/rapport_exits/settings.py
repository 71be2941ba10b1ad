"""The tenant's exit settings (entity ``exits/exit_settings``), with defaults."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.db.database import Connection
from rapport.naming import qualified

__all__ = ["ExitSettings", "exit_settings"]


@dataclass(frozen=True, slots=True)
class ExitSettings:
    min_group_size: int = 5  # k: analysis groups and reasons smaller than this are suppressed
    interview_working_days_before: int = 3
    default_interviewer: str | None = None


async def exit_settings(conn: Connection, schema: str) -> ExitSettings:
    # One record is expected; should an admin create more, the newest wins.
    row = await conn.fetchrow(
        "SELECT min_group_size, interview_working_days_before, default_interviewer_user_id"
        f" FROM {qualified(schema, 'exits_exit_settings')} ORDER BY created_at DESC LIMIT 1"
    )
    default = ExitSettings()
    if row is None:
        return default
    return ExitSettings(
        min_group_size=row["min_group_size"] or default.min_group_size,
        interview_working_days_before=default.interview_working_days_before
        if row["interview_working_days_before"] is None
        else row["interview_working_days_before"],
        default_interviewer=row["default_interviewer_user_id"],
    )
