"""``rapport form preview --tenant SLUG ID [--locale zh] [--file PATH]``.

Prints the compiled JSON Schema and uiSchema of a form as JSON. Forms are created, versioned
and retired like every other metadata document: write ``*.form.json`` files (``"retired":
true`` retires one) and publish them with ``rapport metadata publish``. ``--file`` previews a
form document not yet published, compiled together with the tenant's published documents, so
the problems publishing it would report show up first.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rapport.cli._common import with_database
from rapport.db.database import Database
from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.forms.preview import preview, preview_document
from rapport.metadata import lifecycle
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("form", help="preview compiled forms")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    shown = actions.add_parser("preview", help="print a form's compiled JSON Schema and uiSchema")
    shown.add_argument("--tenant", required=True, metavar="SLUG")
    shown.add_argument("form_id", metavar="ID", help="form id (an entity id: its default form)")
    shown.add_argument("--locale", help="BCP 47 tag, e.g. zh or zh-Hant (default: the form's)")
    shown.add_argument(
        "--file", type=Path, metavar="PATH", help="preview this unpublished *.form.json instead"
    )
    shown.set_defaults(handler=_preview)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataInvalid(
            [MetadataProblem(str(path), "", f"cannot read the form document: {exc}", "")]
        ) from None


def _preview(settings: Settings, args: argparse.Namespace) -> int:
    body = _read(args.file) if args.file is not None else None

    async def work(db: Database) -> dict[str, Any]:
        _tenant, metadata = await lifecycle.load_published(db, args.tenant)
        if body is not None:
            return preview_document(metadata, body, args.locale)
        return preview(metadata, args.form_id, args.locale)

    result = with_database(settings, work)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0
