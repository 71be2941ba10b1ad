"""`rapport plugin ...` as a subprocess against the module's test database."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import env, failed, ok

__all__ = ["env"]  # the fixture, shared with the kernel's CLI tests


def test_list_shows_the_available_plugins_with_versions(env: dict[str, str]) -> None:
    out = ok(env, "plugin", "list")
    # (columns are as wide as the longest name, which grows with the bundled plug-ins)
    assert re.search(r"^org +1\.0\.0", out, re.M)
    assert re.search(r"^complaints +1\.0\.0 +org>=1,<2", out, re.M)


def test_a_tenant_gets_a_plugin_only_through_its_plan(env: dict[str, str], tmp_path: Path) -> None:
    # given a tenant without a plan
    ok(env, "tenant", "create", "plugcli")

    # when it installs org, it is refused with the operator's command as the hint
    refused = failed(env, "plugin", "install", "--tenant", "plugcli", "org")
    assert "no subscription plan" in refused
    assert "rapport plugin plans assign --tenant plugcli PLAN" in refused

    # when the operator assigns a plan, a dry run shows the plan and installs nothing
    ok(env, "plugin", "plans", "put", "erm", "org", "complaints")
    ok(env, "plugin", "plans", "assign", "--tenant", "plugcli", "erm")
    dry = ok(env, "plugin", "install", "--tenant", "plugcli", "org", "--dry-run")
    assert 'CREATE TABLE "tenant_plugcli"."org_employee"' in dry
    assert "dry run: nothing changed" in dry
    assert "org" not in ok(env, "plugin", "list", "--tenant", "plugcli")

    # then install, list, and uninstall into an archive
    installed = ok(env, "plugin", "install", "--tenant", "plugcli", "org")
    assert "installed org 1.0.0 in tenant plugcli" in installed
    assert "org   1.0.0" in ok(env, "plugin", "list", "--tenant", "plugcli")
    assert "erm   complaints, org  plugcli" in ok(env, "plugin", "plans", "list")
    needs_choice = failed(env, "plugin", "uninstall", "--tenant", "plugcli", "org")
    assert "--archive" in needs_choice
    out = ok(env, "plugin", "uninstall", "--tenant", "plugcli", "org", "--export", tmp_path)
    assert "uninstalled org 1.0.0 in tenant plugcli" in out
    assert (tmp_path / "data" / "org_employee.json").read_text() == "[]\n"


def test_new_creates_a_package_folder(env: dict[str, str], tmp_path: Path) -> None:
    out = ok(env, "plugin", "new", "surveys", "--dir", tmp_path)
    assert (tmp_path / "surveys" / "pyproject.toml").is_file()
    assert "created plug-in surveys" in out
    assert "already exists" in failed(env, "plugin", "new", "surveys", "--dir", tmp_path)
    assert "not a valid plug-in name" in failed(env, "plugin", "new", "Bad-Name", "--dir", tmp_path)


def test_org_import_dry_run_then_import(env: dict[str, str], tmp_path: Path) -> None:
    # given a tenant with org installed and a CSV export of an HR system
    ok(env, "tenant", "create", "orgcli")
    ok(env, "plugin", "plans", "put", "orgplan", "org")
    ok(env, "plugin", "plans", "assign", "--tenant", "orgcli", "orgplan")
    ok(env, "plugin", "install", "--tenant", "orgcli", "org")
    csv_file = tmp_path / "employees.csv"
    csv_file.write_text("externalId,name,hiredOn\nE-1,Han Meimei,2020-03-01\nE-2,Li Lei,bad\n")

    # when / then: all-or-nothing refuses, naming row and field
    refused = failed(env, "org", "import", "--tenant", "orgcli", csv_file)
    assert "employees row 2, field hiredOn" in refused
    dry = ok(env, "org", "import", "--tenant", "orgcli", csv_file, "--dry-run", "--partial")
    assert "created employees row 1 (E-1)" in dry
    assert "dry run: nothing was written" in dry
    out = ok(env, "org", "import", "--tenant", "orgcli", csv_file, "--partial")
    assert "employees: 1 created, 0 updated, 0 unchanged" in out
    assert "error: employees row 2, field hiredOn" in out
