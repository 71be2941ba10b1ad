-- Identity (issue 3): users per tenant, login sessions (refresh token families), revoked access
-- tokens, API keys and per-tenant security settings. Catalog tables with a tenant_id: tenant
-- admins manage them only through the API, never as entities they could edit freely.

CREATE TABLE rapport.users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    login         text        NOT NULL CHECK (login <> ''),
    display_name  text        NOT NULL DEFAULT '',
    -- argon2id (PHC string); NULL: the user cannot log in with a password (API/OIDC only).
    password_hash text,
    roles         text[]      NOT NULL DEFAULT '{}',
    -- $user.* attributes of the permission rules (the org plug-in adds more via a provider).
    attributes    jsonb       NOT NULL DEFAULT '{}',
    status        text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    -- Base32 TOTP secret: never returned by any API after enrolment.
    totp_secret   text,
    totp_enabled  boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Logins are unique per tenant regardless of case (Ada@x and ada@x are one person).
CREATE UNIQUE INDEX users_tenant_login ON rapport.users (tenant_id, lower(login));

-- One row per refresh token; a login starts a family, each refresh replaces the token with the
-- next one of its family. Presenting a used token again revokes the whole family (theft).
CREATE TABLE rapport.refresh_tokens (
    token_hash   bytea       PRIMARY KEY,  -- SHA-256 of the opaque token
    family       uuid        NOT NULL,
    user_id      uuid        NOT NULL REFERENCES rapport.users ON DELETE CASCADE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,     -- idle timeout
    session_ends timestamptz NOT NULL,     -- absolute timeout of the family
    used_at      timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX refresh_tokens_family ON rapport.refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON rapport.refresh_tokens (user_id);

-- Access tokens revoked before their exp (logout); rows past expires_at are pruned.
CREATE TABLE rapport.revoked_tokens (
    jti        text        PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rapport.api_keys (
    id           text        PRIMARY KEY,   -- the public part of rk_<id>_<secret>
    tenant_id    uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    name         text        NOT NULL,
    secret_hash  bytea       NOT NULL,      -- SHA-256 of the secret part
    roles        text[]      NOT NULL,
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_tenant ON rapport.api_keys (tenant_id);

CREATE TABLE rapport.tenant_security (
    tenant_id           uuid        PRIMARY KEY REFERENCES rapport.tenants ON DELETE CASCADE,
    totp_required_for_admins boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
