"""The plug-in validates as Rapport validates it at start-up, and is discovered when installed."""

from __future__ import annotations

from rapport_org import plugin as org_plugin
from rapport_surveys import plugin

from rapport.plugins import build_registry
from rapport.plugins.loader import discover


def test_the_plugin_is_valid_and_ships_its_documents() -> None:
    registry = build_registry([org_plugin, plugin])
    ids = {d.id for d in registry.get("surveys").documents}
    assert {
        "surveys/survey",
        "surveys/campaign",
        "surveys/wave",
        "surveys/participation",
        "surveys/response",
        "surveys/action_plan",
        "surveys/wave-flow",
        "surveys/participation-flow",
        "surveys/anonymous-response",
    } <= ids


def test_rapport_discovers_the_installed_package() -> None:
    specs, problems = discover()
    assert problems == []
    assert "surveys" in {s.name for s in specs}
