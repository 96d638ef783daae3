-- The admin's tools (decision 0021): payments, the audit log's filters and
-- removing the demo clinic.

-- Accounts the demo loader made: `medimeet demo remove` (and the dashboard's
-- button) removes exactly these and everything that hangs on them.
ALTER TABLE accounts ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX accounts_demo ON accounts (id) WHERE demo;

-- What the visit's payment was, in cents, recorded when an admin marks it
-- paid (the doctor's fee then: a later change of fee does not rewrite
-- revenue). NULL while nothing was paid.
ALTER TABLE appointments ADD COLUMN paid_cents BIGINT CHECK (paid_cents IS NULL OR paid_cents >= 0);

-- The audit page filters by who acted, what they did and when.
CREATE INDEX audit_log_actor ON audit_log (actor_account_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_at ON audit_log (at, id);
