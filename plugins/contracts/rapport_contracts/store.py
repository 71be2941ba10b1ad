"""Reading the plug-in's rows: settings, a contract with its parties, the salary in clear."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asyncpg import Record

from rapport.crypto.cipher import key_id_of
from rapport.crypto.fields import open_value
from rapport.crypto.keys import default_keyring
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.naming import qualified

__all__ = ["ContractSettings", "contract_settings", "contract_view", "open_salary"]


@dataclass(frozen=True, slots=True)
class ContractSettings:
    first_reminder_days: int = 60
    second_reminder_days: int = 30
    tsa_url: str | None = None
    tsa_certificate: str | None = None


async def contract_settings(conn: Connection, schema: str) -> ContractSettings:
    # One record is expected; should an admin create more, the newest wins.
    row = await conn.fetchrow(
        f"SELECT * FROM {qualified(schema, 'contracts_contract_settings')} "
        "ORDER BY created_at DESC LIMIT 1"
    )
    if row is None:
        return ContractSettings()
    return ContractSettings(
        first_reminder_days=row["first_reminder_days"] or 60,
        second_reminder_days=row["second_reminder_days"] or 30,
        tsa_url=row["tsa_url"],
        tsa_certificate=row["tsa_certificate"],
    )


async def contract_view(conn: Connection, schema: str, contract_id: str) -> Record | None:
    """The contract joined with its employee, employer and template."""
    return await conn.fetchrow(
        f"SELECT c.*, c.id::text AS contract_id, e.name AS employee_name, "
        f"e.user_id AS employee_user_id, r.name AS employer_name, r.address AS employer_address, "
        f"r.credit_code, r.legal_representative, r.signatory_user_id, t.title AS template_title, "
        f"t.body AS template_body "
        f"FROM {qualified(schema, 'contracts_contract')} AS c "
        f"JOIN {qualified(schema, 'org_employee')} AS e ON e.id = c.employee_id "
        f"JOIN {qualified(schema, 'contracts_employer')} AS r ON r.id = c.employer_id "
        f"JOIN {qualified(schema, 'contracts_template')} AS t ON t.id = c.template_id "
        "WHERE c.id = $1::uuid",
        contract_id,
    )


async def open_salary(conn: Connection, tenant: Tenant, record_id: str, sealed: Any) -> str | None:
    """The contract's salary in clear (it is stored sealed with the tenant's data key)."""
    if sealed is None:
        return None
    raw = bytes(sealed)
    keys = await default_keyring().for_read(conn, tenant.id, [key_id_of(raw)])
    return open_value(keys, raw, record_id, "salary")
