from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import drop_tenant, get_tenant, list_tenants
from rapport.errors import ConstraintViolation, TenantNotFound, ValidationFailed
from rapport.metadata.documents import kernel_documents
from rapport.metadata.lifecycle import export, versions
from rapport.metadata.tenants import create_tenant
from rapport.naming import table_name


@pytest.fixture(scope="module")
async def catalog(database: Database) -> AsyncIterator[Database]:
    await migrate(database)
    yield database


def _slug() -> str:
    return f"t_{secrets.token_hex(4)}"


async def _schema_exists(db: Database, schema: str) -> bool:
    return bool(
        await db.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema)
    )


async def _tables(db: Database, schema: str) -> set[str]:
    rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    return {r["tablename"] for r in rows}


async def test_create_tenant_builds_the_kernel_tables_as_version_1(catalog: Database) -> None:
    # when
    slug = _slug()
    tenant = await create_tenant(catalog, slug, "Acme Corp", actor="alice")
    # then
    assert tenant.slug == slug
    assert tenant.name == "Acme Corp"
    assert tenant.schema == f"tenant_{slug}"
    assert tenant.metadata_version == 1
    kernel_tables = {table_name(d.id) for d in kernel_documents()}
    assert kernel_tables
    assert await _tables(catalog, tenant.schema) == kernel_tables
    history = await versions(catalog, slug)
    assert [(v.version, v.published_by, v.note) for v in history] == [
        (1, "alice", "tenant created")
    ]
    assert history[0].steps > 0
    assert not history[0].destructive
    assert await export(catalog, slug) == ()
    assert await get_tenant(catalog, slug) == tenant


async def test_name_defaults_to_the_slug(catalog: Database) -> None:
    slug = _slug()
    assert (await create_tenant(catalog, slug)).name == slug


async def test_duplicate_slug_is_a_constraint_violation(catalog: Database) -> None:
    slug = _slug()
    await create_tenant(catalog, slug)
    with pytest.raises(ConstraintViolation) as caught:
        await create_tenant(catalog, slug)
    assert caught.value.code == "CONSTRAINT_VIOLATION"
    assert slug in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize("slug", ["", "A", "Acme", "1acme", "acme-corp", "a", "x" * 41, "a b"])
async def test_invalid_slug_is_rejected_with_a_hint(catalog: Database, slug: str) -> None:
    before = len(await list_tenants(catalog))
    with pytest.raises(ValidationFailed) as caught:
        await create_tenant(catalog, slug)
    assert caught.value.code == "VALIDATION_FAILED"
    assert "lowercase" in caught.value.hint
    assert caught.value.path == ("slug",)
    assert len(await list_tenants(catalog)) == before


async def test_unknown_tenant_is_tenant_not_found_with_a_hint(catalog: Database) -> None:
    with pytest.raises(TenantNotFound) as caught:
        await get_tenant(catalog, "nobody_here")
    assert caught.value.code == "TENANT_NOT_FOUND"
    assert "rapport tenant create nobody_here" in caught.value.hint


async def test_a_failed_creation_leaves_nothing(catalog: Database) -> None:
    # given a schema of the tenant's name left behind outside Rapport
    slug = _slug()
    schema = f"tenant_{slug}"
    await catalog.execute(f'CREATE SCHEMA "{schema}"')
    try:
        # when
        with pytest.raises(ConstraintViolation) as caught:
            await create_tenant(catalog, slug)
        # then no catalog row was left, and the stray schema is untouched and empty
        assert "DROP SCHEMA" in caught.value.hint
        with pytest.raises(TenantNotFound):
            await get_tenant(catalog, slug)
        assert await _tables(catalog, schema) == set()
    finally:
        await catalog.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def test_creation_inside_a_rolled_back_transaction_leaves_nothing(
    catalog: Database,
) -> None:
    slug = _slug()

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with catalog.transaction() as conn:
            await create_tenant(conn, slug)
            assert (await get_tenant(conn, slug)).metadata_version == 1
            raise Abort
    with pytest.raises(TenantNotFound):
        await get_tenant(catalog, slug)
    assert not await _schema_exists(catalog, f"tenant_{slug}")


async def test_list_tenants_is_sorted_by_slug(catalog: Database) -> None:
    slugs = [f"list_{secrets.token_hex(3)}_{n}" for n in ("b", "a")]
    for slug in slugs:
        await create_tenant(catalog, slug)
    listed = [t.slug for t in await list_tenants(catalog)]
    assert listed == sorted(listed)
    assert set(slugs) <= set(listed)


async def test_drop_tenant_removes_schema_and_catalog_rows(catalog: Database) -> None:
    # given
    slug = _slug()
    tenant = await create_tenant(catalog, slug)
    # when
    await drop_tenant(catalog, slug)
    # then
    assert not await _schema_exists(catalog, tenant.schema)
    with pytest.raises(TenantNotFound):
        await get_tenant(catalog, slug)
    left = await catalog.fetchval(
        "SELECT count(*) FROM rapport.metadata_versions WHERE tenant_id = $1::uuid", tenant.id
    )
    assert left == 0
    # and the slug can be used again
    assert (await create_tenant(catalog, slug)).metadata_version == 1


async def test_drop_unknown_tenant_is_tenant_not_found(catalog: Database) -> None:
    with pytest.raises(TenantNotFound):
        await drop_tenant(catalog, "never_existed")
