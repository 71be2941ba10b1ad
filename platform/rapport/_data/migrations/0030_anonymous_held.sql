-- Anonymous records held back before they are written (rapport.plugins.held). A plug-in whose
-- anonymous record is created in the same transaction as a named one (a survey response and
-- the respondent's participation) would let the two be joined by that transaction: rows written
-- together share xmin, neighbouring transaction ids and times. So the anonymous record waits
-- here and is written later, with the others of its batch, in random order, by the cron job
-- anonymity.release. No serial, no time: a random id, the batch and when it must go out.
CREATE TABLE rapport.anonymous_held (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid        NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    entity     text        NOT NULL,
    batch      text        NOT NULL,
    minimum    integer     NOT NULL CHECK (minimum >= 1),
    release_by timestamptz NOT NULL,
    input      jsonb       NOT NULL
);
CREATE INDEX anonymous_held_batch ON rapport.anonymous_held (tenant_id, entity, batch);
