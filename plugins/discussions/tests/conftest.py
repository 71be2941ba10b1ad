"""Rapport's own test fixtures (a real PostgreSQL, a fresh database per module) and its rule
that slow tests run only with RAPPORT_SLOW=1 (CI sets it)."""

from __future__ import annotations

from tests.conftest import database, database_url, pytest_collection_modifyitems, server_dsn

__all__ = ["database", "database_url", "pytest_collection_modifyitems", "server_dsn"]
