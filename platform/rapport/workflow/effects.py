"""Applying a transition's (or a deadline's) effects inside its transaction.

``set`` and ``create`` write through the RecordWriter with ``via="workflow"``, so permissions,
audit and outbox participants see them; ``notify``, ``webhook`` and ``enqueue`` write outbox
rows that leave after commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rapport.db.database import Connection
from rapport.metadata.ir import EntityDef, thaw_json
from rapport.records.rows import load_records, parse_id
from rapport.workflow import outlets
from rapport.workflow.context import WorkflowContext
from rapport.workflow.document import Effect
from rapport.workflow.paths import resolve_path, resolve_values

__all__ = ["apply_effects", "recipients_of"]


async def recipients_of(
    conn: Connection,
    context: WorkflowContext,
    entity: EntityDef,
    record: Mapping[str, Any],
    spec: str | Sequence[str],
) -> list[str]:
    """User ids and ``role:<name>`` entries; ``submitter`` is the record's creator."""
    out: list[str] = []
    for item in [spec] if isinstance(spec, str) else spec:
        if item == "submitter":
            value = record.get("createdBy")
        elif item.startswith("$record."):
            value = await resolve_path(
                conn,
                context.tenant.schema,
                context.metadata.model,
                entity,
                record,
                item.removeprefix("$record."),
            )
        else:
            value = item
        if value is not None and str(value) not in out:
            out.append(str(value))
    return out


async def apply_effects(
    conn: Connection,
    context: WorkflowContext,
    entity: EntityDef,
    record_id: str,
    effects: Sequence[Effect],
    *,
    event: Mapping[str, Any],
) -> None:
    """Apply ``effects`` in order; ``event`` describes what caused them (for messages and
    payloads). Each effect sees the record as the previous effects left it."""
    for effect in effects:
        record = await _reload(conn, context, entity, record_id)
        value: Any = thaw_json(effect.value)
        if effect.kind == "set":
            patch = await resolve_values(conn, context, entity, record, value)
            await context.writer.update(
                conn,
                entity,
                record_id,
                {entity.field(k).graphql_input_name: v for k, v in patch.items()},
                expected_version=None,
                principal=context.principal,
                path=("effects", "set"),
                via="workflow",
            )
        elif effect.kind == "create":
            target = context.metadata.model.entity(value["entity"])
            values = await resolve_values(conn, context, entity, record, value["values"])
            await context.writer.create(
                conn,
                target,
                {
                    (target.field(k).graphql_input_name if target.has_field(k) else k): v
                    for k, v in values.items()
                },
                principal=context.principal,
                path=("effects", "create"),
                via="workflow",
            )
        elif effect.kind == "notify":
            to, title, body = _message(value)
            recipients = await recipients_of(conn, context, entity, record, to)
            if recipients:
                await outlets.send_notification(
                    conn,
                    tenant_id=context.tenant.id,
                    recipients=recipients,
                    title=_text(title) if title else _title(entity, event),
                    body=_text(body) if body else _body(event),
                    link=f"{entity.single_name}/{record_id}",
                    metadata=(context.tenant, context.metadata),
                    participants=context.writer.participants,
                )
        else:  # webhook, enqueue
            topic = outlets.TRANSITION_TOPIC if effect.kind == "webhook" else str(value)
            payload = {**event, "entity": entity.id, "recordId": record_id}
            if effect.kind == "webhook":
                payload["event"] = str(value)
            await outlets.emit(conn, tenant_id=context.tenant.id, topic=topic, payload=payload)


async def _reload(
    conn: Connection, context: WorkflowContext, entity: EntityDef, record_id: str
) -> Mapping[str, Any]:
    parsed = parse_id(record_id)
    found = await load_records(conn, context.tenant.schema, entity, [parsed] if parsed else [])
    return found.get(record_id, {"id": record_id})


def _message(value: Any) -> tuple[str | Sequence[str], Mapping[str, str], Mapping[str, str]]:
    """``notify``'s recipients, and its own title and body by language (empty: none given)."""
    if isinstance(value, Mapping):
        return value["to"], value.get("title") or {}, value.get("body") or {}
    return value, {}, {}


def _text(labels: Mapping[str, str]) -> str:
    """Every language of a text in one line, Chinese first: notifications have no reader
    language yet, and the users of one tenant read either."""
    order = sorted(labels, key=lambda lang: (not lang.startswith("zh"), lang != "en", lang))
    return " / ".join(labels[lang] for lang in order)


def _title(entity: EntityDef, event: Mapping[str, Any]) -> str:
    name = entity.title or entity.type_name
    if event.get("kind") == "transition":
        return f"{name}: {event.get('transition')} ({event.get('from')} → {event.get('to')})"
    if event.get("kind") in ("breach", "remind"):
        what = "SLA breached" if event["kind"] == "breach" else "SLA reminder"
        return f"{name}: {what} in state {event.get('state')}"
    return f"{name}: {event.get('name', event.get('kind', 'workflow'))}"


def _body(event: Mapping[str, Any]) -> str:
    comment = event.get("comment")
    due = event.get("dueAt")
    parts = [f"due {due}" if due else "", str(comment) if comment else ""]
    return "; ".join(p for p in parts if p) or _title_fallback(event)


def _title_fallback(event: Mapping[str, Any]) -> str:
    return f"workflow event {event.get('kind', '')}".strip()
