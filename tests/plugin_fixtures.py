"""The fixtures a bundled plug-in's acceptance tests share, as a partner's conftest would import
them: Rapport's own test fixtures (a real PostgreSQL, a fresh database per module), its rule that
slow tests run only with RAPPORT_SLOW=1 (CI sets it), and the live server (each test module
defines the ``erm`` tenant it serves)."""

from __future__ import annotations

from tests.conftest import (
    clean_redis,
    database,
    database_url,
    pytest_collection_modifyitems,
    redis_server_url,
    server_dsn,
)
from tests.erm_support import client, server, settings

__all__ = [
    "clean_redis",
    "client",
    "database",
    "database_url",
    "pytest_collection_modifyitems",
    "redis_server_url",
    "server",
    "server_dsn",
    "settings",
]
