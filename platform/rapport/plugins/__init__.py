"""Plug-ins: the SDK partners write against, and their life in a tenant (DESIGN.md D10).

A plug-in package exposes ``plugin = PluginSpec(...)`` under the entry-point group
``rapport.plugins``; :func:`installed_registry` validates every installed one at start-up.
The partner guide is ``docs/plugins.md``.
"""

from __future__ import annotations

from rapport.plugins.loader import ENTRY_POINT_GROUP, build_registry, installed_registry
from rapport.plugins.registry import LoadedPlugin, Registry
from rapport.plugins.spec import Hooks, PluginSpec, UpgradeContext, UpgradeStep

__all__ = [
    "ENTRY_POINT_GROUP",
    "Hooks",
    "LoadedPlugin",
    "PluginSpec",
    "Registry",
    "UpgradeContext",
    "UpgradeStep",
    "build_registry",
    "installed_registry",
]
