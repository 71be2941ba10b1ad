from __future__ import annotations

from pathlib import Path

import pytest

from rapport.errors import ConfigurationError
from rapport.settings import Environment, OtelExporter, Settings


def test_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = Settings.from_env({"RAPPORT_DATA_DIR": str(tmp_path)})
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url is None
    assert settings.graphiql is True
    assert len(settings.jwt_secret) == 64
    # the generated secret is kept, so tokens survive a restart
    assert Settings.from_env({"RAPPORT_DATA_DIR": str(tmp_path)}).jwt_secret == settings.jwt_secret


def test_production_requires_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="RAPPORT_JWT_SECRET"):
        Settings.from_env({"RAPPORT_ENV": "production", "RAPPORT_DATA_DIR": str(tmp_path)})


def test_bad_values_say_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="none, console, otlp"):
        Settings.from_env({"RAPPORT_OTEL_EXPORTER": "zipkin", "RAPPORT_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="not an integer"):
        Settings.from_env({"RAPPORT_PORT": "http", "RAPPORT_DATA_DIR": str(tmp_path)})
    assert (
        Settings.from_env(
            {"RAPPORT_OTEL_EXPORTER": "OTLP", "RAPPORT_DATA_DIR": str(tmp_path)}
        ).otel_exporter
        is OtelExporter.OTLP
    )
