-- Workflows: transition history, approval requests and tasks, delegations, SLA/timer deadlines.
-- All of it lives in the catalog with a tenant_id: tenant admins read it through the tenant's
-- GraphQL API (history, inbox) but never edit it — history and approval decisions are evidence.

-- Append-only: a trigger refuses UPDATE, and DELETE unless it cascades from dropping the tenant.
CREATE TABLE rapport.workflow_history (
    id          bigserial   PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    entity      text        NOT NULL,
    record_id   uuid        NOT NULL,
    workflow    text        NOT NULL,
    transition  text,                     -- NULL: the record was created in the initial state
    from_state  text,
    to_state    text        NOT NULL,
    actor       text,
    comment     text,
    data        jsonb       NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_history_record ON rapport.workflow_history (tenant_id, record_id, id);

CREATE FUNCTION rapport.workflow_history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Depth 1 is a statement on this table; a cascade from rapport.tenants runs deeper.
    IF TG_OP = 'UPDATE' OR pg_trigger_depth() <= 1 THEN
        RAISE EXCEPTION 'rapport.% is append-only', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER workflow_history_append_only BEFORE UPDATE OR DELETE ON rapport.workflow_history
    FOR EACH ROW EXECUTE FUNCTION rapport.workflow_history_append_only();

-- One request per transition that needs approvals; status pending -> approved | rejected | cancelled.
CREATE TABLE rapport.approval_requests (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    entity       text        NOT NULL,
    record_id    uuid        NOT NULL,
    workflow     text        NOT NULL,
    transition   text        NOT NULL,
    from_state   text        NOT NULL,
    mode         text        NOT NULL,
    quorum       integer     NOT NULL,
    allow_self   boolean     NOT NULL,
    requested_by text        NOT NULL,
    comment      text,
    status       text        NOT NULL DEFAULT 'pending',
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz
);
-- At most one open request per record: a second submit is refused, not queued.
CREATE UNIQUE INDEX approval_requests_open ON rapport.approval_requests (tenant_id, record_id)
    WHERE status = 'pending';

-- One task per approver slot; status waiting (sequential, not yet its turn) -> pending ->
-- approved | rejected | skipped (the request ended before this slot decided).
CREATE TABLE rapport.approval_tasks (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id     uuid        NOT NULL REFERENCES rapport.approval_requests ON DELETE CASCADE,
    tenant_id      uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    position       integer     NOT NULL,
    approver       text        NOT NULL,  -- "role:<name>" or a user id
    status         text        NOT NULL,
    decided_by     text,
    on_behalf_of   text,                  -- the delegator when a delegate decided
    comment        text,
    decided_at     timestamptz
);
CREATE INDEX approval_tasks_open ON rapport.approval_tasks (tenant_id, approver)
    WHERE status = 'pending';

CREATE TABLE rapport.approval_delegations (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    delegator  text        NOT NULL,
    delegate   text        NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    CHECK (delegator <> delegate)
);
CREATE INDEX approval_delegations_delegate ON rapport.approval_delegations (tenant_id, delegate);

-- SLA reminders and breaches, and date timers. kind: remind | breach | timer. A row fires once
-- (fired_at set in the transaction that applies its effects) or is cancelled when the record
-- leaves the state.
CREATE TABLE rapport.workflow_deadlines (
    id           bigserial   PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    entity       text        NOT NULL,
    record_id    uuid        NOT NULL,
    workflow     text        NOT NULL,
    state        text,                    -- the state the deadline belongs to (NULL: any)
    kind         text        NOT NULL,
    name         text        NOT NULL,
    due_at       timestamptz NOT NULL,
    effects      jsonb       NOT NULL,
    fired_at     timestamptz,
    cancelled_at timestamptz,
    error        text                     -- why its effects failed (it still counts as fired)
);
-- The sweep reads only open rows in due order.
CREATE INDEX workflow_deadlines_due ON rapport.workflow_deadlines (due_at)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX workflow_deadlines_record ON rapport.workflow_deadlines (tenant_id, record_id)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;
