-- The catalog: tenants and their metadata versions and drafts.
-- rapport.db.catalog.migrate creates the schema and rapport.schema_migrations before it runs
-- this file (it must record the file somewhere); IF NOT EXISTS keeps the file runnable alone.
CREATE SCHEMA IF NOT EXISTS rapport;

-- gen_random_uuid() is built into PostgreSQL >= 13; only older servers need pgcrypto.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'gen_random_uuid') THEN
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
    END IF;
END
$$;

CREATE TABLE rapport.tenants (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug             text        NOT NULL UNIQUE,
    name             text        NOT NULL,
    schema_name      text        NOT NULL UNIQUE,
    metadata_version integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per published version. documents: [{"source": ..., "kind": ..., "body": ...}], the
-- kernel's (source "kernel") included, so a version compiles to exactly the schema it built;
-- json, not jsonb: a document's key order is its field order (forms, GraphQL, exports).
-- plan: Plan.as_dict() of the steps that produced this version.
CREATE TABLE rapport.metadata_versions (
    tenant_id    uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    version      integer     NOT NULL,
    documents    json        NOT NULL,
    plan         jsonb       NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text,
    note         text,
    PRIMARY KEY (tenant_id, version)
);

-- At most one draft per tenant: documents [{"source": ..., "body": ...}] (tenant documents only).
CREATE TABLE rapport.metadata_drafts (
    tenant_id  uuid        PRIMARY KEY REFERENCES rapport.tenants ON DELETE CASCADE,
    documents  json        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text
);
