"""Metadata documents: reading them from folders, package data or JSON, and writing them back.

A :class:`Document` is one document as written (deep-frozen), plus its kind and where it came
from. The kind shows in the file name, so a folder reads at a glance and editors can pick the
right JSON Schema by glob: ``course.json`` is an entity, ``intake.form.json`` a form,
``hrbp.permission.json`` a permission document, ``complaint-flow.workflow.json`` a workflow.
This module only parses; the dialect and every semantic rule are checked by
:func:`rapport.metadata.builder.compile_model`. Parse problems of all files are collected and
raised together, so an admin fixes a folder in one pass.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar

from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.metadata.ir import JsonValue, freeze_json, thaw_json

__all__ = [
    "ENTITY_ID",
    "Document",
    "DocumentKind",
    "documents_from_json",
    "kernel_documents",
    "read_folder",
    "write_folder",
]

# namespace/name, each part lowercase; the one definition the builder and the meta-schema share.
ENTITY_ID = re.compile(r"^[a-z][a-z0-9_-]*/[a-z][a-z0-9_-]*$")

KERNEL_PACKAGE = "rapport"
KERNEL_FOLDER = ("_data", "metadata")


# A kind's name: what the file name shows (``intake.form.json``) and API calls say.
KIND_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """What a document describes, by name; any package may declare a kind (an open set).

    Entities are the metadata layer's own kind; the kernel's capabilities declare ``form``,
    ``workflow`` and ``permission``, plug-ins may declare more
    (:func:`rapport.metadata.document_kinds.registered_kinds`). Which kinds exist is not this
    type's business: a document of a kind nobody compiles is refused when it is compiled.
    """

    value: str

    ENTITY: ClassVar[DocumentKind]
    FORM: ClassVar[DocumentKind]
    PERMISSION: ClassVar[DocumentKind]
    WORKFLOW: ClassVar[DocumentKind]

    def __post_init__(self) -> None:
        if not KIND_NAME.match(self.value):
            raise ValueError(
                f"{self.value!r} is not a document kind name: use lowercase letters, digits "
                "and '-', starting with a letter"
            )

    def __str__(self) -> str:
        return self.value

    @property
    def suffix(self) -> str:
        """File-name ending: entities are plain ``.json``, the others ``.<kind>.json``."""
        return ".json" if self == DocumentKind.ENTITY else f".{self.value}.json"

    @classmethod
    def of_file(cls, name: str) -> DocumentKind:
        """The kind a file name shows: ``course.json`` an entity, ``intake.form.json`` a form.

        Raises ValueError when the part before ``.json`` is not a kind name.
        """
        stem = name.rsplit("/", 1)[-1].removesuffix(".json")
        _, dot, kind = stem.rpartition(".")
        return cls(kind) if dot else cls.ENTITY


DocumentKind.ENTITY = DocumentKind("entity")
DocumentKind.FORM = DocumentKind("form")
DocumentKind.PERMISSION = DocumentKind("permission")
DocumentKind.WORKFLOW = DocumentKind("workflow")


@dataclass(frozen=True, slots=True)
class Document:
    """One metadata document: its ``$id``, its body as written, and where it came from."""

    id: str
    body: JsonValue  # deep-frozen with ir.freeze_json
    source: str = "tenant"  # "kernel", "tenant", or a plug-in name
    location: str = ""  # file it was read from, if any (for messages)
    kind: DocumentKind = DocumentKind.ENTITY

    def with_source(self, source: str) -> Document:
        return Document(self.id, self.body, source, self.location, self.kind)

    def as_json(self) -> dict[str, Any]:
        """The body as plain ``dict``/``list`` values, e.g. for ``json.dumps``."""
        thawed = thaw_json(self.body)
        return thawed if isinstance(thawed, dict) else {}


class _DuplicateKeys(Exception):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(keys)
        self.keys = keys


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of two equal keys; in a document that is always a mistake
    # (two definitions of one field), so it is reported instead.
    seen: dict[str, Any] = {}
    duplicates = []
    for key, value in pairs:
        if key in seen:
            duplicates.append(key)
        seen[key] = value
    if duplicates:
        raise _DuplicateKeys(duplicates)
    return seen


def _parse(text: str, where: str, problems: list[MetadataProblem]) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        problems.append(
            MetadataProblem(
                where,
                "",
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                "Fix the JSON syntax there (a missing comma, quote or bracket is the usual cause).",
            )
        )
    except _DuplicateKeys as exc:
        names = ", ".join(repr(k) for k in exc.keys)
        problems.append(
            MetadataProblem(
                where,
                "",
                f"the same key appears twice in one object: {names}",
                "Keep one definition of each key; JSON would silently drop the first.",
            )
        )
    return None


def _document(
    body: Any,
    where: str,
    source: str,
    location: str,
    problems: list[MetadataProblem],
    kind: DocumentKind = DocumentKind.ENTITY,
) -> Document | None:
    if not isinstance(body, Mapping):
        problems.append(
            MetadataProblem(
                where,
                "",
                f"a document must be a JSON object, not {type(body).__name__}",
                'Write the entity as {"$id": "namespace/name", "type": "object", ...}.',
            )
        )
        return None
    doc_id = body.get("$id")
    if not isinstance(doc_id, str) or not doc_id:
        problems.append(
            MetadataProblem(
                where,
                "/$id",
                "the document has no `$id`" if doc_id is None else "`$id` must be a string",
                'Add "$id": "namespace/name", e.g. "training/course".',
            )
        )
        return None
    return Document(doc_id, freeze_json(body), source, location, kind)


def _sorted(documents: list[Document]) -> tuple[Document, ...]:
    return tuple(sorted(documents, key=lambda d: (d.id, d.kind.value, d.location)))


def read_folder(path: Path, *, source: str = "tenant") -> tuple[Document, ...]:
    """Every ``*.json`` under ``path`` (recursively), sorted by id.

    Raises :class:`MetadataInvalid` listing the problems of all files (syntax errors with line and
    column, missing ``$id``) at once.
    """
    if not path.is_dir():
        raise MetadataInvalid(
            [
                MetadataProblem(
                    str(path), "", "not a folder", "Pass the folder that holds the documents."
                )
            ]
        )
    problems: list[MetadataProblem] = []
    documents: list[Document] = []
    for file in sorted(path.rglob("*.json")):
        if not file.is_file():
            continue
        where = file.relative_to(path).as_posix()
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                MetadataProblem(
                    where, "", f"not UTF-8 text: {exc.reason}", "Save the file as UTF-8."
                )
            )
            continue
        body = _parse(text, where, problems)
        kind = _kind_of_file(where, problems)
        if body is not None and kind is not None:
            doc = _document(body, where, source, str(file), problems, kind)
            if doc is not None:
                documents.append(doc)
    if problems:
        raise MetadataInvalid(problems)
    return _sorted(documents)


def _kind_of_file(where: str, problems: list[MetadataProblem]) -> DocumentKind | None:
    try:
        return DocumentKind.of_file(where)
    except ValueError as bad:
        problems.append(
            MetadataProblem(
                where,
                "",
                f"the file name does not say a document kind: {bad}",
                "Name an entity `name.json` and a document of another kind "
                "`name.<kind>.json`, e.g. `intake.form.json`.",
            )
        )
        return None


def documents_from_json(
    items: Iterable[Mapping[str, Any]], *, source: str = "tenant"
) -> tuple[Document, ...]:
    """Documents from already-parsed JSON objects (e.g. GraphQL input), sorted by id.

    An item is either an entity document itself, or ``{"kind": "form", "body": {...}}`` for any
    kind (the wrapper is how an API call says what a document is, as the file name does on disk).
    """
    problems: list[MetadataProblem] = []
    documents: list[Document] = []
    for index, item in enumerate(items):
        where = f"document #{index}"
        body: Any = item
        kind = DocumentKind.ENTITY
        if isinstance(item, Mapping) and "$id" not in item and "kind" in item:
            body = item.get("body")
            try:
                kind = DocumentKind(str(item["kind"]))
            except ValueError as bad:
                problems.append(
                    MetadataProblem(
                        where,
                        "/kind",
                        str(bad),
                        'Name the kind, e.g. "form", "workflow" or "permission".',
                    )
                )
                continue
        doc = _document(body, where, source, "", problems, kind)
        if doc is not None:
            documents.append(doc)
    if problems:
        raise MetadataInvalid(problems)
    return _sorted(documents)


def write_folder(documents: Iterable[Document], path: Path) -> list[Path]:
    """Write each document to ``<path>/<namespace>/<name><kind suffix>``; returns the files.

    Keys are sorted and the indent is two spaces, so exported folders diff cleanly in git.
    """
    docs = list(documents)
    bad = [d for d in docs if not ENTITY_ID.match(d.id)]
    if bad:
        # The id becomes a file path: anything else could write outside the folder.
        raise MetadataInvalid(
            [
                MetadataProblem(d.id, "/$id", "`$id` is not a `namespace/name` entity id", _ID_HINT)
                for d in bad
            ]
        )
    written: list[Path] = []
    for doc in docs:
        namespace, _, name = doc.id.partition("/")
        target = path / namespace / f"{name}{doc.kind.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(doc.as_json(), sort_keys=True, indent=2, ensure_ascii=False)
        target.write_text(text + "\n", encoding="utf-8")
        written.append(target)
    return written


_ID_HINT = (
    "Use lowercase `namespace/name` with letters, digits, `_` or `-`, starting with a letter, "
    'e.g. "training/course".'
)


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".json"):
            yield f"{prefix}{entry.name}", entry


@functools.cache
def kernel_documents() -> tuple[Document, ...]:
    """The kernel's own documents (task, comment, attachment…), shipped as package data."""
    root = resources.files(KERNEL_PACKAGE).joinpath(*KERNEL_FOLDER)
    problems: list[MetadataProblem] = []
    documents: list[Document] = []
    for where, entry in _walk(root, ""):
        body = _parse(entry.read_text(encoding="utf-8"), where, problems)
        kind = _kind_of_file(where, problems)
        if body is not None and kind is not None:
            location = "/".join((KERNEL_PACKAGE, *KERNEL_FOLDER, where))
            doc = _document(body, where, "kernel", location, problems, kind)
            if doc is not None:
                documents.append(doc)
    if problems:
        raise MetadataInvalid(problems)
    return _sorted(documents)
