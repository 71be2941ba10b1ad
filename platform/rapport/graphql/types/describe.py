"""Descriptions in the schema: what a frontend engineer reads in GraphiQL for each type and field.

Labels of every language are shown (``en: Course · zh: 课程``) next to the document's
``description`` and the rules a form must respect (required, unique, default, read-only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from rapport.metadata.ir import EntityDef, FieldDef, FieldKind, thaw_json

__all__ = ["entity_text", "field_text", "labels_text"]


def labels_text(labels: Mapping[str, str]) -> str:
    return " · ".join(f"{lang}: {text}" for lang, text in sorted(labels.items()))


def entity_text(entity: EntityDef, lead: str | None = None) -> str:
    """``Course (training/course) — labels — description``, led by ``lead`` when given."""
    parts = [lead or f"{entity.title or entity.type_name} (`{entity.id}`)."]
    if entity.label:
        parts.append(f"Labels: {labels_text(entity.label)}.")
    if entity.description:
        parts.append(entity.description)
    return " ".join(parts)


def field_text(field: FieldDef, *, for_input: bool = False) -> str:
    parts: list[str] = []
    if field.label:
        parts.append(f"{labels_text(field.label)}.")
    if field.description:
        parts.append(field.description)
    if field.kind is FieldKind.COMPUTED:
        expression = json.dumps(thaw_json(field.computed), ensure_ascii=False, sort_keys=True)
        parts.append(f"Computed (read-only): true when the record matches {expression}.")
    if field.kind is FieldKind.RELATION and field.relation is not None:
        parts.append(f"Reference to a `{field.relation.target}` record.")
    if field.kind is FieldKind.MANY_TO_MANY and field.many_to_many is not None:
        m2m = field.many_to_many
        parts.append(f"`{m2m.target}` records linked through `{m2m.through}`.")
    if field.required:
        parts.append("Required.")
    if field.unique:
        parts.append("Unique.")
    if field.has_default:
        default = json.dumps(thaw_json(field.default), ensure_ascii=False)
        parts.append(f"Default: `{default}`{' when omitted' if for_input else ''}.")
    if field.read_only and not for_input and field.kind is not FieldKind.COMPUTED:
        parts.append("Read-only.")
    if field.sensitive:
        parts.append(
            "Sensitive: encrypted at rest and masked unless a rule grants it; it cannot be "
            "filtered (except `_is_null`), sorted, grouped or aggregated."
        )
    return " ".join(parts)
