from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rapport_org import plugin as org_plugin

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import (
    ConstraintViolation,
    MetadataInvalid,
    NotFound,
    PluginNotAllowed,
    ValidationFailed,
)
from rapport.metadata import lifecycle as metadata_lifecycle
from rapport.metadata.documents import documents_from_json
from rapport.metadata.tenants import create_tenant
from rapport.naming import qualified
from rapport.plugins import build_registry
from rapport.plugins.lifecycle import install, installed, uninstall, upgrade
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter
from tests.db.fingerprint import schema_fingerprint
from tests.plugins.fixtures import V1, V2, V2_BROKEN

ACTOR = "test:operator"
R1 = build_registry([org_plugin, V1])
R2 = build_registry([org_plugin, V2])
R2_BROKEN = build_registry([org_plugin, V2_BROKEN])


@pytest.fixture(scope="module")
async def db(database: Database) -> AsyncIterator[Database]:
    await migrate(database)
    await put_plan(database, "everything", ["org", "tplug"])
    await put_plan(database, "org-only", ["org"])
    yield database


async def _tenant(db: Database, plan: str | None = "everything") -> str:
    slug = f"pl_{secrets.token_hex(4)}"
    await create_tenant(db, slug, actor=ACTOR)
    if plan:
        await assign_plan(db, slug, plan, actor=ACTOR)
    return slug


async def _tables(db: Database, slug: str) -> set[str]:
    rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", f"tenant_{slug}")
    return {r["tablename"] for r in rows}


async def _people(db: Database, slug: str, names: list[tuple[str, str]]) -> None:
    tenant, metadata = await metadata_lifecycle.load_published(db, slug)
    writer = RecordWriter(
        tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    entity = metadata.model.entity("tplug/person")
    admin = Principal(tenant=slug, subject="u1", roles=frozenset({ADMIN_ROLE}))
    async with db.transaction() as conn:
        for first, last in names:
            await writer.create(
                conn, entity, {"firstName": first, "lastName": last}, principal=admin
            )


async def test_two_tenants_get_different_plugin_sets(db: Database) -> None:
    # given two tenants on different plans
    a = await _tenant(db, "everything")
    b = await _tenant(db, "org-only")

    # when a installs tplug and b installs org
    await install(db, a, "tplug", actor=ACTOR, registry=R1)
    await install(db, b, "org", actor=ACTOR, registry=R1)

    # then each has exactly its plug-in's tables and install rows
    assert "tplug_person" in await _tables(db, a)
    assert "org_employee" not in await _tables(db, a)
    assert {"org_employee", "org_department"} <= await _tables(db, b)
    assert "tplug_person" not in await _tables(db, b)
    assert [(p.name, p.version) for p in await installed(db, a)] == [("tplug", "1.0.0")]
    assert [(p.name, p.version) for p in await installed(db, b)] == [("org", "1.0.0")]
    # and b's plan does not allow tplug
    with pytest.raises(PluginNotAllowed):
        await install(db, b, "tplug", actor=ACTOR, registry=R1)


async def test_a_tenant_without_a_plan_may_install_nothing(db: Database) -> None:
    slug = await _tenant(db, plan=None)
    with pytest.raises(PluginNotAllowed, match="no subscription plan"):
        await install(db, slug, "org", actor=ACTOR, registry=R1)


async def test_install_dry_run_shows_the_plan_and_changes_nothing(db: Database) -> None:
    # given
    slug = await _tenant(db)
    before = await _tables(db, slug)

    # when
    change = await install(db, slug, "org", actor=ACTOR, registry=R1, dry_run=True)

    # then
    assert not change.applied
    assert any("org_employee" in (s.sql or "") for s in change.plan.steps)
    assert await _tables(db, slug) == before
    assert await installed(db, slug) == []


async def test_install_twice_and_unknown_plugins_are_refused(db: Database) -> None:
    slug = await _tenant(db)
    await install(db, slug, "tplug", actor=ACTOR, registry=R1)
    with pytest.raises(ConstraintViolation, match="already installed"):
        await install(db, slug, "tplug", actor=ACTOR, registry=R1)
    with pytest.raises(NotFound, match="no plug-in 'nope'"):
        await install(db, slug, "nope", actor=ACTOR, registry=R1)
    with pytest.raises(NotFound, match="not installed"):
        await upgrade(db, slug, "org", actor=ACTOR, participants=KERNEL.participants, registry=R1)


async def test_the_tenants_own_publish_keeps_installed_plugins(db: Database) -> None:
    # given a tenant with tplug installed
    slug = await _tenant(db)
    await install(db, slug, "tplug", actor=ACTOR, registry=R1)

    # when it publishes its own documents
    own = documents_from_json([{"$id": "acme/thing", "type": "object", "properties": {}}])
    await metadata_lifecycle.publish(db, slug, own, actor=ACTOR)

    # then the plug-in's table is still there, and export shows only the tenant's documents
    assert {"tplug_person", "acme_thing"} <= await _tables(db, slug)
    assert [d.id for d in await metadata_lifecycle.export(db, slug)] == ["acme/thing"]


async def test_upgrade_runs_the_data_migration_and_keeps_tenant_extensions(db: Database) -> None:
    # given tplug 1.0.0 with records, and a tenant extension adding a field to its person
    slug = await _tenant(db)
    await install(db, slug, "tplug", actor=ACTOR, registry=R1)
    extension = documents_from_json(
        [
            {
                "$id": "acme/person-extra",
                "x-extends": "tplug/person",
                "properties": {"nickname": {"type": "string"}},
            }
        ]
    )
    await metadata_lifecycle.publish(db, slug, extension, actor=ACTOR)
    await _people(db, slug, [("Ada", "Zhang"), ("Bo", "Li")])
    await db.execute(
        f"UPDATE {qualified(f'tenant_{slug}', 'tplug_person')} SET nickname = 'AZ' "
        "WHERE first_name = 'Ada'"
    )

    # when it is upgraded to 2.0.0
    change = await upgrade(
        db, slug, "tplug", actor=ACTOR, participants=KERNEL.participants, registry=R2
    )

    # then the metadata changed, the migration filled the new field, the extension survived
    assert change.upgrades_run == ("2.0.0",)
    assert (change.from_version, change.to_version) == ("1.0.0", "2.0.0")
    rows = await db.fetch(
        f"SELECT first_name, full_name, nickname FROM "
        f"{qualified(f'tenant_{slug}', 'tplug_person')} ORDER BY first_name"
    )
    assert [tuple(r) for r in rows] == [("Ada", "Ada Zhang", "AZ"), ("Bo", "Bo Li", None)]
    assert "tplug_note" in await _tables(db, slug)
    assert [(p.name, p.version) for p in await installed(db, slug)] == [("tplug", "2.0.0")]
    # and the tenant's own documents are still only its extension
    assert [d.id for d in await metadata_lifecycle.export(db, slug)] == ["acme/person-extra"]


async def test_a_failing_data_migration_rolls_the_whole_upgrade_back(db: Database) -> None:
    # given
    slug = await _tenant(db)
    await install(db, slug, "tplug", actor=ACTOR, registry=R1)
    await _people(db, slug, [("Ada", "Zhang")])
    version = (await metadata_lifecycle.versions(db, slug))[-1].version
    before = await schema_fingerprint(db, f"tenant_{slug}")

    # when
    with pytest.raises(RuntimeError, match="the data migration fails"):
        await upgrade(
            db, slug, "tplug", actor=ACTOR, participants=KERNEL.participants, registry=R2_BROKEN
        )

    # then nothing changed: schema, metadata version, install row
    assert await schema_fingerprint(db, f"tenant_{slug}") == before
    assert (await metadata_lifecycle.versions(db, slug))[-1].version == version
    assert [(p.name, p.version) for p in await installed(db, slug)] == [("tplug", "1.0.0")]


async def test_uninstall_to_an_archive_leaves_nothing_behind(db: Database) -> None:
    # given a tenant's schema before the install, then tplug 2.0.0 with data and an extension
    slug = await _tenant(db)
    schema = f"tenant_{slug}"
    pristine = await schema_fingerprint(db, schema)
    await install(db, slug, "tplug", actor=ACTOR, registry=R2)
    extension = documents_from_json(
        [
            {
                "$id": "acme/person-extra",
                "x-extends": "tplug/person",
                "properties": {"nickname": {"type": "string"}},
            }
        ]
    )
    await metadata_lifecycle.publish(db, slug, extension, actor=ACTOR)
    await _people(db, slug, [("Ada", "Zhang")])

    # when it is uninstalled into an archive
    change = await uninstall(db, slug, "tplug", actor=ACTOR, archive=True, registry=R2)

    # then the schema equals the one before the install; the data is in the archive schema
    assert await schema_fingerprint(db, schema) == pristine
    assert change.removed_extensions == ("acme/person-extra",)
    assert change.archive_schema is not None
    assert change.archive_schema.startswith(f"archive_{slug}_tplug_")
    archived = await db.fetch(
        f"SELECT first_name, nickname FROM {qualified(change.archive_schema, 'tplug_person')}"
    )
    assert [tuple(r) for r in archived] == [("Ada", None)]
    assert await installed(db, slug) == []
    _, metadata = await metadata_lifecycle.load_published(db, slug)
    assert not [d for d in metadata.documents if d.source == "plugin:tplug"]
    assert await metadata_lifecycle.export(db, slug) == ()


async def test_uninstall_with_export_writes_the_data_first(db: Database, tmp_path: Path) -> None:
    # given
    slug = await _tenant(db)
    pristine = await schema_fingerprint(db, f"tenant_{slug}")
    await install(db, slug, "tplug", actor=ACTOR, registry=R1)
    await _people(db, slug, [("Bo", "Li")])

    # when
    change = await uninstall(db, slug, "tplug", actor=ACTOR, export_to=tmp_path, registry=R1)

    # then
    rows = json.loads((tmp_path / "data" / "tplug_person.json").read_text())
    assert [(r["first_name"], r["last_name"]) for r in rows] == [("Bo", "Li")]
    assert (tmp_path / "metadata" / "tplug" / "person.json").is_file()
    assert tmp_path / "data" / "tplug_person.json" in change.exported
    assert await schema_fingerprint(db, f"tenant_{slug}") == pristine


async def test_uninstall_needs_a_choice_and_respects_dependants(db: Database) -> None:
    slug = await _tenant(db)
    await install(db, slug, "tplug", actor=ACTOR, registry=R1)
    with pytest.raises(ValidationFailed, match="choose how to keep the data"):
        await uninstall(db, slug, "tplug", actor=ACTOR, registry=R1)
    # a tenant document relating to the plug-in's entity blocks the uninstall, with the reason
    own = documents_from_json(
        [
            {
                "$id": "acme/thing",
                "type": "object",
                "properties": {
                    "person": {
                        "type": "string",
                        "format": "uuid",
                        "x-relation": {"entity": "tplug/person", "onDelete": "cascade"},
                    }
                },
            }
        ]
    )
    await metadata_lifecycle.publish(db, slug, own, actor=ACTOR)
    with pytest.raises(MetadataInvalid, match="tplug/person"):
        await uninstall(db, slug, "tplug", actor=ACTOR, archive=True, registry=R1)
    assert [p.name for p in await installed(db, slug)] == ["tplug"]
