"""The plug-in validates as Rapport validates it at start-up, and is discovered when installed."""

from __future__ import annotations

from rapport_exits import plugin
from rapport_org import plugin as org_plugin

from rapport.plugins import build_registry
from rapport.plugins.loader import discover


def test_the_plugin_is_valid_and_ships_its_documents() -> None:
    registry = build_registry([org_plugin, plugin])
    ids = {d.id for d in registry.get("exits").documents}
    assert {
        "exits/separation",
        "exits/interview",
        "exits/separation-flow",
        "exits/questionnaire",
    } <= ids


def test_rapport_discovers_the_installed_package() -> None:
    specs, problems = discover()
    assert problems == []
    assert "exits" in {s.name for s in specs}
