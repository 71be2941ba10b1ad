"""A partner package: scaffolded, pip-installed into the venv, tested, discovered and used."""

from __future__ import annotations

import importlib
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.tenants import create_tenant
from rapport.plugins import build_registry
from rapport.plugins.lifecycle import install, installed
from rapport.plugins.loader import discover
from rapport.plugins.scaffold import scaffold
from rapport.plugins.subscriptions import assign_plan, put_plan

PIP = [sys.executable, "-m", "pip"]
NAME = f"partner_{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("partner")
    scaffold(NAME, root)
    # Installs into the shared venv (as a partner would): always removed again at the end.
    subprocess.run([*PIP, "install", "--quiet", str(root / NAME)], check=True, timeout=300)
    importlib.invalidate_caches()
    try:
        yield root / NAME
    finally:
        subprocess.run(
            [*PIP, "uninstall", "--yes", "--quiet", f"rapport-{NAME}"], check=True, timeout=120
        )


@pytest.fixture(scope="module")
async def db(database: Database) -> AsyncIterator[Database]:
    await migrate(database)
    yield database


def test_the_scaffolded_tests_pass_once_installed(package: Path) -> None:
    # when the partner runs the package's own tests (outside Rapport's folder)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


async def test_the_installed_package_is_discovered_and_installs_into_a_tenant(
    package: Path, db: Database
) -> None:
    # given the entry points of the environment, the partner's included
    specs, problems = discover()
    assert problems == []
    registry = build_registry(specs)
    assert NAME in registry
    slug = f"pt_{secrets.token_hex(4)}"
    await create_tenant(db, slug, actor="test")
    await put_plan(db, f"with-{NAME}", [NAME])
    await assign_plan(db, slug, f"with-{NAME}", actor="test")

    # when
    change = await install(db, slug, NAME, actor="test", registry=registry)

    # then its entity is a table of the tenant
    assert change.applied
    assert [p.name for p in await installed(db, slug)] == [NAME]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
            f"tenant_{slug}",
            f"{NAME}_item",
        )
        == 1
    )
