-- Separation of duties and the second factor (issue 10): sealed TOTP secrets with replay
-- protection, per-subject session revocation, login throttling needs no table, and a per-tenant
-- audit sequence.

-- TOTP: the secret sealed with the tenant's data key (rapport.crypto; associated data names the
-- user), a pending secret while a new enrolment awaits its first code, and the last time step
-- used (a code is accepted once per user and step). Rows written before this migration keep
-- their plaintext totp_secret until the start-up step rapport.auth.totp_secrets.seal_plaintext
-- seals it and clears the column (it needs the master key, which SQL never sees).
ALTER TABLE rapport.users
    ADD COLUMN totp_sealed    bytea,
    ADD COLUMN totp_pending   bytea,
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

-- Every access token of a subject (user id, or apikey:<id>) issued at or before revoked_before
-- (epoch seconds, the issuing instance's clock) is refused: role change, password reset,
-- disabling, TOTP reset, key revocation. Each instance reloads this table every
-- RAPPORT_REVOCATION_CACHE_SECONDS.
CREATE TABLE rapport.subject_revocations (
    subject        text             PRIMARY KEY,
    tenant_id      uuid             REFERENCES rapport.tenants ON DELETE CASCADE,
    revoked_before double precision NOT NULL,
    updated_at     timestamptz      NOT NULL DEFAULT now()
);

-- Per-tenant audit numbering: tenant_seq counts one tenant's entries 1, 2, 3… without gaps from
-- other tenants' activity; its head row per tenant is locked by each append of that tenant.
CREATE TABLE rapport.audit_tenant_heads (
    tenant_id uuid   PRIMARY KEY,
    seq       bigint NOT NULL
);
ALTER TABLE rapport.audit_entries ADD COLUMN tenant_seq bigint;
-- Numbering existing entries is the one change ever made to logged rows; tenant_seq is not part
-- of the hashed entry, so the chain and the checkpoints stay valid.
ALTER TABLE rapport.audit_entries DISABLE TRIGGER audit_entries_append_only;
UPDATE rapport.audit_entries e SET tenant_seq = n.rn
FROM (SELECT seq, row_number() OVER (PARTITION BY tenant_id ORDER BY seq) AS rn
      FROM rapport.audit_entries WHERE tenant_id IS NOT NULL) n
WHERE e.seq = n.seq;
ALTER TABLE rapport.audit_entries ENABLE TRIGGER audit_entries_append_only;
INSERT INTO rapport.audit_tenant_heads (tenant_id, seq)
SELECT tenant_id, max(tenant_seq) FROM rapport.audit_entries
WHERE tenant_id IS NOT NULL GROUP BY tenant_id;
CREATE UNIQUE INDEX audit_entries_tenant_seq ON rapport.audit_entries (tenant_id, tenant_seq);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rapport_app') THEN
        GRANT SELECT, INSERT, UPDATE ON rapport.audit_tenant_heads TO rapport_app;
        GRANT SELECT, INSERT, UPDATE ON rapport.subject_revocations TO rapport_app;
    END IF;
END
$$;
