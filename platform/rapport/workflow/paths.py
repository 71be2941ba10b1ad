"""``$record.a.b`` paths and ``$…`` values in effects and approver lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.db.database import Connection
from rapport.metadata.ir import EntityDef, Model
from rapport.records.rows import load_records, parse_id
from rapport.workflow.context import WorkflowContext

__all__ = ["resolve_path", "resolve_values"]


async def resolve_path(
    conn: Connection,
    schema: str,
    model: Model,
    entity: EntityDef,
    record: Mapping[str, Any],
    path: str,
) -> Any:
    """The value at ``a.b.c`` from ``record``, following relations; None where a link is empty.

    A relation as the last segment yields the related record's id.
    """
    parts = path.split(".")
    current_entity, current = entity, record
    for position, part in enumerate(parts):
        if part == "id" or not current_entity.has_field(part):
            return current.get(part)
        fdef = current_entity.field(part)
        if fdef.relation is None:
            return current.get(part)
        related_id = current.get(fdef.graphql_input_name)
        if position == len(parts) - 1 or related_id is None:
            return related_id
        parsed = parse_id(related_id)
        if parsed is None:
            return None
        current_entity = model.entity(fdef.relation.target)
        found = await load_records(conn, schema, current_entity, [parsed])
        if str(parsed) not in found:
            return None
        current = found[str(parsed)]
    return None


async def resolve_values(
    conn: Connection,
    context: WorkflowContext,
    entity: EntityDef,
    record: Mapping[str, Any],
    values: Mapping[str, Any],
) -> dict[str, Any]:
    """Effect input with ``$record.<path>``, ``$now`` and ``$user.id`` substituted
    (``$$`` writes a literal ``$``)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and value.startswith("$$"):
            out[key] = value[1:]
        elif isinstance(value, str) and value.startswith("$record."):
            out[key] = await resolve_path(
                conn,
                context.tenant.schema,
                context.metadata.model,
                entity,
                record,
                value.removeprefix("$record."),
            )
        elif value == "$now":
            out[key] = context.now.isoformat()
        elif value == "$user.id":
            out[key] = context.principal.subject
        else:
            out[key] = value
    return out
