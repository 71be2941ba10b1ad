"""The shared fixtures of the plug-ins' acceptance tests (tests/plugin_fixtures.py): pytest finds
fixtures by name in this module, hence the star import."""

from tests.plugin_fixtures import *  # noqa: F403
