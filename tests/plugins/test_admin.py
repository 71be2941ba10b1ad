"""The plug-in fields of the admin API, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.tenants import create_tenant
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.settings import Settings
from tests.graphql.test_admin import call, data, error
from tests.live_server import LiveServer, server_settings

PLUGINS = "{ plugins { name version requires documents } }"
INSTALLED = "{ installedPlugins { name version availableVersion installedBy } }"
INSTALL = """
mutation($n: String!, $dry: Boolean! = false) {
  installPlugin(name: $n, dryRun: $dry) { plugin toVersion applied metadataVersion plan }
}
"""
UNINSTALL = """
mutation($n: String!) {
  uninstallPlugin(name: $n, archive: true) { plugin fromVersion applied archiveSchema }
}
"""


@pytest.fixture(scope="module")
async def tenant(database: Database) -> str:
    await migrate(database)
    await create_tenant(database, "padm", actor="test")
    await put_plan(database, "org-only", ["org"])
    await assign_plan(database, "padm", "org-only", actor="test")
    return "padm"


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
def server(settings: Settings, tenant: str) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def admin(settings: Settings, tenant: str) -> str:
    return issue_token(settings, tenant=tenant, subject="alice", roles=["admin"])


def test_list_install_and_uninstall_through_the_admin_api(server: LiveServer, admin: str) -> None:
    # given the available plug-ins
    available = {p["name"]: p for p in data(call(server, admin, PLUGINS))["plugins"]}
    assert available["complaints"]["requires"] == ["org>=1,<2"]
    assert "org/employee" in available["org"]["documents"]

    # when a dry run, then the install
    dry = data(call(server, admin, INSTALL, {"n": "org", "dry": True}))["installPlugin"]
    done = data(call(server, admin, INSTALL, {"n": "org"}))["installPlugin"]

    # then
    assert not dry["applied"]
    assert any("org_employee" in (s["sql"] or "") for s in dry["plan"])
    assert done["applied"] and done["toVersion"] == "1.0.0"
    installed = data(call(server, admin, INSTALLED))["installedPlugins"]
    assert installed == [
        {"name": "org", "version": "1.0.0", "availableVersion": "1.0.0", "installedBy": "alice"}
    ]
    # and the tenant's API serves the plug-in's entities at once
    employees = call(server, admin, "{ employees { totalCount } }", path="/graphql")
    assert data(employees) == {"employees": {"totalCount": 0}}
    # and the plan refuses what it does not include
    refused = error(call(server, admin, INSTALL, {"n": "complaints"}))
    assert refused["extensions"]["code"] == "PLUGIN_NOT_ALLOWED"

    # when uninstalled into an archive
    gone = data(call(server, admin, UNINSTALL, {"n": "org"}))["uninstallPlugin"]
    assert gone["applied"] and gone["archiveSchema"].startswith("archive_padm_org_")
    assert data(call(server, admin, INSTALLED))["installedPlugins"] == []
