"""``rapport org import --tenant SLUG FILE [--dry-run] [--partial]`` (needs the org plug-in)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rapport.cli._common import actor, with_database
from rapport.db.database import Database
from rapport.errors import NotFound
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("org", help="the org plug-in: import from HR core systems")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    imported = actions.add_parser("import", help="upsert departments, positions, employees…")
    imported.add_argument("--tenant", required=True, metavar="SLUG")
    imported.add_argument("file", type=Path, metavar="FILE", help=".json (sections) or .csv")
    imported.add_argument(
        "--section",
        default="employees",
        help="what a CSV file (or a JSON list) holds: departments, positions, projects, "
        "employees (default)",
    )
    imported.add_argument("--dry-run", action="store_true", help="show what would change")
    imported.add_argument(
        "--partial", action="store_true", help="write the rows without errors, list the others"
    )
    imported.set_defaults(handler=_import)


def _import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        # The org plug-in is an optional package: the command needs it installed.
        from rapport_org.importer import import_org, read_file
    except ImportError:
        raise NotFound(
            "The org plug-in is not installed in this environment.",
            hint="pip install the rapport-org package (plugins/org in Rapport's repository).",
        ) from None
    sections = read_file(args.file, section=args.section)

    async def work(db: Database) -> int:
        report = await import_org(
            db, args.tenant, sections, actor=actor(), dry_run=args.dry_run, partial=args.partial
        )
        for change in report.rows:
            if change.action == "unchanged":
                continue
            print(f"{change.action} {change.section} row {change.row} ({change.external_id})")
            for name, (before, after) in sorted(change.changes.items()):
                print(f"    {name}: {before!r} -> {after!r}")
        for error in report.errors:
            print(f"error: {error}")
        for section, counts in report.counts.items():
            print(
                f"{section}: {counts['created']} created, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged"
            )
        if not report.applied:
            print("dry run: nothing was written")
        elif report.errors:
            print(f"partial import: {len(report.errors)} row error(s) skipped")
        return 1 if report.errors and not args.partial else 0

    return with_database(settings, work)
