from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rapport_org import plugin as org_plugin
from rapport_org.hooks import OrgHooks
from rapport_org.importer import ImportFailed, import_org, read_file

from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.graphql.executor import build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.lifecycle import load_published
from rapport.metadata.tenants import create_tenant
from rapport.plugins import build_registry
from rapport.plugins.lifecycle import install
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.principal import Principal

REGISTRY = build_registry([org_plugin])

ORG = {
    "departments": [
        {"externalId": "D-2", "name": "Sales East", "parent": "D-1"},  # parent further down
        {"externalId": "D-1", "name": "Sales"},
        {"externalId": "D-3", "name": "Sales East Key Accounts", "parent": "D-2"},
        {"externalId": "D-9", "name": "Finance"},
    ],
    "employees": [
        {"externalId": "E-2", "name": "Li Lei", "department": "D-2", "manager": "E-1"},
        {
            "externalId": "E-1",
            "name": "Han Meimei",
            "department": "D-1",
            "userId": "u-han",
            "hiredOn": "2020-03-01",
        },
        {"externalId": "E-3", "name": "Zhang Wei", "department": "D-3", "manager": "E-2"},
        {"externalId": "E-4", "name": "Wang Fang", "department": "D-9"},
    ],
}


async def _tenant(db: Database) -> str:
    slug = f"org_{secrets.token_hex(4)}"
    await create_tenant(db, slug, actor="test")
    await assign_plan(db, slug, "org", actor="test")
    await install(db, slug, "org", actor="test", registry=REGISTRY)
    return slug


@pytest.fixture(scope="module")
async def db(database: Database) -> AsyncIterator[Database]:
    await migrate(database)
    await put_plan(database, "org", ["org"])
    yield database


async def _names(db: Database, slug: str) -> list[tuple[str, str | None]]:
    rows = await db.fetch(
        f'SELECT e.name, m.name AS manager FROM "tenant_{slug}".org_employee AS e '
        f'LEFT JOIN "tenant_{slug}".org_employee AS m ON m.id = e.manager_id ORDER BY e.name'
    )
    return [(r["name"], r["manager"]) for r in rows]


async def test_an_import_creates_the_tree_and_resolves_forward_references(db: Database) -> None:
    # given
    slug = await _tenant(db)

    # when
    report = await import_org(db, slug, ORG, actor="hr-sync")

    # then
    assert report.applied
    assert report.counts == {
        "departments": {"created": 4, "updated": 0, "unchanged": 0},
        "employees": {"created": 4, "updated": 0, "unchanged": 0},
    }
    assert await _names(db, slug) == [
        ("Han Meimei", None),
        ("Li Lei", "Han Meimei"),
        ("Wang Fang", None),
        ("Zhang Wei", "Li Lei"),
    ]


async def test_reimport_is_unchanged_and_a_change_shows_its_diff(db: Database) -> None:
    # given an imported organisation
    slug = await _tenant(db)
    await import_org(db, slug, ORG, actor="hr-sync")

    # when the same data is imported again, then with one change, as a dry run
    again = await import_org(db, slug, ORG, actor="hr-sync")
    changed = json.loads(json.dumps(ORG))
    changed["employees"][3]["manager"] = "E-1"
    changed["employees"][3]["name"] = "Wang Fang (HR)"
    dry = await import_org(db, slug, changed, actor="hr-sync", dry_run=True)

    # then
    assert again.count("unchanged") == 8 and again.count("updated") == 0
    assert not dry.applied
    assert dry.count("updated") == 1
    (row,) = [r for r in dry.rows if r.action == "updated"]
    assert (row.section, row.row, row.external_id) == ("employees", 4, "E-4")
    assert row.changes["name"] == ("Wang Fang", "Wang Fang (HR)")
    assert "managerId" in row.changes
    assert ("Wang Fang", None) in await _names(db, slug)  # the dry run wrote nothing


async def test_errors_name_row_and_field_and_nothing_is_written(db: Database) -> None:
    # given rows with errors
    slug = await _tenant(db)
    bad = {
        "departments": [{"externalId": "D-1", "name": "Sales"}],
        "employees": [
            {"externalId": "E-1", "name": "Han Meimei", "department": "D-1"},
            {"externalId": "E-2", "name": "Li Lei", "hiredOn": "not a date"},
            {"externalId": "E-3", "name": "Zhang Wei", "department": "D-404"},
            {"name": "No Key"},
            {"externalId": "E-1", "name": "Twice"},
        ],
    }

    # when imported all-or-nothing
    with pytest.raises(ImportFailed) as failed:
        await import_org(db, slug, bad, actor="hr-sync")

    # then every error is listed and nothing was written
    found = {(e.section, e.row, e.field) for e in failed.value.row_errors}
    assert found == {
        ("employees", 2, "hiredOn"),
        ("employees", 3, "department"),
        ("employees", 4, "externalId"),
        ("employees", 5, "externalId"),
    }
    assert await _names(db, slug) == []

    # and with partial the good rows are written and the errors reported
    report = await import_org(db, slug, bad, actor="hr-sync", partial=True)
    assert report.applied and len(report.errors) == 4
    assert await _names(db, slug) == [("Han Meimei", None)]


def test_csv_and_json_files_are_read(tmp_path: Path) -> None:
    csv_file = tmp_path / "employees.csv"
    csv_file.write_text("externalId,name,hiredOn\nE-1,Han Meimei,2020-03-01\nE-2,Li Lei,\n")
    assert read_file(csv_file) == {
        "employees": [
            {"externalId": "E-1", "name": "Han Meimei", "hiredOn": "2020-03-01"},
            {"externalId": "E-2", "name": "Li Lei"},
        ]
    }
    json_file = tmp_path / "org.json"
    json_file.write_text(json.dumps(ORG))
    assert read_file(json_file) == ORG


async def test_the_user_attributes_cover_the_whole_organisation_below(db: Database) -> None:
    # given
    slug = await _tenant(db)
    await import_org(db, slug, ORG, actor="hr-sync")
    tenant = await get_tenant(db, slug)
    ids = {
        r["external_id"]: str(r["id"])
        for table in ("org_employee", "org_department")
        for r in await db.fetch(f'SELECT id, external_id FROM "tenant_{slug}".{table}')
    }
    han = Principal(tenant=slug, subject="u-han", roles=frozenset({"employee"}))
    nobody = Principal(tenant=slug, subject="u-none", roles=frozenset({"employee"}))

    # when
    async with db.transaction() as conn:
        attributes = await OrgHooks().principal_attributes(conn, tenant, han)
        empty = await OrgHooks().principal_attributes(conn, tenant, nobody)

    # then
    assert attributes == {
        "employee": ids["E-1"],
        "departments": sorted([ids["D-1"], ids["D-2"], ids["D-3"]]),
        "managedEmployees": sorted([ids["E-2"], ids["E-3"]]),
    }
    assert empty == {"employee": None, "departments": [], "managedEmployees": []}


@pytest.mark.slow
async def test_ten_thousand_rows_are_all_or_nothing(db: Database) -> None:
    # given 10,000 employees, the last one with an error
    slug = await _tenant(db)
    rows = [{"externalId": f"E-{i:05d}", "name": f"Employee {i}"} for i in range(10_000)]
    rows[-1]["hiredOn"] = "31/12/2020"

    # when
    with pytest.raises(ImportFailed) as failed:
        await import_org(db, slug, {"employees": rows}, actor="hr-sync")

    # then
    assert [(e.row, e.field) for e in failed.value.row_errors] == [(10_000, "hiredOn")]
    assert await db.fetchval(f'SELECT count(*) FROM "tenant_{slug}".org_employee') == 0


async def test_the_graphql_bulk_mutation_reports_like_the_cli(db: Database) -> None:
    # given the tenant's API
    slug = await _tenant(db)
    tenant, metadata = await load_published(db, slug)
    api = build_tenant_api(tenant, metadata, kernel=KERNEL)
    admin = Principal(tenant=slug, subject="hr-sync", roles=frozenset({"admin"}))
    mutation = "mutation($d: JSON!, $dry: Boolean) { importOrganisation(data: $d, dryRun: $dry) }"
    data = {"employees": [{"externalId": "E-1", "name": "Han"}, {"name": "no key"}]}

    # when
    outcome = await api.execute(
        db, GraphQLRequest(mutation, variables={"d": data, "dry": True}), admin
    )

    # then the dry run lists the change and the error, and wrote nothing
    report = json.loads(outcome.body)["data"]["importOrganisation"]
    assert report["applied"] is False
    assert report["counts"] == {"employees": {"created": 1, "updated": 0, "unchanged": 0}}
    assert report["errors"] == [
        {
            "section": "employees",
            "row": 2,
            "field": "externalId",
            "message": "every row needs an external id",
        }
    ]
    assert await _names(db, slug) == []
    # and a non-admin may not import
    other = Principal(tenant=slug, subject="x", roles=frozenset({"employee"}))
    refused = await api.execute(db, GraphQLRequest(mutation, variables={"d": data}), other)
    assert "Only tenant admins" in json.loads(refused.body)["errors"][0]["message"]
