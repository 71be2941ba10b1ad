-- One audit log per tenant (issue 12), and one for catalog-level events without a tenant (the
-- operator log, tenant_id NULL): each has its own hash chain, Merkle tree, signed checkpoints
-- and head row, so two tenants' audited writes never wait on each other and a tenant's numbers
-- say nothing about another tenant's activity. An entry's hash covers its tenant and its number
-- in its log (tenant_seq).
--
-- Existing entries keep their rows and their order; their hashes and checkpoints must be
-- recomputed per log, which SQL cannot do (the canonical JSON is Python's and checkpoints are
-- signed with a key the database never sees). This file marks every existing log `legacy`; the
-- start-up step rapport.audit.rechain.rechain_legacy_logs re-chains and re-signs them (run by
-- the app at start-up and by `rapport audit`). The catalog-wide chain's hashes and signed
-- checkpoints are kept, unchanged, in audit_v1_hashes / audit_v1_checkpoints: copies anchored
-- elsewhere still match them.

CREATE TABLE rapport.audit_v1_hashes AS
SELECT seq, prev_hash, leaf_hash FROM rapport.audit_entries;
ALTER TABLE rapport.audit_v1_hashes ADD PRIMARY KEY (seq);
ALTER TABLE rapport.audit_checkpoints RENAME TO audit_v1_checkpoints;
CREATE TRIGGER audit_v1_hashes_append_only
    BEFORE UPDATE OR DELETE ON rapport.audit_v1_hashes
    FOR EACH ROW EXECUTE FUNCTION rapport.audit_refuse_change();
CREATE TRIGGER audit_v1_hashes_no_truncate
    BEFORE TRUNCATE ON rapport.audit_v1_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION rapport.audit_refuse_change();

-- Signed tree heads, per log: Ed25519 over {"log","root","size","tenant","time"}.
CREATE TABLE rapport.audit_checkpoints (
    tenant_id  uuid,
    tree_size  bigint      NOT NULL,
    root_hash  bytea       NOT NULL,
    at         timestamptz NOT NULL,
    key_id     text        NOT NULL,
    signature  bytea       NOT NULL
);
CREATE UNIQUE INDEX audit_checkpoints_log
    ON rapport.audit_checkpoints (tenant_id, tree_size) NULLS NOT DISTINCT;
CREATE TRIGGER audit_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON rapport.audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION rapport.audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON rapport.audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION rapport.audit_refuse_change();

-- seq is now only the row's storage id (insertion order, gaps possible, not hashed): a shared
-- counter would serialize the tenants again. tenant_seq is the entry's number in its log.
CREATE SEQUENCE rapport.audit_entries_seq OWNED BY rapport.audit_entries.seq;
SELECT setval('rapport.audit_entries_seq', coalesce(max(seq), 0) + 1, false)
FROM rapport.audit_entries;
ALTER TABLE rapport.audit_entries
    ALTER COLUMN seq SET DEFAULT nextval('rapport.audit_entries_seq');

-- The operator log's entries are numbered like a tenant's (0010 left them without a number).
ALTER TABLE rapport.audit_entries DISABLE TRIGGER audit_entries_append_only;
UPDATE rapport.audit_entries e SET tenant_seq = n.rn
FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn
      FROM rapport.audit_entries WHERE tenant_id IS NULL) n
WHERE e.seq = n.seq;
ALTER TABLE rapport.audit_entries ENABLE TRIGGER audit_entries_append_only;
ALTER TABLE rapport.audit_entries ALTER COLUMN tenant_seq SET NOT NULL;
DROP INDEX rapport.audit_entries_tenant_seq;
CREATE UNIQUE INDEX audit_entries_log
    ON rapport.audit_entries (tenant_id, tenant_seq) NULLS NOT DISTINCT;
DROP INDEX rapport.audit_entries_tenant;

-- The head of each log: its last number and leaf hash and its Merkle frontier; appends lock
-- only their own log's row (tenant_id NULL: the operator log).
ALTER TABLE rapport.audit_tenant_heads
    DROP CONSTRAINT audit_tenant_heads_pkey,
    ALTER COLUMN tenant_id DROP NOT NULL,
    ADD COLUMN leaf_hash bytea   NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
    ADD COLUMN frontier  bytea[] NOT NULL DEFAULT '{}',
    ADD COLUMN legacy    boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX audit_tenant_heads_log
    ON rapport.audit_tenant_heads (tenant_id) NULLS NOT DISTINCT;
INSERT INTO rapport.audit_tenant_heads (tenant_id, seq)
SELECT NULL, max(tenant_seq) FROM rapport.audit_entries WHERE tenant_id IS NULL
HAVING count(*) > 0;
UPDATE rapport.audit_tenant_heads SET legacy = true;
DROP TABLE rapport.audit_head;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rapport_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE
            ON rapport.audit_checkpoints, rapport.audit_v1_hashes FROM rapport_app;
        GRANT SELECT, INSERT ON rapport.audit_checkpoints TO rapport_app;
        GRANT SELECT ON rapport.audit_v1_hashes, rapport.audit_v1_checkpoints TO rapport_app;
        GRANT USAGE ON SEQUENCE rapport.audit_entries_seq TO rapport_app;
    END IF;
END
$$;
