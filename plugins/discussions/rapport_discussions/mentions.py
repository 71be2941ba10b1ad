"""``@name`` mentions: the colleagues named in a post are notified.

A handle is what follows ``@`` up to a space or punctuation, matched against employees'
``externalId`` or exact ``name`` (Chinese names are written without spaces: ``@王芳``). Only
employees who can sign in are notified, never the author, each once.
"""

from __future__ import annotations

import re

from rapport.composition import KERNEL
from rapport.db.database import Connection
from rapport.naming import qualified
from rapport.notify import notify
from rapport.records.change import Change

__all__ = ["handles", "notify_mentions"]

_HANDLE = re.compile(r"@([\w.\-]+)")


def handles(text: str) -> list[str]:
    return list(dict.fromkeys(_HANDLE.findall(text or "")))


async def notify_mentions(
    conn: Connection, change: Change, text: str, title: str, link: str
) -> None:
    names = handles(text)
    if not names:
        return
    rows = await conn.fetch(
        f"SELECT DISTINCT user_id FROM {qualified(change.tenant.schema, 'org_employee')} "
        "WHERE user_id IS NOT NULL AND (external_id = ANY($1::text[]) OR name = ANY($1::text[]))",
        names,
    )
    recipients = [r["user_id"] for r in rows if r["user_id"] != change.principal.subject]
    if recipients:
        await notify(
            conn,
            tenant_id=change.tenant.id,
            recipients=recipients,
            title=f"有人提到了你 / You were mentioned: {title}"[:200],
            body=text[:200],
            link=link,
            metadata=(change.tenant, change.metadata),
            participants=KERNEL.participants,
        )
