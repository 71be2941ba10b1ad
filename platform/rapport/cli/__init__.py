"""The ``rapport`` command.

Commands talk to the database directly with the same settings as the server (no server needed);
without ``RAPPORT_DATABASE_URL`` they join or start the embedded PostgreSQL in the data
directory. Results go to stdout, errors to stderr as the error's message and hint; the exit
status is 0 on success, 1 for an error Rapport reports, 2 for a usage error, 130 when a
command is interrupted; ``rapport serve`` exits 0 once SIGINT or SIGTERM stopped it cleanly.
No traceback reaches the terminal for an error Rapport expects.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rapport.cli import audit as audit_command
from rapport.cli import evidence as evidence_command
from rapport.cli import form as form_command
from rapport.cli import jobs as jobs_command
from rapport.cli import keys as keys_command
from rapport.cli import metadata as metadata_command
from rapport.cli import org as org_command
from rapport.cli import plugin as plugin_command
from rapport.cli import schema as schema_command
from rapport.cli import serve as serve_command
from rapport.cli import tenant as tenant_command
from rapport.cli import token as token_command
from rapport.cli import user as user_command
from rapport.cli import worker as worker_command
from rapport.cli._common import fail
from rapport.errors import RapportError
from rapport.settings import Settings

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rapport",
        description="Rapport: metadata-driven GraphQL for Employee Relationship Management.",
        epilog="Settings come from RAPPORT_* environment variables (see the README).",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show the Python traceback of an unexpected error (for bug reports)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve_command.register(commands)
    tenant_command.register(commands)
    token_command.register(commands)
    user_command.register(commands)
    metadata_command.register(commands)
    plugin_command.register(commands)
    org_command.register(commands)
    form_command.register(commands)
    worker_command.register(commands)
    jobs_command.register(commands)
    audit_command.register(commands)
    evidence_command.register(commands)
    keys_command.register(commands)
    schema_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command in ("serve", "worker") else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings.from_env()
        status: int = args.handler(settings, args)
    except RapportError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.traceback:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        print(
            "hint: this is a bug in Rapport; run again with `rapport --traceback ...` and "
            "report the output.",
            file=sys.stderr,
        )
        return 1
    return status


def run() -> None:
    sys.exit(main())
