"""Rapport's own test fixtures (a real PostgreSQL, a fresh database per module), its rule that
slow tests run only with RAPPORT_SLOW=1 (CI sets it), and the live server of the acceptance
tests (each module defines the ``erm`` tenant it serves)."""

from __future__ import annotations

from tests.conftest import database, database_url, pytest_collection_modifyitems, server_dsn
from tests.erm_support import client, server, settings

__all__ = [
    "client",
    "database",
    "database_url",
    "pytest_collection_modifyitems",
    "server",
    "server_dsn",
    "settings",
]
