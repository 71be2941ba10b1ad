-- WeCom (企业微信) and DingTalk (钉钉) apps (issue 14): per-tenant app configuration, the shared
-- access-token cache, platform accounts mapped to Rapport users, H5 login states, channel
-- preferences, the app-message delivery log and directory sync runs.

-- One app per tenant and platform. The secret is sealed with the tenant's data key
-- (rapport.crypto, associated data "rapport-im|tenant|platform|secret") and never returned.
CREATE TABLE rapport.im_apps (
    tenant_id     uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    platform      text        NOT NULL CHECK (platform IN ('wecom', 'dingtalk')),
    corp_id       text        NOT NULL,
    app_key       text        NOT NULL DEFAULT '',  -- DingTalk AppKey (ClientId); WeCom: ''
    agent_id      bigint      NOT NULL CHECK (agent_id > 0),
    secret        bytea       NOT NULL,
    redirect_uris text[]      NOT NULL DEFAULT '{}',  -- H5 pages the login may return to
    link_by       text[]      NOT NULL DEFAULT '{employee_number,mobile}',
    message_kind  text        NOT NULL DEFAULT 'card'
                  CHECK (message_kind IN ('text', 'markdown', 'card', 'template_card')),
    link_base     text        NOT NULL DEFAULT '',  -- makes relative notification links absolute
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    text,
    PRIMARY KEY (tenant_id, platform)
);

-- Access tokens, shared by every worker and app instance (sealed like the secret). ``app`` is
-- the corp id + agent id (WeCom) or the AppKey (DingTalk): a changed app gets a new row.
CREATE TABLE rapport.im_tokens (
    tenant_id  uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    platform   text        NOT NULL,
    app        text        NOT NULL,
    token      bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, platform, app)
);

-- Platform accounts of a tenant, from directory sync or first login; user_id is the Rapport
-- user they are linked to (NULL: not linked yet). One platform account per user and platform.
CREATE TABLE rapport.im_identities (
    tenant_id        uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    platform         text        NOT NULL,
    platform_user_id text        NOT NULL,
    user_id          uuid        REFERENCES rapport.users ON DELETE SET NULL,
    display_name     text        NOT NULL DEFAULT '',
    linked_by        text        CHECK (linked_by IN ('employee_number', 'mobile', 'admin')),
    linked_at        timestamptz,
    seen_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, platform, platform_user_id)
);
CREATE UNIQUE INDEX im_identities_user ON rapport.im_identities (tenant_id, platform, user_id)
    WHERE user_id IS NOT NULL;

-- OAuth ``state`` values of H5 logins: one use, short-lived, bound to the browser that asked
-- (browser_hash = SHA-256 of an HttpOnly cookie set with the state).
CREATE TABLE rapport.im_login_states (
    state_hash   bytea       PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    platform     text        NOT NULL,
    redirect_uri text        NOT NULL,
    browser_hash bytea       NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX im_login_states_expiry ON rapport.im_login_states (expires_at);

-- Channels beyond in-app (always kept) an employee receives notifications on; the tenant's
-- default applies to employees without a row. No default row: every requested channel.
CREATE TABLE rapport.channel_defaults (
    tenant_id  uuid        PRIMARY KEY REFERENCES rapport.tenants ON DELETE CASCADE,
    channels   text[]      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rapport.channel_preferences (
    tenant_id  uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    user_id    text        NOT NULL,
    channels   text[]      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- Every app-message attempt (outside the job's transaction, so failures stay visible). It
-- names users and platform error codes, never a message body nor a platform's raw answer.
CREATE TABLE rapport.im_deliveries (
    id             bigserial   PRIMARY KEY,
    tenant_id      uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    outbox_id      uuid        NOT NULL,
    platform       text        NOT NULL,
    attempt        integer     NOT NULL,
    recipients     integer     NOT NULL,
    sent           integer     NOT NULL,
    unmapped_users text[]      NOT NULL DEFAULT '{}',  -- Rapport users with no platform account
    rejected       text[]      NOT NULL DEFAULT '{}',  -- platform accounts the platform refused
    errcode        integer,
    error          text,
    ok             boolean     NOT NULL,
    duration_ms    integer     NOT NULL,
    attempted_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX im_deliveries_tenant ON rapport.im_deliveries (tenant_id, attempted_at DESC);

-- Directory sync runs and what each linked and could not.
CREATE TABLE rapport.im_sync_runs (
    id          bigserial   PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    platform    text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    ok          boolean,
    report      jsonb,
    error       text
);
CREATE INDEX im_sync_runs_tenant ON rapport.im_sync_runs (tenant_id, platform, started_at DESC);
