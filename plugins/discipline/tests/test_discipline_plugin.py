"""The plug-in validates as Rapport validates it at start-up, and is discovered when installed."""

from __future__ import annotations

from rapport_discipline import plugin
from rapport_exits import plugin as exits_plugin
from rapport_org import plugin as org_plugin

from rapport.plugins import build_registry
from rapport.plugins.loader import discover


def test_the_plugin_is_valid_and_ships_its_documents() -> None:
    registry = build_registry([org_plugin, exits_plugin, plugin])
    ids = {d.id for d in registry.get("discipline").documents}
    assert {
        "discipline/handbook_rule",
        "discipline/disciplinary_case",
        "discipline/case-flow",
    } <= ids


def test_rapport_discovers_the_installed_package() -> None:
    specs, problems = discover()
    assert problems == []
    assert "discipline" in {s.name for s in specs}
