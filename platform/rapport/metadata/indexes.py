"""Index definitions from ``x-indexes`` and their deterministic SQL names."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.metadata.ir import FieldDef, IndexDef
from rapport.naming import PG_MAX_IDENTIFIER

__all__ = ["index_entries", "index_name", "indexes_for"]

_HASH_LENGTH = 8


def index_name(table: str, columns: Sequence[str], *, unique: bool) -> str:
    """``<table>_<col1>_<col2>_idx`` (``_key`` when unique), shortened to fit PostgreSQL.

    A name longer than 63 bytes is cut and ends in 8 hex digits of the SHA-1 of the full name, so
    two long names that share a prefix still differ and the result never changes between runs.
    """
    full = "_".join((table, *columns, "key" if unique else "idx"))
    if len(full.encode()) <= PG_MAX_IDENTIFIER:
        return full
    digest = hashlib.sha1(full.encode(), usedforsecurity=False).hexdigest()[:_HASH_LENGTH]
    return f"{full[: PG_MAX_IDENTIFIER - _HASH_LENGTH - 1]}_{digest}"


def index_entries(body: Mapping[str, Any]) -> list[tuple[int, list[Any], bool, str | None]]:
    """``(position, field names, unique, explicit name)`` of each well-formed ``x-indexes`` entry."""
    raw = body.get("x-indexes")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    entries: list[tuple[int, list[Any], bool, str | None]] = []
    for position, entry in enumerate(raw):
        if isinstance(entry, Sequence) and not isinstance(entry, str):
            entries.append((position, list(entry), False, None))
        elif isinstance(entry, Mapping):
            fields = entry.get("fields")
            if isinstance(fields, Sequence) and not isinstance(fields, str):
                name = entry.get("name")
                entries.append(
                    (
                        position,
                        list(fields),
                        entry.get("unique") is True,
                        name if isinstance(name, str) else None,
                    )
                )
    return entries


def indexes_for(
    body: Mapping[str, Any], table: str, fields: Sequence[FieldDef]
) -> tuple[IndexDef, ...]:
    """The IndexDefs of an entity; entries naming unknown or unstored fields are left out
    (the checks report them)."""
    columns = {f.name: f.column for f in fields if f.column is not None}
    indexes = []
    for _, names, unique, explicit in index_entries(body):
        if not names or not all(isinstance(n, str) and n in columns for n in names):
            continue
        cols = tuple(columns[n] for n in names)
        indexes.append(
            IndexDef(
                name=explicit or index_name(table, cols, unique=unique),
                fields=tuple(names),
                columns=cols,
                unique=unique,
            )
        )
    return tuple(indexes)
