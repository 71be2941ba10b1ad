-- The tamper-evident audit log (rapport.audit) and the tenants' wrapped data keys (rapport.crypto).

-- One row per audited event, in one catalog-wide sequence. leaf_hash = SHA-256(0x00 || canonical
-- JSON of the entry, prev_hash included): the RFC 6962 leaf of the Merkle tree and the link of
-- the hash chain at once. Nothing is ever updated or deleted here (triggers below).
CREATE TABLE rapport.audit_entries (
    seq        bigint      PRIMARY KEY,
    at         timestamptz NOT NULL,
    tenant_id  uuid,
    actor      text,
    action     text        NOT NULL,
    entity     text,
    record_id  text,
    data       jsonb       NOT NULL,
    prev_hash  bytea       NOT NULL,
    leaf_hash  bytea       NOT NULL
);
CREATE INDEX audit_entries_tenant ON rapport.audit_entries (tenant_id, seq);
CREATE INDEX audit_entries_record ON rapport.audit_entries (tenant_id, entity, record_id);

-- The head of the log: one row whose lock serializes appends (sequence order = commit order,
-- no gaps), holding the last leaf hash and the Merkle frontier (roots of the perfect subtrees
-- of the current tree, largest first) so a checkpoint costs O(log n), not a scan.
CREATE TABLE rapport.audit_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint  NOT NULL,
    leaf_hash bytea   NOT NULL,
    frontier  bytea[] NOT NULL
);
INSERT INTO rapport.audit_head (singleton, seq, leaf_hash, frontier)
VALUES (true, 0, decode(repeat('00', 32), 'hex'), '{}');

-- Signed tree heads: Ed25519 over the canonical JSON {"root","size","time"}.
CREATE TABLE rapport.audit_checkpoints (
    tree_size  bigint      PRIMARY KEY,
    root_hash  bytea       NOT NULL,
    at         timestamptz NOT NULL,
    key_id     text        NOT NULL,
    signature  bytea       NOT NULL
);

CREATE FUNCTION rapport.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rapport.% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit evidence is never changed or removed; append a new entry instead.';
END
$$;

CREATE TRIGGER audit_entries_append_only
    BEFORE UPDATE OR DELETE ON rapport.audit_entries
    FOR EACH ROW EXECUTE FUNCTION rapport.audit_refuse_change();
CREATE TRIGGER audit_entries_no_truncate
    BEFORE TRUNCATE ON rapport.audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rapport.audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON rapport.audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION rapport.audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON rapport.audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION rapport.audit_refuse_change();

-- Privileges: nobody but the owner may change evidence. A deployment that runs the app as a
-- separate role named rapport_app (the recommended production setup) gets INSERT and SELECT only;
-- the trigger above still stops the owner unless a superuser disables it — which
-- `rapport audit verify` then detects through the hash chain and the signed checkpoints.
REVOKE UPDATE, DELETE, TRUNCATE ON rapport.audit_entries, rapport.audit_checkpoints FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rapport_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE
            ON rapport.audit_entries, rapport.audit_checkpoints FROM rapport_app;
        GRANT SELECT, INSERT ON rapport.audit_entries, rapport.audit_checkpoints TO rapport_app;
        GRANT SELECT, UPDATE ON rapport.audit_head TO rapport_app;
    END IF;
END
$$;

-- Per-tenant data keys (envelope encryption): each wrapped by a master key, identified by the
-- master key's fingerprint. key_id is the version written into every ciphertext; the tenant's
-- highest 'active' key encrypts, every non-retired key still decrypts (rotation without
-- downtime).
CREATE TABLE rapport.tenant_keys (
    tenant_id     uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    key_id        integer     NOT NULL CHECK (key_id > 0),
    cipher        text        NOT NULL,
    master_key_id text        NOT NULL,
    wrapped       bytea       NOT NULL,
    state         text        NOT NULL DEFAULT 'active'
                              CHECK (state IN ('active', 'retiring', 'retired')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key_id)
);
