"""Import the organisation from an HR core system: CSV or JSON, upsert by ``externalId``.

Input is a set of *sections*, one per entity (``departments``, ``positions``, ``projects``,
``employees``), each a list of rows keyed by field name. References are written as the
referenced record's external id (``"department": "D-10"``, ``"manager": "E-0042"``) and
resolved against the tenant's records and the rows of the same import. Sections run in that
order; self references (a department's ``parent``, an employee's ``manager`` and
``hrPartner``) are set in a second pass, so rows may refer to rows further down the file.

Every write goes through the tenant's RecordWriter with ``via="import"``, each row in its own
savepoint so one bad row does not hide the errors of the others. An import is all-or-nothing
unless ``partial`` is asked for: with errors and without ``partial`` nothing is written and
:class:`ImportFailed` lists every error (row number and field); with ``partial`` the rows with
errors are left out and listed, the rest is written. ``dry_run`` runs the whole import and
rolls it back, reporting what would be created, updated and left unchanged, with a per-row diff.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection, Database
from rapport.errors import FieldError, RapportError, ValidationFailed
from rapport.metadata.ir import EntityDef, FieldDef, FieldKind
from rapport.metadata.lifecycle import load_published
from rapport.naming import qualified
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.rows import load_records
from rapport.records.writer import RecordWriter

__all__ = [
    "SECTIONS",
    "ImportFailed",
    "ImportReport",
    "RowChange",
    "RowError",
    "import_org",
    "read_file",
]

# Section name -> entity, in the order sections are imported.
SECTIONS = {
    "departments": "org/department",
    "positions": "org/position",
    "projects": "org/project",
    "employees": "org/employee",
}
KEY = "externalId"
BATCH = 500  # new records are created this many at a time (one INSERT each)
_SELF_REFERENCES = {"org/department": ("parent",), "org/employee": ("manager", "hrPartner")}


@dataclass(frozen=True, slots=True)
class RowError:
    section: str
    row: int  # 1-based row of the section (for CSV: the data row under the header)
    field: str  # "" when the error concerns the whole row
    message: str

    def __str__(self) -> str:
        where = f"{self.section} row {self.row}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class RowChange:
    section: str
    row: int
    external_id: str
    action: str  # "created", "updated" or "unchanged"
    changes: Mapping[str, tuple[Any, Any]]  # field -> (before, after); empty when unchanged


@dataclass(frozen=True, slots=True)
class ImportReport:
    applied: bool  # False for a dry run (or an all-or-nothing import that failed)
    rows: tuple[RowChange, ...]
    errors: tuple[RowError, ...] = ()
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


class ImportFailed(ValidationFailed):
    """An all-or-nothing import with errors: nothing was written; every error is listed."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.row_errors = tuple(errors)
        super().__init__(
            [FieldError((e.section, e.row, e.field), e.message) for e in errors],
            message=f"The import has {len(errors)} error(s); nothing was written:\n"
            + "\n".join(f"  - {e}" for e in errors[:50])
            + (f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""),
            hint="Fix the rows and import again, or pass --partial to write the rows "
            "without errors and skip the others.",
        )


def read_file(path: Path, *, section: str = "employees") -> dict[str, list[dict[str, Any]]]:
    """Sections from a file: JSON (an object of sections, or a list for ``section``) or CSV
    (one section; empty cells are left out)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        if isinstance(data, list):
            return {section: data}
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(SECTIONS))
            if unknown:
                raise ValidationFailed(
                    [FieldError((name,), "unknown section") for name in unknown],
                    hint="Sections are " + ", ".join(SECTIONS) + ".",
                )
            return {name: list(rows) for name, rows in data.items()}
        raise ValidationFailed([FieldError((), "a JSON import is an object or a list")])
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        return {section: [{k: v for k, v in row.items() if k and v != ""} for row in reader]}
    raise ValidationFailed(
        [FieldError((), f"unsupported file type {path.suffix!r}")],
        hint="Import a .csv or a .json file.",
    )


class _Rollback(Exception):
    def __init__(self, report: ImportReport) -> None:
        super().__init__("rollback")
        self.report = report


async def import_org(
    db: Database,
    slug: str,
    sections: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    actor: str,
    dry_run: bool = False,
    partial: bool = False,
) -> ImportReport:
    """Upsert the sections into the tenant's org entities; see the module docstring."""
    for name in sections:
        if name not in SECTIONS:
            raise ValidationFailed(
                [FieldError((name,), "unknown section")],
                hint="Sections are " + ", ".join(SECTIONS) + ".",
            )
    tenant, metadata = await load_published(db, slug)
    writer = RecordWriter(
        tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    principal = Principal(tenant=slug, subject=actor, roles=frozenset({ADMIN_ROLE}))
    try:
        async with db.transaction() as conn:
            run = _Run(conn, writer, principal)
            for name, entity_id in SECTIONS.items():
                if name in sections:
                    await run.section(name, metadata.model.entity(entity_id), sections[name])
            report = run.report(applied=not dry_run)
            if dry_run:  # the report lists the errors too; nothing is kept
                raise _Rollback(report)
            if run.errors and not partial:
                raise ImportFailed(run.errors)
            return report
    except _Rollback as rollback:
        return rollback.report


class _Run:
    def __init__(self, conn: Connection, writer: RecordWriter, principal: Principal) -> None:
        self.conn = conn
        self.writer = writer
        self.principal = principal
        self.errors: list[RowError] = []
        self.changes: list[RowChange] = []
        self.ids: dict[str, dict[str, str]] = {}  # entity id -> external id -> record id

    def report(self, *, applied: bool) -> ImportReport:
        self.changes.sort(key=lambda c: (list(SECTIONS).index(c.section), c.row))
        self.errors.sort(key=lambda e: (list(SECTIONS).index(e.section), e.row, e.field))
        counts: dict[str, dict[str, int]] = {}
        for change in self.changes:
            section = counts.setdefault(
                change.section, {"created": 0, "updated": 0, "unchanged": 0}
            )
            section[change.action] += 1
        return ImportReport(applied, tuple(self.changes), tuple(self.errors), counts)

    async def _existing(self, entity: EntityDef) -> dict[str, dict[str, Any]]:
        table = qualified(self.writer.tenant.schema, entity.table)
        ids = [r["id"] for r in await self.conn.fetch(f"SELECT id FROM {table}")]
        records = await load_records(self.conn, self.writer.tenant.schema, entity, ids)
        by_key = {str(r[KEY]): dict(r) for r in records.values() if r.get(KEY)}
        self.ids.setdefault(entity.id, {}).update({k: str(r["id"]) for k, r in by_key.items()})
        return by_key

    async def section(
        self, name: str, entity: EntityDef, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        existing = await self._existing(entity)
        later = _SELF_REFERENCES.get(entity.id, ())
        seen: dict[str, int] = {}
        deferred: list[tuple[int, str, dict[str, Any]]] = []
        creates: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        for number, raw in enumerate(rows, start=1):
            row, problems = self._row(name, number, entity, raw)
            key = row.get(KEY)
            if isinstance(key, str) and key in seen:
                problems.append(
                    RowError(name, number, KEY, f"external id {key!r} repeats row {seen[key]}")
                )
            if problems or not isinstance(key, str):
                self.errors.extend(problems)
                continue
            seen[key] = number
            first = {k: v for k, v in row.items() if k not in later}
            refs = {k: v for k, v in row.items() if k in later}
            if key not in existing:
                creates.append((number, first, refs))
            elif refs and await self._write(
                name, number, entity, first, existing[key], record=True
            ):
                deferred.append((number, key, refs))
            elif not refs:
                await self._write(name, number, entity, first, existing[key], record=True)
        for start in range(0, len(creates), BATCH):
            for number, key, refs in await self._create(
                name, entity, creates[start : start + BATCH]
            ):
                if refs:
                    deferred.append((number, key, refs))
        for number, key, refs in sorted(deferred):
            await self._write(
                name, number, entity, {KEY: key, **refs}, existing.get(key), record=False
            )

    async def _create(
        self,
        section: str,
        entity: EntityDef,
        rows: list[tuple[int, dict[str, Any], dict[str, Any]]],
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """Create new records in one INSERT; rows failing validation are reported and left
        out; any other refusal falls back to one savepoint per row. Returns the created rows
        (number, key, deferred self references)."""
        pending: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        for number, row, refs in rows:
            values, problems = self._resolve(section, number, entity, row)
            if problems:
                self.errors.extend(problems)
            else:
                pending.append((number, row, values, refs))
        while pending:
            try:
                async with self.conn.transaction():
                    ids = await self.writer.create_many(
                        self.conn,
                        entity,
                        [values for _, _, values, _ in pending],
                        principal=self.principal,
                        paths=[(section, number) for number, _, _, _ in pending],
                        via="import",
                    )
            except ValidationFailed as failed:
                bad: set[int] = set()
                for error in failed.errors:
                    row_number = error.path[1] if len(error.path) > 1 else None
                    if not isinstance(row_number, int):
                        break
                    bad.add(row_number)
                    field_name = str(error.path[2]) if len(error.path) > 2 else ""
                    self.errors.append(RowError(section, row_number, field_name, error.message))
                else:
                    pending = [p for p in pending if p[0] not in bad]
                    continue
                return await self._one_by_one(section, entity, pending)
            except RapportError:
                return await self._one_by_one(section, entity, pending)
            created = []
            for (number, row, values, refs), record_id in zip(pending, ids, strict=True):
                key = str(row[KEY])
                self.ids.setdefault(entity.id, {})[key] = record_id
                diff = {n: (None, _plain(v)) for n, v in values.items() if n != KEY}
                self.changes.append(RowChange(section, number, key, "created", diff))
                created.append((number, key, refs))
            return created
        return []

    async def _one_by_one(
        self,
        section: str,
        entity: EntityDef,
        pending: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]],
    ) -> list[tuple[int, str, dict[str, Any]]]:
        created = []
        for number, row, _, refs in pending:
            if await self._write(section, number, entity, row, None, record=True):
                created.append((number, str(row[KEY]), refs))
        return created

    def _row(
        self, section: str, number: int, entity: EntityDef, raw: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[RowError]]:
        problems: list[RowError] = []
        if not isinstance(raw, Mapping):
            return {}, [RowError(section, number, "", "a row must be an object")]
        key = raw.get(KEY)
        if not isinstance(key, str) or not key.strip():
            problems.append(RowError(section, number, KEY, "every row needs an external id"))
        row: dict[str, Any] = {}
        for name, value in raw.items():
            if not entity.has_field(name):
                problems.append(RowError(section, number, name, f"{entity.id} has no such field"))
                continue
            spec = entity.field(name)
            try:
                row[name] = _coerce(spec, value)
            except ValueError as exc:
                problems.append(RowError(section, number, name, str(exc)))
        return row, problems

    def _resolve(
        self, section: str, number: int, entity: EntityDef, row: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[RowError]]:
        out: dict[str, Any] = {}
        problems: list[RowError] = []
        for name, value in row.items():
            spec = entity.field(name)
            if spec.kind is not FieldKind.RELATION or spec.relation is None:
                out[name] = value
                continue
            if value is None:
                out[spec.graphql_input_name] = None
                continue
            target = self.ids.get(spec.relation.target, {}).get(str(value))
            if target is None:
                problems.append(
                    RowError(
                        section,
                        number,
                        name,
                        f"no {spec.relation.target} with external id {value!r} exists or is "
                        "imported",
                    )
                )
                continue
            out[spec.graphql_input_name] = target
        return out, problems

    async def _write(
        self,
        section: str,
        number: int,
        entity: EntityDef,
        row: dict[str, Any],
        before: Mapping[str, Any] | None,
        *,
        record: bool,
    ) -> bool:
        values, problems = self._resolve(section, number, entity, row)
        if problems:
            self.errors.extend(problems)
            return False
        key = str(row[KEY])
        diff = {
            name: (None if before is None else _plain(before.get(name)), _plain(value))
            for name, value in values.items()
            if name != KEY and (before is None or _plain(before.get(name)) != _plain(value))
        }
        if not record and not diff:
            return True
        if before is not None and not diff:
            if record:
                self.changes.append(RowChange(section, number, key, "unchanged", {}))
            return True
        try:
            async with self.conn.transaction():  # a savepoint: one bad row rolls back alone
                known = self.ids.get(entity.id, {}).get(key)
                if known is not None and not record:  # second pass: the record exists
                    record_id = await self.writer.update(
                        self.conn,
                        entity,
                        known,
                        {n: v for n, v in values.items() if n != KEY},
                        expected_version=None,
                        principal=self.principal,
                        path=(section, number),
                        via="import",
                    )
                else:
                    record_id = await self.writer.upsert(
                        self.conn,
                        entity,
                        values,
                        key=KEY,
                        principal=self.principal,
                        path=(section, number),
                        via="import",
                    )
        except ValidationFailed as failed:
            for error in failed.errors:
                field_name = str(error.path[2]) if len(error.path) > 2 else ""
                self.errors.append(RowError(section, number, field_name, error.message))
            return False
        except RapportError as error:
            self.errors.append(RowError(section, number, "", error.message))
            return False
        self.ids.setdefault(entity.id, {})[key] = record_id
        if record:
            action = "created" if before is None else "updated"
            self.changes.append(RowChange(section, number, key, action, diff))
        else:  # second pass (self references): merged into the row's first-pass entry
            self._merge(section, key, diff)
        return True

    def _merge(self, section: str, key: str, diff: Mapping[str, tuple[Any, Any]]) -> None:
        for index, change in enumerate(self.changes):
            if change.section == section and change.external_id == key:
                action = "updated" if change.action == "unchanged" else change.action
                merged = {**change.changes, **diff}
                self.changes[index] = RowChange(section, change.row, key, action, merged)
                return


def _coerce(spec: FieldDef, value: Any) -> Any:
    """CSV cells are text: turn them into the field's JSON type (JSON values pass as they are)."""
    if not isinstance(value, str) or spec.kind is FieldKind.RELATION:
        return value
    if spec.kind in (FieldKind.INTEGER, FieldKind.RATING):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if spec.kind is FieldKind.FLOAT:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if spec.kind is FieldKind.BOOLEAN:
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1", "是"):
            return True
        if lowered in ("false", "no", "0", "否"):
            return False
        raise ValueError(f"{value!r} is not true or false")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
