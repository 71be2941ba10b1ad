from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rapport.db.catalog import load_migrations, migrate
from rapport.db.database import Database
from rapport.errors import ConfigurationError, RapportError
from tests.databases import scratch_database


@pytest.fixture
async def fresh_url(server_dsn: str) -> AsyncIterator[str]:
    """An empty database of its own for each test: migrations start from nothing."""
    async with scratch_database(server_dsn, "rapport_catalog") as scratch:
        yield scratch.url


@pytest.fixture
async def fresh_db(fresh_url: str) -> AsyncIterator[Database]:
    db = await Database.connect(fresh_url, min_size=1, max_size=4)
    try:
        yield db
    finally:
        await db.close()


async def _tables(db: Database) -> set[str]:
    rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'rapport'")
    return {r["tablename"] for r in rows}


def test_packaged_migrations_are_found_in_order() -> None:
    names = [m.name for m in load_migrations()]
    assert names[0] == "0001_catalog"
    assert names == sorted(names)


async def test_migrate_creates_the_catalog_and_a_second_run_is_a_no_op(fresh_db: Database) -> None:
    # when
    first = await migrate(fresh_db)
    second = await migrate(fresh_db)
    # then
    assert first == [m.name for m in load_migrations()]
    assert second == []
    assert {"schema_migrations", "tenants", "metadata_versions", "metadata_drafts"} <= (
        await _tables(fresh_db)
    )
    recorded = await fresh_db.fetch("SELECT name FROM rapport.schema_migrations ORDER BY name")
    assert [r["name"] for r in recorded] == first


async def test_two_instances_migrating_at_once_apply_each_file_once(fresh_url: str) -> None:
    # given two app instances (separate pools) starting together
    one = await Database.connect(fresh_url, min_size=1, max_size=2)
    two = await Database.connect(fresh_url, min_size=1, max_size=2)
    try:
        # when both migrate concurrently
        applied_one, applied_two = await asyncio.gather(migrate(one), migrate(two))
        # then every file was applied by exactly one of them
        expected = [m.name for m in load_migrations()]
        assert sorted(applied_one + applied_two) == expected
        count = await one.fetchval("SELECT count(*) FROM rapport.schema_migrations")
        assert count == len(expected)
    finally:
        await one.close()
        await two.close()


async def test_a_failing_migration_leaves_nothing_of_itself(
    fresh_db: Database, tmp_path: Path
) -> None:
    # given a good migration and a bad one that fails after a change
    (tmp_path / "0001_first.sql").write_text(
        "CREATE SCHEMA IF NOT EXISTS rapport; CREATE TABLE rapport.first (id int);"
    )
    (tmp_path / "0002_bad.sql").write_text(
        "CREATE TABLE rapport.half (id int); SELECT * FROM rapport.no_such_table;"
    )
    (tmp_path / "README.md").write_text("not a migration")
    # when
    with pytest.raises(RapportError) as caught:
        await migrate(fresh_db, source=tmp_path)
    # then the first is applied and recorded; nothing of the second
    assert "0002_bad" in caught.value.message
    assert caught.value.hint
    tables = await _tables(fresh_db)
    assert "first" in tables
    assert "half" not in tables
    recorded = await fresh_db.fetch("SELECT name FROM rapport.schema_migrations")
    assert [r["name"] for r in recorded] == ["0001_first"]

    # and after the file is fixed, only it runs
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE rapport.half (id int);")
    assert await migrate(fresh_db, source=tmp_path) == ["0002_bad"]


def test_misnamed_or_duplicate_migration_files_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "1_first.sql").write_text("SELECT 1")
    with pytest.raises(ConfigurationError, match=r"NNNN_name\.sql"):
        load_migrations(tmp_path)
    (tmp_path / "1_first.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1")
    (tmp_path / "0001_b.sql").write_text("SELECT 1")
    with pytest.raises(ConfigurationError, match="share number 0001"):
        load_migrations(tmp_path)
