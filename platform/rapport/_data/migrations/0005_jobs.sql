-- Background jobs (DESIGN.md D9): the transactional outbox, handler idempotency, final
-- failures, and outbound webhooks with their delivery log.

-- One row per side effect, written in the business transaction (rapport.jobs.outbox.enqueue).
-- The dispatcher turns due rows into arq jobs whose id is the row id (suffixed "#n" after the
-- n-th operator retry) and sets dispatched_at only after Redis accepted the job.
CREATE TABLE rapport.outbox (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    topic         text        NOT NULL,
    payload       jsonb       NOT NULL,
    dedupe_key    text,
    not_before    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    generation    integer     NOT NULL DEFAULT 0  -- operator retries so far
);
-- A dedupe key makes a second enqueue of the same effect a no-op (per tenant and topic).
CREATE UNIQUE INDEX outbox_dedupe ON rapport.outbox (tenant_id, topic, dedupe_key)
    WHERE dedupe_key IS NOT NULL;
-- The dispatcher's scan: undispatched rows by due time (NULL not_before = due now).
CREATE INDEX outbox_pending ON rapport.outbox ((coalesce(not_before, created_at)))
    WHERE dispatched_at IS NULL;
CREATE INDEX outbox_dispatched ON rapport.outbox (dispatched_at) WHERE dispatched_at IS NOT NULL;

-- Idempotency: a handler's effects and this row commit together, so a job that runs again
-- (worker killed, Redis restarted, re-dispatch) finds the row and does nothing.
CREATE TABLE rapport.processed (
    outbox_id    uuid        PRIMARY KEY REFERENCES rapport.outbox ON DELETE CASCADE,
    processed_at timestamptz NOT NULL DEFAULT now(),
    attempts     integer     NOT NULL
);

-- Jobs that failed for good (every try used): what operators see and retry.
CREATE TABLE rapport.failed_jobs (
    outbox_id  uuid        PRIMARY KEY REFERENCES rapport.outbox ON DELETE CASCADE,
    tenant_id  uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    topic      text        NOT NULL,
    attempts   integer     NOT NULL,
    error      text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);

-- Outbound webhooks of a tenant: which events go where, in which message format.
CREATE TABLE rapport.webhook_subscriptions (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    url        text        NOT NULL,
    format     text        NOT NULL DEFAULT 'rapport'
               CHECK (format IN ('rapport', 'wecom', 'dingtalk')),
    secret     text        NOT NULL,
    events     text[]      NOT NULL,  -- topics or patterns: entity.create, entity.*, workflow.*
    entities   text[]      NOT NULL DEFAULT '{}',  -- entity ids; empty = every entity
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text
);
CREATE INDEX webhook_subscriptions_tenant ON rapport.webhook_subscriptions (tenant_id)
    WHERE active;

-- Every delivery attempt, successful or not (written outside the job's transaction, so failed
-- attempts stay visible).
CREATE TABLE rapport.webhook_deliveries (
    id              bigserial   PRIMARY KEY,
    subscription_id uuid        NOT NULL REFERENCES rapport.webhook_subscriptions ON DELETE CASCADE,
    outbox_id       uuid        NOT NULL,
    topic           text        NOT NULL,
    attempt         integer     NOT NULL,
    status_code     integer,
    error           text,
    ok              boolean     NOT NULL,
    duration_ms     integer     NOT NULL,
    attempted_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_subscription
    ON rapport.webhook_deliveries (subscription_id, attempted_at DESC);
