"""``rapport plugin list|new|install|upgrade|uninstall|plans``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rapport.cli._common import actor, print_table, with_database
from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.plugins import installed_registry, subscriptions
from rapport.plugins import lifecycle as plugin_lifecycle
from rapport.plugins.lifecycle import PluginChange
from rapport.plugins.scaffold import scaffold
from rapport.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("plugin", help="list, scaffold, install and manage plug-ins")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="available plug-ins (with --tenant: installed)")
    listing.add_argument("--tenant", metavar="SLUG", help="show this tenant's installed plug-ins")
    listing.set_defaults(handler=_list)

    new = actions.add_parser("new", help="create a partner plug-in package in this folder")
    new.add_argument("name", metavar="NAME", help="e.g. surveys: lowercase letters, digits, _")
    new.add_argument("--dir", type=Path, default=Path(), help="parent folder (default: .)")
    new.set_defaults(handler=_new)

    def tenant_action(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        sub.add_argument("--tenant", required=True, metavar="SLUG")
        sub.add_argument("name", metavar="NAME", help="the plug-in")
        sub.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
        sub.set_defaults(handler=handler)
        return sub

    install = tenant_action("install", "install a plug-in into a tenant", _install)
    install.add_argument("--allow-destructive", action="store_true")
    upgrade = tenant_action("upgrade", "upgrade a tenant to the available version", _upgrade)
    upgrade.add_argument("--allow-destructive", action="store_true")
    uninstall = tenant_action("uninstall", "remove a plug-in and its tables", _uninstall)
    keep = uninstall.add_mutually_exclusive_group()
    keep.add_argument(
        "--archive", action="store_true", help="move the data to schema archive_<slug>_<name>_<ts>"
    )
    keep.add_argument("--export", type=Path, metavar="DIR", help="write the data as JSON first")

    plans = actions.add_parser("plans", help="subscription plans (operators)")
    plan_actions = plans.add_subparsers(dest="plan_action", metavar="PLAN_ACTION", required=True)
    plan_actions.add_parser("list", help="plans, their plug-ins and tenants").set_defaults(
        handler=_plans_list
    )
    put = plan_actions.add_parser("put", help="create or replace a plan")
    put.add_argument("plan", metavar="PLAN")
    put.add_argument("plugins", nargs="*", metavar="PLUGIN")
    put.add_argument("--description", default="")
    put.set_defaults(handler=_plans_put)
    assign = plan_actions.add_parser("assign", help="put a tenant on a plan")
    assign.add_argument("--tenant", required=True, metavar="SLUG")
    assign.add_argument("plan", metavar="PLAN")
    assign.set_defaults(handler=_plans_assign)
    delete = plan_actions.add_parser("delete", help="delete a plan no tenant is on")
    delete.add_argument("plan", metavar="PLAN")
    delete.set_defaults(handler=_plans_delete)


def _list(settings: Settings, args: argparse.Namespace) -> int:
    registry = installed_registry()
    if args.tenant is None:
        print_table(
            ["NAME", "VERSION", "REQUIRES", "DESCRIPTION"],
            [
                (p.name, str(p.version), ", ".join(p.spec.requires), p.spec.description)
                for p in registry
            ],
        )
        return 0

    async def work(db: Database) -> None:
        rows = await plugin_lifecycle.installed(db, args.tenant)
        print_table(
            ["NAME", "VERSION", "AVAILABLE", "INSTALLED", "BY"],
            [
                (
                    p.name,
                    p.version,
                    str(registry.plugins[p.name].version) if p.name in registry else "missing",
                    p.installed_at.isoformat(timespec="seconds"),
                    p.installed_by,
                )
                for p in rows
            ],
        )

    with_database(settings, work)
    return 0


def _new(settings: Settings, args: argparse.Namespace) -> int:
    written = scaffold(args.name, args.dir)
    for path in written:
        print(path)
    root = args.dir / args.name
    print(
        f"created plug-in {args.name} in {root}; install it with `pip install -e {root}` "
        f"and test it with `pytest {root / 'tests'}`"
    )
    return 0


def _report(change: PluginChange, verb: str, slug: str) -> None:
    print(change.plan.as_text(), end="")
    if not change.applied:
        print(f"dry run: nothing changed; {verb} again without --dry-run to apply")
        return
    if change.archive_schema:
        print(f"data archived in schema {change.archive_schema}")
    for path in change.exported:
        print(f"exported {path}")
    for doc in change.removed_extensions:
        print(f"removed the tenant's extension {doc}")
    for version in change.upgrades_run:
        print(f"ran data migration {version}")
    versions = " -> ".join(v for v in (change.from_version, change.to_version) if v)
    print(
        f"{verb} {change.plugin} {versions} in tenant {slug}: metadata version "
        f"{change.metadata_version}"
    )


def _install(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        change = await plugin_lifecycle.install(
            db,
            args.tenant,
            args.name,
            actor=actor(),
            dry_run=args.dry_run,
            allow_destructive=args.allow_destructive,
        )
        _report(change, "installed" if change.applied else "install", args.tenant)

    with_database(settings, work)
    return 0


def _upgrade(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        change = await plugin_lifecycle.upgrade(
            db,
            args.tenant,
            args.name,
            actor=actor(),
            participants=KERNEL.participants,
            dry_run=args.dry_run,
            allow_destructive=args.allow_destructive,
        )
        _report(change, "upgraded" if change.applied else "upgrade", args.tenant)

    with_database(settings, work)
    return 0


def _uninstall(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        change = await plugin_lifecycle.uninstall(
            db,
            args.tenant,
            args.name,
            actor=actor(),
            archive=args.archive,
            export_to=args.export,
            dry_run=args.dry_run,
        )
        _report(change, "uninstalled" if change.applied else "uninstall", args.tenant)

    with_database(settings, work)
    return 0


def _plans_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        rows = await subscriptions.list_plans(db)
        if not rows:
            print("no plans yet; create one with `rapport plugin plans put PLAN PLUGIN...`")
            return
        print_table(
            ["PLAN", "PLUGINS", "TENANTS", "DESCRIPTION"],
            [(p.name, ", ".join(p.plugins), ", ".join(p.tenants), p.description) for p in rows],
        )

    with_database(settings, work)
    return 0


def _plans_put(settings: Settings, args: argparse.Namespace) -> int:
    registry = installed_registry()
    for name in args.plugins:
        registry.get(name)  # a plan naming a plug-in this installation lacks is a typo

    async def work(db: Database) -> None:
        plan = await subscriptions.put_plan(db, args.plan, args.plugins, args.description)
        print(f"plan {plan.name}: {', '.join(plan.plugins) or 'no plug-ins'}")

    with_database(settings, work)
    return 0


def _plans_assign(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        await subscriptions.assign_plan(db, args.tenant, args.plan, actor=actor())
        print(f"tenant {args.tenant} is on plan {args.plan}")

    with_database(settings, work)
    return 0


def _plans_delete(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> None:
        await subscriptions.delete_plan(db, args.plan)
        print(f"deleted plan {args.plan}")

    with_database(settings, work)
    return 0
