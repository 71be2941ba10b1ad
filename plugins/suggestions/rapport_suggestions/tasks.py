"""Follow-up tasks of an adopted suggestion: ``core/task`` records with owners and due dates.

Written through the RecordWriter as the HR user who creates them (their permission documents
grant ``core/task`` create for suggestion tasks), all or none in one transaction, and each
assignee is notified through the notify layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rapport.composition import KERNEL
from rapport.db.database import Connection
from rapport.errors import FieldError, NotFound, ValidationFailed
from rapport.naming import qualified
from rapport.notify import notify
from rapport.principal import Principal
from rapport.records.writer import RecordWriter

__all__ = ["create_tasks"]

SUBJECT = "suggestions/suggestion"


async def create_tasks(
    conn: Connection,
    writer: RecordWriter,
    principal: Principal,
    suggestion_id: str,
    tasks: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Create ``tasks`` (title, assignee, dueAt, description) for an adopted suggestion."""
    status = await conn.fetchval(
        f"SELECT status FROM {qualified(writer.tenant.schema, 'suggestions_suggestion')} "
        "WHERE id = $1::uuid FOR UPDATE",
        suggestion_id,
    )
    if status is None:
        raise NotFound(f"No suggestion has id {suggestion_id!r}.", hint="Check the id.")
    if status != "adopted":
        raise ValidationFailed(
            [FieldError(("id",), f"the suggestion is {status}, not adopted")],
            hint="Adopt the suggestion first; only adopted suggestions get follow-up tasks.",
        )
    if not tasks:
        raise ValidationFailed([FieldError(("tasks",), "no task")], hint="Give at least one task.")
    errors = [
        FieldError(("tasks", i, name), "required for a follow-up task")
        for i, task in enumerate(tasks)
        for name in ("title", "assignee", "dueAt")
        if not task.get(name)
    ]
    if errors:
        raise ValidationFailed(errors, hint="Every task needs a title, an assignee and a due date.")
    entity = writer.metadata.model.entity("core/task")
    ids = await writer.create_many(
        conn,
        entity,
        [{**task, "subjectEntity": SUBJECT, "subjectId": suggestion_id} for task in tasks],
        principal=principal,
        paths=[("tasks", i) for i in range(len(tasks))],
    )
    for task in tasks:
        await notify(
            conn,
            tenant_id=writer.tenant.id,
            recipients=[str(task["assignee"])],
            title=f"建议跟进任务 / Suggestion follow-up: {task['title']}",
            body=f"Due {task['dueAt']}",
            link=f"suggestions/{suggestion_id}",
            metadata=(writer.tenant, writer.metadata),
            participants=KERNEL.participants,
        )
    return ids
