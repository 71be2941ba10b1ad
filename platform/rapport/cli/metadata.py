"""``rapport metadata plan|publish|rollback|export|import|versions --tenant SLUG``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rapport.cli._common import actor, print_table, with_database
from rapport.db.database import Database
from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.metadata import lifecycle
from rapport.metadata.documents import (
    Document,
    DocumentKind,
    documents_from_json,
    read_folder,
    write_folder,
)
from rapport.settings import Settings

__all__ = ["read_paths", "register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("metadata", help="plan, publish, roll back and export metadata")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        sub.add_argument("--tenant", required=True, metavar="SLUG")
        sub.set_defaults(handler=handler)
        return sub

    paths_help = "entity folders or .json files (none: the tenant's stored draft)"
    plan = action("plan", "show the DDL publishing the documents would run", _plan)
    plan.add_argument("paths", nargs="*", type=Path, metavar="PATH", help=paths_help)

    publish = action("publish", "apply the documents as the next metadata version", _publish)
    publish.add_argument("paths", nargs="*", type=Path, metavar="PATH", help=paths_help)
    publish.add_argument(
        "--allow-destructive", action="store_true", help="accept drops and narrowing changes"
    )
    publish.add_argument("--note", help="why this version exists (kept with the version)")
    publish.add_argument(
        "--expected-version",
        type=int,
        metavar="V",
        help="refuse if the tenant is no longer at version V",
    )

    rollback = action("rollback", "publish an earlier version again", _rollback)
    rollback.add_argument("--to", type=int, required=True, metavar="N", dest="to_version")
    rollback.add_argument("--allow-destructive", action="store_true")

    export = action("export", "write the tenant's documents to a folder", _export)
    export.add_argument("--version", type=int, metavar="N", help="default: the current version")
    export.add_argument("directory", type=Path, metavar="DIR")

    imported = action("import", "store a folder's documents as the tenant's draft", _import)
    imported.add_argument("directory", type=Path, metavar="DIR")

    action("versions", "list the published versions", _versions)


def read_paths(paths: Sequence[Path]) -> tuple[Document, ...]:
    """Documents from folders and ``.json`` files (an object, or a list of objects).

    Problems of every path are collected and raised together, like ``read_folder`` does.
    """
    problems: list[MetadataProblem] = []
    documents: list[Document] = []
    for path in paths:
        try:
            if path.is_dir():
                documents.extend(read_folder(path))
            else:
                documents.extend(_read_file(path))
        except MetadataInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise MetadataInvalid(problems)
    return tuple(documents)


def _read_file(path: Path) -> tuple[Document, ...]:
    where = str(path)
    if not path.is_file():
        raise MetadataInvalid(
            [MetadataProblem(where, "", "no such file or folder", "Check the path.")]
        )
    if path.suffix != ".json":
        raise MetadataInvalid(
            [MetadataProblem(where, "", "not a .json file", "Pass folders or .json files.")]
        )
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataInvalid(
            [MetadataProblem(where, "", f"not valid JSON: {exc}", "Fix the JSON syntax.")]
        ) from None
    items = body if isinstance(body, list) else [body]
    try:
        kind = DocumentKind.of_file(path.name)
    except ValueError as bad:
        raise MetadataInvalid(
            [
                MetadataProblem(
                    where,
                    "",
                    f"the file name does not say a document kind: {bad}",
                    "Name an entity `name.json` and another kind `name.<kind>.json`.",
                )
            ]
        ) from None
    if kind != DocumentKind.ENTITY:
        # The file name says the kind (x.form.json), as it does inside a folder.
        items = [
            {"kind": kind.value, "body": item} if isinstance(item, dict) and "$id" in item else item
            for item in items
        ]
    try:
        return documents_from_json(items)
    except MetadataInvalid as exc:
        raise MetadataInvalid(
            [
                MetadataProblem(f"{where} ({p.document})", p.pointer, p.message, p.hint)
                for p in exc.problems
            ]
        ) from None


def _documents(paths: Sequence[Path]) -> tuple[Document, ...] | None:
    return read_paths(paths) if paths else None


def _plan(settings: Settings, args: argparse.Namespace) -> int:
    documents = _documents(args.paths)

    async def work(db: Database) -> None:
        plan = await lifecycle.plan(db, args.tenant, documents)
        print(plan.as_text(), end="")

    with_database(settings, work)
    return 0


def _publish(settings: Settings, args: argparse.Namespace) -> int:
    documents = _documents(args.paths)

    async def work(db: Database) -> None:
        result = await lifecycle.publish(
            db,
            args.tenant,
            documents,
            allow_destructive=args.allow_destructive,
            actor=actor(),
            note=args.note,
            expected_version=args.expected_version,
        )
        if not result.changed:
            print(f"no changes: tenant {args.tenant} stays at metadata version {result.version}")
            return
        print(result.plan.as_text(), end="")
        print(f"published tenant {args.tenant} metadata version {result.version}")

    with_database(settings, work)
    return 0


def _rollback(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        result = await lifecycle.rollback(
            db,
            args.tenant,
            args.to_version,
            allow_destructive=args.allow_destructive,
            actor=actor(),
        )
        if not result.changed:
            print(
                f"no changes: version {args.to_version} equals the current version {result.version}"
            )
            return
        print(result.plan.as_text(), end="")
        print(
            f"rolled tenant {args.tenant} back to the documents of version {args.to_version} "
            f"as metadata version {result.version}"
        )

    with_database(settings, work)
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        documents = await lifecycle.export(db, args.tenant, args.version)
        written = write_folder(documents, args.directory)
        for path in written:
            print(path)
        print(f"exported {len(written)} document(s) to {args.directory}")

    with_database(settings, work)
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    documents = read_folder(args.directory)

    async def work(db: Database) -> None:
        await lifecycle.save_draft(db, args.tenant, documents, actor=actor())
        print(
            f"saved {len(documents)} document(s) as the draft of tenant {args.tenant}; "
            f"review with `rapport metadata plan --tenant {args.tenant}`, apply with "
            f"`rapport metadata publish --tenant {args.tenant}`"
        )

    with_database(settings, work)
    return 0


def _versions(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        rows = await lifecycle.versions(db, args.tenant)
        print_table(
            ["VERSION", "PUBLISHED", "BY", "STEPS", "DESTRUCTIVE", "NOTE"],
            [
                (
                    v.version,
                    v.published_at.isoformat(timespec="seconds"),
                    v.published_by,
                    v.steps,
                    "yes" if v.destructive else "no",
                    v.note,
                )
                for v in rows
            ],
        )

    with_database(settings, work)
    return 0
