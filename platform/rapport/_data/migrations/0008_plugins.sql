-- Plug-ins: which tenant has which plug-in installed, and the operator's subscription plans.
-- Catalog tables (tenant admins cannot edit them); rapport.plugins.lifecycle and
-- rapport.plugins.subscriptions are their only writers.

-- One row per plug-in installed in a tenant. metadata_version: the tenant's version that the
-- last install or upgrade published.
CREATE TABLE rapport.plugin_installs (
    tenant_id        uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    plugin           text        NOT NULL,
    version          text        NOT NULL,
    metadata_version integer     NOT NULL,
    installed_at     timestamptz NOT NULL DEFAULT now(),
    installed_by     text,
    upgraded_at      timestamptz,
    PRIMARY KEY (tenant_id, plugin)
);

-- A plan names the plug-ins a subscribed tenant may install.
CREATE TABLE rapport.plugin_plans (
    name        text        PRIMARY KEY,
    description text        NOT NULL DEFAULT '',
    plugins     text[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- At most one plan per tenant; a tenant without a plan may install no plug-in.
CREATE TABLE rapport.plugin_plan_assignments (
    tenant_id   uuid        PRIMARY KEY REFERENCES rapport.tenants ON DELETE CASCADE,
    plan        text        NOT NULL REFERENCES rapport.plugin_plans ON DELETE RESTRICT,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    assigned_by text
);
