"""The tenant's discipline settings (entity ``discipline/discipline_settings``), with defaults."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.db.database import Connection
from rapport.naming import qualified

__all__ = ["DisciplineSettings", "discipline_settings"]


@dataclass(frozen=True, slots=True)
class DisciplineSettings:
    statement_working_days: int = 3  # the employee's time to respond
    appeal_days: int = 15
    sanction_months: int = 12  # how long a sanction counts when the decision gives no expiry


async def discipline_settings(conn: Connection, schema: str) -> DisciplineSettings:
    # One record is expected; should an admin create more, the newest wins.
    row = await conn.fetchrow(
        "SELECT statement_working_days, appeal_days, sanction_months"
        f" FROM {qualified(schema, 'discipline_discipline_settings')}"
        " ORDER BY created_at DESC LIMIT 1"
    )
    default = DisciplineSettings()
    if row is None:
        return default
    return DisciplineSettings(
        statement_working_days=row["statement_working_days"] or default.statement_working_days,
        appeal_days=row["appeal_days"] or default.appeal_days,
        sanction_months=row["sanction_months"] or default.sanction_months,
    )
