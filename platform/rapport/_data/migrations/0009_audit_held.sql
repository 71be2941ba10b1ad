-- Audit entries of anonymous writes (via = 'anonymous') wait here until the day is over
-- (rapport.audit.held). They then join the log in random order, all at once, each with the
-- day of the write as its time and no actor: neither the time nor the sequence number of an
-- anonymous entry can be joined with the submitter's other events (logins, page views).
-- No serial id and no exact time: a random id and the day are all that is kept.
CREATE TABLE rapport.audit_held (
    id        uuid   PRIMARY KEY DEFAULT gen_random_uuid(),
    day       date   NOT NULL,
    tenant_id uuid   NOT NULL REFERENCES rapport.tenants ON DELETE CASCADE,
    action    text   NOT NULL,
    entity    text,
    record_id text,
    data      jsonb  NOT NULL
);
CREATE INDEX audit_held_day ON rapport.audit_held (day);
