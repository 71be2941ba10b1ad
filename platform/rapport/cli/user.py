"""``rapport user create|list|disable|enable|unlock|reset-password`` for a tenant's users.

Passwords are read from stdin (``--password-stdin``: the first line) or prompted for without
echo; never from the command line, where they would land in the shell history and ``ps``.
Every change is audited with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from rapport.auth import users
from rapport.cli._common import actor, print_table, with_database
from rapport.db.database import Database
from rapport.errors import BadRequest
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("user", help="manage a tenant's users")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a user (password from stdin or prompt)")
    _tenant(create)
    create.add_argument("login", metavar="LOGIN", help="email address or name, unique per tenant")
    create.add_argument(
        "--role",
        dest="roles",
        action="append",
        required=True,
        metavar="ROLE",
        help="a role (repeatable), e.g. --role admin",
    )
    create.add_argument("--name", default="", help="display name")
    _password_source(create)
    create.add_argument(
        "--no-password", action="store_true", help="no password login (API keys / OIDC only)"
    )
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", help="list the tenant's users")
    _tenant(listing)
    listing.set_defaults(handler=_list)

    for name, helptext, handler in (
        ("disable", "disable a user and end its sessions", _disable),
        ("enable", "enable a disabled user", _enable),
        ("unlock", "clear a lockout after failed logins", _unlock),
    ):
        action = actions.add_parser(name, help=helptext)
        _tenant(action)
        action.add_argument("login", metavar="LOGIN")
        action.set_defaults(handler=handler)

    reset = actions.add_parser("reset-password", help="set a new password; ends its sessions")
    _tenant(reset)
    reset.add_argument("login", metavar="LOGIN")
    _password_source(reset)
    reset.set_defaults(handler=_reset)


def _tenant(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, metavar="SLUG", help="the user's tenant")


def _password_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise BadRequest("The passwords differ.", hint="Type the same password twice.")
    if not password:
        raise BadRequest("No password was given.", hint="Pipe it in with --password-stdin.")
    return password


def _show(user: users.User) -> None:
    print_table(
        ["LOGIN", "ROLES", "STATUS", "LOCKED UNTIL", "TOTP", "ID"],
        [
            (
                user.login,
                ",".join(user.roles),
                user.status,
                user.locked_until.isoformat(timespec="seconds") if user.locked_until else "",
                "on" if user.totp_enabled else "off",
                user.id,
            )
        ],
    )


def _create(settings: Settings, args: argparse.Namespace) -> int:
    password = None if args.no_password else _password(args)

    async def work(db: Database) -> users.User:
        return await users.create_user(
            db,
            settings.identity,
            tenant=args.tenant,
            login=args.login,
            roles=args.roles,
            password=password,
            display_name=args.name,
            actor=actor(),
        )

    _show(with_database(settings, work))
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> list[users.User]:
        return await users.list_users(db, args.tenant)

    found = with_database(settings, work)
    if not found:
        print(f"no users in {args.tenant} yet; create one with `rapport user create`")
        return 0
    print_table(
        ["LOGIN", "ROLES", "STATUS", "LOCKED UNTIL", "TOTP", "ID"],
        [
            (
                u.login,
                ",".join(u.roles),
                u.status,
                u.locked_until.isoformat(timespec="seconds") if u.locked_until else "",
                "on" if u.totp_enabled else "off",
                u.id,
            )
            for u in found
        ],
    )
    return 0


def _disable(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> users.User:
        return await users.set_status(db, args.tenant, args.login, active=False, actor=actor())

    _show(with_database(settings, work))
    return 0


def _enable(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> users.User:
        return await users.set_status(db, args.tenant, args.login, active=True, actor=actor())

    _show(with_database(settings, work))
    return 0


def _unlock(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> users.User:
        return await users.unlock_user(db, args.tenant, args.login, actor=actor())

    _show(with_database(settings, work))
    return 0


def _reset(settings: Settings, args: argparse.Namespace) -> int:
    password = _password(args)

    async def work(db: Database) -> users.User:
        return await users.reset_password(
            db, settings.identity, args.tenant, args.login, password, actor=actor()
        )

    _show(with_database(settings, work))
    return 0
