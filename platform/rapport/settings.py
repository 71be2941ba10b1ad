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
| RAPPORT_REDIS_URL           | (embedded Redis in DATA_DIR)     | redis://… or unix://… for `rapport worker` |
| RAPPORT_JOB_MAX_TRIES       | 8                                | attempts of a job before it is failed    |
| RAPPORT_JOB_RETRY_SECONDS   | 2                                | first retry delay; doubles per attempt   |
| RAPPORT_JOB_TIMEOUT_SECONDS | 120                              | longest run of one job attempt           |
| RAPPORT_OUTBOX_SCAN_SECONDS | 5                                | dispatcher rescan of the outbox table    |
| RAPPORT_JOB_POLL_SECONDS    | 0.005                            | how often a worker asks Redis for jobs   |
| RAPPORT_TENANT_CACHE_SIZE   | 100                              | tenant APIs one app process keeps (LRU)  |
| RAPPORT_SMTP_HOST / _PORT   | (none) / 25                      | SMTP server of the email channel         |
| RAPPORT_SMTP_TLS            | none                             | none | starttls | tls                    |
| RAPPORT_SMTP_USER / _PASSWORD | (none)                         | SMTP login, when the server needs one    |
| RAPPORT_SMTP_FROM           | rapport@localhost                | From: of notification emails             |
| RAPPORT_MASTER_KEY          | generated into DATA_DIR          | base64 32-byte key wrapping data keys    |
| RAPPORT_MASTER_KEYS_PREVIOUS| (none)                           | comma-separated older master keys (rotation) |
| RAPPORT_AUDIT_SIGNING_KEY   | generated into DATA_DIR          | base64 32-byte Ed25519 seed (checkpoints)|
| RAPPORT_AUDIT_CHECKPOINT_INTERVAL | 1000                       | entries between automatic checkpoints    |
| RAPPORT_LOGIN_ACCESS_TTL_SECONDS | 900                         | access tokens issued by /auth/login      |
| RAPPORT_SESSION_IDLE_SECONDS | 1800                            | refresh token lifetime (idle timeout)    |
| RAPPORT_SESSION_ABSOLUTE_SECONDS | 43200                       | session lifetime however active          |
| RAPPORT_LOCKOUT_ATTEMPTS    | 5                                | failed logins before the account locks   |
| RAPPORT_LOCKOUT_SECONDS     | 900                              | how long a locked account stays locked   |
| RAPPORT_PASSWORD_MIN_LENGTH | 12                               | shortest accepted password               |
| RAPPORT_REVOCATION_CACHE_SECONDS | 2                           | how stale the revoked-token list may be  |
| RAPPORT_LOGIN_RATE_ADDRESS_PER_MINUTE / _BURST | 30 / 10       | /auth/login attempts per client address  |
| RAPPORT_LOGIN_RATE_LOGIN_PER_MINUTE / _BURST | 10 / 5          | /auth/login attempts per tenant+login    |
| RAPPORT_TRUSTED_PROXIES     | (none)                           | proxies whose X-Forwarded-For is believed |
| RAPPORT_OIDC_ISSUER         | (none: OIDC off)                 | `iss` of accepted RS256 tokens           |
| RAPPORT_OIDC_AUDIENCE       | (none)                           | required `aud` of OIDC tokens            |
| RAPPORT_OIDC_JWKS           | (none)                           | JWKS file path or http(s) URL            |
| RAPPORT_OIDC_USER_CLAIM / _ROLES_CLAIM / _TENANT_CLAIM | sub / roles / tenant | claim names     |
| RAPPORT_GRAPHQL_MAX_DEPTH   | 15                               | deepest field nesting of an operation    |
| RAPPORT_GRAPHQL_MAX_COST    | 250000                           | estimated cost (list sizes multiply)     |
| RAPPORT_GRAPHQL_MAX_ALIASES | 30                               | aliased fields per operation             |
| RAPPORT_GRAPHQL_MAX_BYTES   | 100000                           | longest operation text (UTF-8 bytes)     |
| RAPPORT_GRAPHQL_MAX_TOKENS  | 10000                            | most lexical tokens per operation        |
| RAPPORT_GRAPHQL_INTROSPECTION | off in production              | allow __schema / __type                  |
| RAPPORT_GRAPHQL_SUGGESTIONS | off in production                | "did you mean …" in validation errors    |
| RAPPORT_PERSISTED_OPERATIONS | (none: any operation)           | JSON file or folder of allowed operations |
| RAPPORT_PUBLIC_RATE_PER_MINUTE | 30                            | login-free /public/{tenant}/graphql requests per tenant and minute |
| RAPPORT_PUBLIC_BURST        | 10                               | requests a tenant's public bucket holds at once |
| RAPPORT_WECOM_API_BASE      | https://qyapi.weixin.qq.com      | WeCom server API (docs/wecom-dingtalk.md) |
| RAPPORT_WECOM_OAUTH_BASE    | https://open.weixin.qq.com       | WeCom OAuth authorize page               |
| RAPPORT_DINGTALK_API_BASE   | https://api.dingtalk.com         | DingTalk new server API (tokens, users/me) |
| RAPPORT_DINGTALK_OAPI_BASE  | https://oapi.dingtalk.com        | DingTalk topapi (messages, directory)    |
| RAPPORT_DINGTALK_LOGIN_BASE | https://login.dingtalk.com       | DingTalk OAuth authorize page            |
| RAPPORT_IM_LOGIN_STATE_SECONDS | 600                           | how long an H5 login `state` is valid    |
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import TypeVar

from rapport.errors import ConfigurationError

__all__ = [
    "Environment",
    "GraphQLLimitSettings",
    "IdentitySettings",
    "ImSettings",
    "OtelExporter",
    "Settings",
    "SmtpTls",
]

E = TypeVar("E", bound=StrEnum)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


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


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigurationError(
            f"Setting {name}={raw!r} is not a positive number.",
            hint=f"Set {name} to a number of seconds above 0, e.g. 2 or 0.5.",
        )
    return value


def _optional_bool(env: Mapping[str, str], name: str) -> bool | None:
    """A boolean setting, or None when it is not set (its default depends on other settings)."""
    if not env.get(name):
        return None
    return _bool(env, name, False)


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
class IdentitySettings:
    """Login sessions, lockout, password policy and the optional OIDC issuer."""

    login_access_ttl_seconds: int = 900
    session_idle_seconds: int = 1800
    session_absolute_seconds: int = 43200
    lockout_attempts: int = 5
    lockout_seconds: int = 900
    password_min_length: int = 12
    revocation_cache_seconds: float = 2.0
    # Login throttling (token buckets): per client address and per (tenant, login).
    login_rate_address_per_minute: int = 30
    login_rate_address_burst: int = 10
    login_rate_login_per_minute: int = 10
    login_rate_login_burst: int = 5
    # Proxies whose X-Forwarded-For is believed (RAPPORT_TRUSTED_PROXIES); none by default.
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks: str | None = None
    oidc_user_claim: str = "sub"
    oidc_roles_claim: str = "roles"
    oidc_tenant_claim: str = "tenant"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IdentitySettings:
        issuer = env.get("RAPPORT_OIDC_ISSUER") or None
        jwks = env.get("RAPPORT_OIDC_JWKS") or None
        if issuer is not None and jwks is None:
            raise ConfigurationError(
                "RAPPORT_OIDC_ISSUER is set but RAPPORT_OIDC_JWKS is not.",
                hint="Set RAPPORT_OIDC_JWKS to the issuer's JWKS file path or https URL.",
            )
        return cls(
            login_access_ttl_seconds=_int(env, "RAPPORT_LOGIN_ACCESS_TTL_SECONDS", 900),
            session_idle_seconds=_int(env, "RAPPORT_SESSION_IDLE_SECONDS", 1800),
            session_absolute_seconds=_int(env, "RAPPORT_SESSION_ABSOLUTE_SECONDS", 43200),
            lockout_attempts=_int(env, "RAPPORT_LOCKOUT_ATTEMPTS", 5),
            lockout_seconds=_int(env, "RAPPORT_LOCKOUT_SECONDS", 900),
            password_min_length=_int(env, "RAPPORT_PASSWORD_MIN_LENGTH", 12, minimum=8),
            revocation_cache_seconds=_float(env, "RAPPORT_REVOCATION_CACHE_SECONDS", 2.0),
            login_rate_address_per_minute=_int(env, "RAPPORT_LOGIN_RATE_ADDRESS_PER_MINUTE", 30),
            login_rate_address_burst=_int(env, "RAPPORT_LOGIN_RATE_ADDRESS_BURST", 10),
            login_rate_login_per_minute=_int(env, "RAPPORT_LOGIN_RATE_LOGIN_PER_MINUTE", 10),
            login_rate_login_burst=_int(env, "RAPPORT_LOGIN_RATE_LOGIN_BURST", 5),
            trusted_proxies=_networks(env, "RAPPORT_TRUSTED_PROXIES"),
            oidc_issuer=issuer,
            oidc_audience=env.get("RAPPORT_OIDC_AUDIENCE") or None,
            oidc_jwks=jwks,
            oidc_user_claim=env.get("RAPPORT_OIDC_USER_CLAIM") or "sub",
            oidc_roles_claim=env.get("RAPPORT_OIDC_ROLES_CLAIM") or "roles",
            oidc_tenant_claim=env.get("RAPPORT_OIDC_TENANT_CLAIM") or "tenant",
        )


@dataclass(frozen=True, slots=True)
class GraphQLLimitSettings:
    """Limits every GraphQL operation is validated against (once per query text)."""

    max_depth: int = 15
    max_cost: int = 250_000
    max_aliases: int = 30
    max_bytes: int = 100_000
    max_tokens: int = 10_000
    # None: follow the environment (off in production); see for_environment.
    introspection: bool | None = None
    suggestions: bool | None = None
    persisted_operations: Path | None = None

    def for_environment(self, production: bool) -> GraphQLLimitSettings:
        """These limits with introspection and suggestions decided (off in production unless
        set explicitly)."""
        return replace(
            self,
            introspection=not production if self.introspection is None else self.introspection,
            suggestions=not production if self.suggestions is None else self.suggestions,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GraphQLLimitSettings:
        persisted = env.get("RAPPORT_PERSISTED_OPERATIONS") or None
        return cls(
            max_depth=_int(env, "RAPPORT_GRAPHQL_MAX_DEPTH", 15),
            max_cost=_int(env, "RAPPORT_GRAPHQL_MAX_COST", 250_000),
            max_aliases=_int(env, "RAPPORT_GRAPHQL_MAX_ALIASES", 30, minimum=0),
            max_bytes=_int(env, "RAPPORT_GRAPHQL_MAX_BYTES", 100_000),
            max_tokens=_int(env, "RAPPORT_GRAPHQL_MAX_TOKENS", 10_000),
            introspection=_optional_bool(env, "RAPPORT_GRAPHQL_INTROSPECTION"),
            suggestions=_optional_bool(env, "RAPPORT_GRAPHQL_SUGGESTIONS"),
            persisted_operations=None if persisted is None else Path(persisted).expanduser(),
        )


@dataclass(frozen=True, slots=True)
class ImSettings:
    """Where the WeCom and DingTalk server APIs live (tests point them at local servers)."""

    wecom_api: str = "https://qyapi.weixin.qq.com"
    wecom_oauth: str = "https://open.weixin.qq.com"
    dingtalk_api: str = "https://api.dingtalk.com"
    dingtalk_oapi: str = "https://oapi.dingtalk.com"
    dingtalk_login: str = "https://login.dingtalk.com"
    login_state_seconds: int = 600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ImSettings:
        default = cls()

        def base(name: str, fallback: str) -> str:
            return (env.get(name) or fallback).rstrip("/")

        return cls(
            wecom_api=base("RAPPORT_WECOM_API_BASE", default.wecom_api),
            wecom_oauth=base("RAPPORT_WECOM_OAUTH_BASE", default.wecom_oauth),
            dingtalk_api=base("RAPPORT_DINGTALK_API_BASE", default.dingtalk_api),
            dingtalk_oapi=base("RAPPORT_DINGTALK_OAPI_BASE", default.dingtalk_oapi),
            dingtalk_login=base("RAPPORT_DINGTALK_LOGIN_BASE", default.dingtalk_login),
            login_state_seconds=_int(env, "RAPPORT_IM_LOGIN_STATE_SECONDS", 600),
        )


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
    # Envelope encryption (rapport.crypto.keys): the current master key first, then older ones
    # still accepted for unwrapping while `rapport keys rotate` re-wraps data keys.
    master_keys: tuple[bytes, ...] = ()
    audit_signing_key: bytes = b""
    audit_checkpoint_interval: int = 1000
    # Background jobs (rapport.jobs): None = the embedded Redis in the data directory.
    redis_url: str | None = None
    job_max_tries: int = 8
    job_retry_seconds: float = 2.0
    job_timeout_seconds: int = 120
    outbox_scan_seconds: float = 5.0
    # A job waits half of this on average between its enqueue and its start, per hop (an
    # event's webhook takes two hops); a poll is one cheap Redis call.
    job_poll_seconds: float = 0.005
    # Tenant APIs one app process keeps compiled (rapport.runtime): least recently used first out.
    tenant_cache_size: int = 100
    # The email channel (rapport.notify.email); no host = email notifications are refused.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: SmtpTls = SmtpTls.NONE
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "rapport@localhost"
    # Users, sessions, lockout and OIDC (rapport.auth); GraphQL limits (rapport.graphql.limits).
    identity: IdentitySettings = field(default_factory=lambda: IdentitySettings.from_env({}))
    graphql_limits: GraphQLLimitSettings = field(default_factory=GraphQLLimitSettings)
    # The login-free anonymous endpoint (rapport.graphql.public): a token bucket per tenant.
    public_rate_per_minute: int = 30
    public_burst: int = 10
    # WeCom and DingTalk apps (rapport.im): the platforms' API base URLs.
    im: ImSettings = field(default_factory=ImSettings)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def query_limits(self) -> GraphQLLimitSettings:
        """The GraphQL limits with introspection and suggestions decided for this environment."""
        return self.graphql_limits.for_environment(self.is_production)

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
            master_keys=_master_keys(env, environment, data_dir),
            audit_signing_key=_key_setting(
                env, "RAPPORT_AUDIT_SIGNING_KEY", environment, data_dir / "audit-signing-key"
            ),
            audit_checkpoint_interval=_int(env, "RAPPORT_AUDIT_CHECKPOINT_INTERVAL", 1000),
            redis_url=env.get("RAPPORT_REDIS_URL") or None,
            job_max_tries=_int(env, "RAPPORT_JOB_MAX_TRIES", 8),
            job_retry_seconds=_float(env, "RAPPORT_JOB_RETRY_SECONDS", 2.0),
            job_timeout_seconds=_int(env, "RAPPORT_JOB_TIMEOUT_SECONDS", 120),
            outbox_scan_seconds=_float(env, "RAPPORT_OUTBOX_SCAN_SECONDS", 5.0),
            job_poll_seconds=_float(env, "RAPPORT_JOB_POLL_SECONDS", 0.005),
            tenant_cache_size=_int(env, "RAPPORT_TENANT_CACHE_SIZE", 100),
            smtp_host=env.get("RAPPORT_SMTP_HOST") or None,
            smtp_port=_int(env, "RAPPORT_SMTP_PORT", 25),
            smtp_tls=_choice(env, "RAPPORT_SMTP_TLS", SmtpTls, SmtpTls.NONE),
            smtp_user=env.get("RAPPORT_SMTP_USER") or None,
            smtp_password=env.get("RAPPORT_SMTP_PASSWORD") or None,
            smtp_from=env.get("RAPPORT_SMTP_FROM") or "rapport@localhost",
            identity=IdentitySettings.from_env(env),
            graphql_limits=GraphQLLimitSettings.from_env(env),
            public_rate_per_minute=_int(env, "RAPPORT_PUBLIC_RATE_PER_MINUTE", 30),
            public_burst=_int(env, "RAPPORT_PUBLIC_BURST", 10),
            im=ImSettings.from_env(env),
        )


def _key_bytes(name: str, raw: str) -> bytes:
    try:
        value = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != 32:
        raise ConfigurationError(
            f"Setting {name} is not 32 bytes in base64.",
            hint=f"Generate one with `openssl rand -base64 32` and set {name} to it.",
        )
    return value


def _key_setting(env: Mapping[str, str], name: str, environment: Environment, path: Path) -> bytes:
    """A 32-byte key from ``name``; in development a generated one kept in the data dir."""
    raw = env.get(name) or ""
    if not raw:
        if environment is Environment.PRODUCTION:
            raise ConfigurationError(
                f"{name} is missing, and production has no default.",
                hint=f"Set {name} to 32 random bytes in base64 (`openssl rand -base64 32`).",
            )
        raw = _generated_secret(path, lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    return _key_bytes(name, raw)


def _networks(env: Mapping[str, str], name: str) -> tuple[IPv4Network | IPv6Network, ...]:
    networks = []
    for part in (env.get(name) or "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ip_network(part.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"Setting {name} lists {part.strip()!r}, which is no IP address or network.",
                hint=f"Set {name} to comma-separated addresses or CIDRs, e.g. 10.0.0.0/8,::1.",
            ) from None
    return tuple(networks)


def _master_keys(
    env: Mapping[str, str], environment: Environment, data_dir: Path
) -> tuple[bytes, ...]:
    current = _key_setting(env, "RAPPORT_MASTER_KEY", environment, data_dir / "master-key")
    previous = [
        _key_bytes("RAPPORT_MASTER_KEYS_PREVIOUS", part)
        for part in (env.get("RAPPORT_MASTER_KEYS_PREVIOUS") or "").split(",")
        if part.strip()
    ]
    return (current, *(key for key in previous if key != current))


def _generated_secret(
    path: Path, generate: Callable[[], str] = lambda: secrets.token_hex(32)
) -> str:
    """A signing key kept in the data directory, so tokens survive a restart in development."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = generate()
    # O_EXCL: when two processes race, the loser reads the winner's key instead of overwriting it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
