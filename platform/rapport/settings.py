"""Typed settings, read once from the environment.

This module is the only reader of ``os.environ`` in Rapport. Every setting has an embedded
default so that ``rapport serve`` works on a bare machine; production deployments set
``RAPPORT_ENV=production`` and must then provide the secrets explicitly.

| variable                    | default                          | meaning                                  |
|-----------------------------|----------------------------------|------------------------------------------|
| RAPPORT_ENV                 | development                      | development | test | production          |
| RAPPORT_DATA_DIR            | ./.rapport                       | embedded PostgreSQL, generated secrets   |
| RAPPORT_DATABASE_URL        | (embedded PostgreSQL)            | postgresql://… of a PostgreSQL >= 15     |
| RAPPORT_DATABASE_POOL_SIZE  | 10                               | connections per process                  |
| RAPPORT_JWT_SECRET          | generated into DATA_DIR          | HS256 signing key for access tokens      |
| RAPPORT_JWT_TTL_SECONDS     | 3600                             | lifetime of issued tokens                |
| RAPPORT_HOST / RAPPORT_PORT | 127.0.0.1 / 8000                 | where `rapport serve` listens            |
| RAPPORT_OTEL_EXPORTER       | none                             | none | console | otlp                    |
| RAPPORT_OTEL_ENDPOINT       | http://127.0.0.1:4318/v1/traces  | OTLP/HTTP traces endpoint                |
| RAPPORT_GRAPHIQL            | on in development                | serve GraphiQL on GET /graphql           |
| RAPPORT_DEMO_TENANT         | demo                             | tenant `rapport serve --demo` creates    |
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from rapport.errors import ConfigurationError

__all__ = ["Environment", "OtelExporter", "Settings"]

E = TypeVar("E", bound=StrEnum)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class OtelExporter(StrEnum):
    NONE = "none"
    CONSOLE = "console"
    OTLP = "otlp"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(
        f"Setting {name}={raw!r} is not a boolean.", hint="Use one of: true, false, 1, 0."
    )


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"Setting {name}={raw!r} is not an integer.", hint=f"Set {name} to a whole number."
        ) from None
    if value < minimum:
        raise ConfigurationError(
            f"Setting {name}={value} is below {minimum}.", hint=f"Set {name} to at least {minimum}."
        )
    return value


def _choice(env: Mapping[str, str], name: str, enum: type[E], default: E) -> E:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return enum(raw.lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ConfigurationError(
            f"Setting {name}={raw!r} is not recognised.", hint=f"Use one of: {allowed}."
        ) from None


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment
    data_dir: Path
    database_url: str | None
    database_pool_size: int
    jwt_secret: str
    jwt_ttl_seconds: int
    host: str
    port: int
    otel_exporter: OtelExporter
    otel_endpoint: str
    graphiql: bool
    demo_tenant: str

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = _choice(env, "RAPPORT_ENV", Environment, Environment.DEVELOPMENT)
        data_dir = Path(env.get("RAPPORT_DATA_DIR") or ".rapport").expanduser().resolve()
        jwt_secret = env.get("RAPPORT_JWT_SECRET") or ""
        if not jwt_secret:
            if environment is Environment.PRODUCTION:
                raise ConfigurationError(
                    "RAPPORT_JWT_SECRET is missing, and production has no default.",
                    hint="Set RAPPORT_JWT_SECRET to at least 32 random bytes (e.g. `openssl rand "
                    "-hex 32`).",
                )
            jwt_secret = _generated_secret(data_dir / "jwt-secret")
        return cls(
            environment=environment,
            data_dir=data_dir,
            database_url=env.get("RAPPORT_DATABASE_URL") or None,
            database_pool_size=_int(env, "RAPPORT_DATABASE_POOL_SIZE", 10),
            jwt_secret=jwt_secret,
            jwt_ttl_seconds=_int(env, "RAPPORT_JWT_TTL_SECONDS", 3600),
            host=env.get("RAPPORT_HOST") or "127.0.0.1",
            port=_int(env, "RAPPORT_PORT", 8000, minimum=0),
            otel_exporter=_choice(env, "RAPPORT_OTEL_EXPORTER", OtelExporter, OtelExporter.NONE),
            otel_endpoint=env.get("RAPPORT_OTEL_ENDPOINT") or "http://127.0.0.1:4318/v1/traces",
            graphiql=_bool(env, "RAPPORT_GRAPHIQL", environment is Environment.DEVELOPMENT),
            demo_tenant=env.get("RAPPORT_DEMO_TENANT") or "demo",
        )


def _generated_secret(path: Path) -> str:
    """A signing key kept in the data directory, so tokens survive a restart in development."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: when two processes race, the loser reads the winner's key instead of overwriting it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
