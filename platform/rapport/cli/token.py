"""``rapport token issue``: print a signed access token (and nothing else) on stdout."""

from __future__ import annotations

import argparse
from typing import Any

from rapport.auth.tokens import issue_token
from rapport.cli._common import user_name, with_database
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.principal import OPERATOR_ROLE
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("token", help="issue access tokens")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    issue = actions.add_parser(
        "issue",
        help="print a signed JWT",
        description="Print a signed access token for a tenant (or an operator token). "
        "Use it as `Authorization: Bearer <token>`.",
    )
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--tenant", metavar="SLUG", help="the tenant the token acts in")
    who.add_argument(
        "--operator", action="store_true", help="a platform operator token (no tenant)"
    )
    issue.add_argument(
        "--role",
        dest="roles",
        action="append",
        default=[],
        metavar="ROLE",
        help="a role to grant (repeatable), e.g. --role admin",
    )
    issue.add_argument("--subject", help="user or client id (default: your login name)")
    issue.add_argument(
        "--ttl", type=int, metavar="SECONDS", help="lifetime (default: RAPPORT_JWT_TTL_SECONDS)"
    )
    issue.set_defaults(handler=_issue, parser=issue)


def _issue(settings: Settings, args: argparse.Namespace) -> int:
    roles: list[str] = list(args.roles)
    if args.operator:
        roles = [OPERATOR_ROLE, *roles]
    elif not roles:
        # argparse cannot express "required unless --operator"; report it as it would (exit 2).
        args.parser.error("--tenant needs at least one --role (e.g. --role admin)")
    else:
        # A typo in the slug would give a token every request refuses; catch it here instead.
        async def check(db: Database) -> None:
            await get_tenant(db, args.tenant)

        with_database(settings, check)
    print(
        issue_token(
            settings,
            tenant=None if args.operator else args.tenant,
            subject=args.subject or user_name(),
            roles=roles,
            ttl_seconds=args.ttl,
        )
    )
    return 0
